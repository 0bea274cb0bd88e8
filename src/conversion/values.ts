/**
 * Small value helpers shared by the conversion rules.
 *
 * Everything here works on untrusted data (attribute values, JSON parsed from attribute strings),
 * so nothing assumes a shape and nothing writes a key in a way that could touch a prototype.
 */
import { MAX_NESTING_DEPTH, nestsDeeperThan } from "../model/nesting.js";

// The nesting bound is shared with every path that reads user data.
export { MAX_NESTING_DEPTH, nestsDeeperThan };

/** A plain JSON-like object: not null, not an array, not a byte buffer. */
export function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value) && !(value instanceof Uint8Array);
}

/**
 * The spec's "meaningful": not null/undefined, not "", not an empty array, not an empty object.
 * Used by the type mappers and by the shallow-trace test.
 */
export function isMeaningful(value: unknown): boolean {
  if (value === undefined || value === null || value === "") return false;
  if (Array.isArray(value)) return value.length > 0;
  if (isPlainObject(value)) {
    for (const key in value) {
      if (Object.hasOwn(value, key)) return true;
    }
    return false;
  }
  return true;
}

/**
 * Writes an own, enumerable data property. Plain assignment would call the `__proto__` setter
 * and silently change the object's prototype instead of storing the user's key.
 */
export function setOwn(target: Record<string, unknown>, key: string, value: unknown): void {
  if (key === "__proto__") {
    Object.defineProperty(target, key, { value, writable: true, enumerable: true, configurable: true });
  } else {
    target[key] = value;
  }
}

/** Copies the own enumerable properties of `source` (if it is an object, arrays included) into `target`. */
export function assignOwn(target: Record<string, unknown>, source: unknown): void {
  if (typeof source !== "object" || source === null) return;
  for (const key of Object.keys(source)) {
    setOwn(target, key, (source as Record<string, unknown>)[key]);
  }
}

/** Converts a Map to a plain object; keys keep their insertion order. */
export function mapToObject(map: ReadonlyMap<string, unknown>): Record<string, unknown> {
  const result: Record<string, unknown> = {};
  for (const [key, value] of map) setOwn(result, key, value);
  return result;
}

export type ParseResult = { ok: true; value: unknown } | { ok: false };

const PARSE_FAILED: ParseResult = { ok: false };

/** JSON.parse without throwing; text nesting deeper than MAX_NESTING_DEPTH counts as unparsable. */
export function parseJson(text: string): ParseResult {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return PARSE_FAILED;
  }
  return nestsDeeperThan(value, MAX_NESTING_DEPTH) ? PARSE_FAILED : { ok: true, value };
}

/** The JSON-parsed value of a string when it parses, otherwise the value itself. */
export function parseIfJsonString(value: unknown): unknown {
  if (typeof value !== "string") return value;
  const parsed = parseJson(value);
  return parsed.ok ? parsed.value : value;
}

/**
 * JSON text of a value, for the places where the spec stores "its JSON text".
 * `JSON.stringify` returns undefined for undefined/functions; those become "undefined"-free strings
 * through `String()`, so the result is always a string.
 */
export function toJsonText(value: unknown): string {
  const text = JSON.stringify(value) as string | undefined;
  return text ?? String(value);
}

/** A string as is; anything else as its JSON text (userId, sessionId, model, tool name). */
export function stringOrJsonText(value: unknown): string {
  return typeof value === "string" ? value : toJsonText(value);
}

/** A finite number from a number or a numeric string, otherwise undefined. */
export function toFiniteNumber(value: unknown): number | undefined {
  if (typeof value === "number") return Number.isFinite(value) ? value : undefined;
  if (typeof value === "string" && value.trim() !== "") {
    const n = Number(value);
    return Number.isFinite(n) ? n : undefined;
  }
  return undefined;
}
