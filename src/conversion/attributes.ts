/**
 * Mapping spec §1: OTLP `AnyValue` → JS value, and attribute lists → one Map per owner.
 *
 * Every rule reads attributes by key, so each span's list is converted exactly once into a Map
 * (later duplicates win, as with an object built by assignment) instead of being scanned per rule.
 */
import { MAX_NESTING_DEPTH, nestsDeeperThan } from "./values.js";

export type AttributeMap = ReadonlyMap<string, unknown>;

export const EMPTY_ATTRIBUTES: AttributeMap = new Map();

export class AttributeConversionError extends Error {}

/**
 * The JS value of one AnyValue, exactly as Langfuse's converter reads it (OTLP/JSON as sent, and
 * protobuf as `toObject` + JSON gives it): the first of `stringValue`, `doubleValue` (numeric text
 * becomes its number), `boolValue` that is present at all is the value, whatever its type; then a
 * list of `arrayValue.values`, converted one by one; then a readable `intValue`. Anything else
 * (a kvlist, bytes, `{}`, an empty `{"arrayValue":{}}`, an unreadable int) is stored as the JSON
 * text of the whole AnyValue object, so a kvlist is never flattened.
 *
 * Deliberately unlike Langfuse, nothing here throws on odd input that would make Langfuse's worker
 * fail the whole export: `values` that is not a list is kept as JSON text, and values nested past
 * MAX_NESTING_DEPTH refuse only their span.
 */
export function convertAnyValue(value: unknown, depth = 0): unknown {
  if (typeof value !== "object" || value === null) return JSON.stringify(value) ?? String(value);
  const v = value as Record<string, unknown>;

  if (v.stringValue !== undefined) return withinDepth(v.stringValue, depth);

  const doubleValue = v.doubleValue;
  if (doubleValue !== undefined) {
    // OTLP/JSON writes NaN and the infinities as strings; those stay strings.
    if (typeof doubleValue === "string") {
      const parsed = Number(doubleValue);
      return Number.isFinite(parsed) ? parsed : doubleValue;
    }
    return withinDepth(doubleValue, depth);
  }

  if (v.boolValue !== undefined) return withinDepth(v.boolValue, depth);

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

  if (v.intValue !== undefined) {
    const n = intValueToNumber(v.intValue);
    if (n !== undefined) return n;
  }

  return JSON.stringify(value);
}

/** A value sent where a scalar belongs (OTLP/JSON only) is kept as it is, unless it nests too deep to serialise. */
function withinDepth(value: unknown, depth: number): unknown {
  if (typeof value === "object" && value !== null && nestsDeeperThan(value, MAX_NESTING_DEPTH - depth)) {
    throw new AttributeConversionError("attribute value nested too deeply");
  }
  return value;
}

/**
 * An `intValue` as Langfuse reads it: a number as it is; text as `Number(text)` unless that is NaN
 * (so "" is 0); a protobuf Long object by its parts as Langfuse combines them (`low` alone when
 * `high` is 0). Undefined when unreadable.
 */
export function intValueToNumber(raw: unknown): number | undefined {
  if (typeof raw === "number") return raw;
  if (typeof raw === "string") {
    const n = Number(raw);
    return Number.isNaN(n) ? undefined : n;
  }
  if (typeof raw === "object" && raw !== null) {
    const { high, low } = raw as { high?: unknown; low?: unknown };
    if (high === 0) return low as number;
    if (high === -1 && low === -1) return -1;
    if (typeof high === "number") return high * 4294967296 + (low as number);
  }
  return undefined;
}

export function longParts(raw: unknown): { high: number; low: number; unsigned: boolean } | undefined {
  if (typeof raw !== "object" || raw === null) return undefined;
  const r = raw as Record<string, unknown>;
  if (typeof r.high !== "number" || typeof r.low !== "number") return undefined;
  return { high: r.high, low: r.low, unsigned: r.unsigned === true };
}

/**
 * Converts a KeyValue list. A key that is not a string is named as JavaScript names a property
 * (an absent key is "undefined"), as in Langfuse. Entries without a value are skipped (Langfuse's
 * worker would fail the whole export on them). The caller has already checked that `list` is an
 * array (or absent).
 */
export function convertAttributeList(list: unknown): Map<string, unknown> {
  const map = new Map<string, unknown>();
  if (!Array.isArray(list)) return map;
  for (const entry of list) {
    if (typeof entry !== "object" || entry === null) continue;
    const key = (entry as Record<string, unknown>).key;
    const value = (entry as Record<string, unknown>).value;
    if (value === undefined || value === null) continue;
    map.set(typeof key === "string" ? key : String(key), convertAnyValue(value));
  }
  return map;
}
