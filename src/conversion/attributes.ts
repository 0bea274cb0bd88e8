/**
 * Mapping spec §1: OTLP `AnyValue` → JS value, and attribute lists → one Map per owner.
 *
 * Every rule reads attributes by key, so each span's list is converted exactly once into a Map
 * (later duplicates win, as with an object built by assignment) instead of being scanned per rule.
 */
import { MAX_NESTING_DEPTH } from "./values.js";

export type AttributeMap = ReadonlyMap<string, unknown>;

export const EMPTY_ATTRIBUTES: AttributeMap = new Map();

export class AttributeConversionError extends Error {}

/**
 * The JS value of one AnyValue, trying the shapes in the order the spec gives. Anything that is
 * not one of the recognised scalar/array shapes (kvlist, bytes, `{}`, an unparsable int) is
 * stored as the JSON text of the whole AnyValue object; a kvlist is never flattened.
 */
export function convertAnyValue(value: unknown, depth = 0): unknown {
  if (typeof value !== "object" || value === null) return JSON.stringify(value) ?? String(value);
  const v = value as Record<string, unknown>;

  const stringValue = v.stringValue;
  if (typeof stringValue === "string") return stringValue;

  const doubleValue = v.doubleValue;
  if (typeof doubleValue === "number") return doubleValue;
  if (typeof doubleValue === "string") return coerceDoubleString(doubleValue);

  const boolValue = v.boolValue;
  if (typeof boolValue === "boolean") return boolValue;

  const arrayValue = v.arrayValue;
  if (typeof arrayValue === "object" && arrayValue !== null) {
    const values = (arrayValue as Record<string, unknown>).values;
    if (Array.isArray(values)) {
      // Real attribute values are flat or nearly so; the bound keeps a hostile payload from
      // exhausting the stack here or in the JSON/zod code that later walks the same values.
      if (depth >= MAX_NESTING_DEPTH) throw new AttributeConversionError("attribute value nested too deeply");
      const result = new Array<unknown>(values.length);
      for (let i = 0; i < values.length; i++) result[i] = convertAnyValue(values[i], depth + 1);
      return result;
    }
  }

  if (v.intValue !== undefined && v.intValue !== null) {
    const n = intValueToNumber(v.intValue);
    if (n !== undefined) return n;
  }

  return JSON.stringify(value);
}

/** "NaN", "Infinity" and other non-numeric text stay strings; numeric text becomes a number. */
function coerceDoubleString(text: string): unknown {
  if (text.trim() === "") return text;
  const n = Number(text);
  return Number.isFinite(n) ? n : text;
}

/** Decimal string, JS number or protobuf Long `{high, low}` → number (precision lost beyond 2^53). */
export function intValueToNumber(raw: unknown): number | undefined {
  if (typeof raw === "number") return Number.isFinite(raw) ? raw : undefined;
  if (typeof raw === "string") {
    if (raw.trim() === "") return undefined;
    const n = Number(raw);
    return Number.isFinite(n) ? n : undefined;
  }
  if (typeof raw === "bigint") return Number(raw);
  const long = longParts(raw);
  if (long === undefined) return undefined;
  const high = long.unsigned ? long.high >>> 0 : long.high | 0;
  return high * 4294967296 + (long.low >>> 0);
}

export function longParts(raw: unknown): { high: number; low: number; unsigned: boolean } | undefined {
  if (typeof raw !== "object" || raw === null) return undefined;
  const r = raw as Record<string, unknown>;
  if (typeof r.high !== "number" || typeof r.low !== "number") return undefined;
  return { high: r.high, low: r.low, unsigned: r.unsigned === true };
}

/**
 * Converts a KeyValue list. Entries without a string key or without a value carry nothing a rule
 * could read and are skipped. The caller has already checked that `list` is an array (or absent).
 */
export function convertAttributeList(list: unknown): Map<string, unknown> {
  const map = new Map<string, unknown>();
  if (!Array.isArray(list)) return map;
  for (const entry of list) {
    if (typeof entry !== "object" || entry === null) continue;
    const key = (entry as Record<string, unknown>).key;
    const value = (entry as Record<string, unknown>).value;
    if (typeof key !== "string" || value === undefined || value === null) continue;
    map.set(key, convertAnyValue(value));
  }
  return map;
}
