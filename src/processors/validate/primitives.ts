/**
 * Shared building blocks of the Langfuse ingestion schema (contract §2.3): ids, timestamps, JSON
 * values and environment names. Written from the contract's description; the zod version here
 * (4.6.x) differs from the one Langfuse pins (4.3.6) in a few places, and where it does these
 * schemas reproduce the 4.3.6 behaviour: string lengths in UTF-16 units (`utf16String`), seconds
 * optional in ISO datetimes (`ISO_DATETIME_PATTERN`), and which absent keys are written out
 * (see `usage` and the score's `dataType`).
 */
import { z } from "zod";

// ---------------------------------------------------------------------------------------------
// Fast paths
// ---------------------------------------------------------------------------------------------

/** Returned by a fast path that cannot decide a value: the reference schema then parses it. */
export const DEFER: unique symbol = Symbol("defer-to-reference-schema");
export type Defer = typeof DEFER;

/**
 * A schema that behaves exactly like `reference` but first tries `fast`, a hand-written check for
 * the common, valid inputs. `fast` returns the parsed output (identical to what `reference` would
 * produce) or `DEFER` for anything it is not sure about; then `reference` runs (compiled by
 * `z.compile` when possible) and its output or its issues are used unchanged. So the fast path
 * never changes what is accepted or how errors read; the tests compare both sides.
 *
 * Like a bare `z.transform`, the result is optional on input and not optional on output: it runs
 * for an absent key too, and its output is kept whenever it is not `undefined`.
 */
export function fastPath<Out>(reference: z.ZodType, fast: (value: unknown) => Out | Defer): z.ZodType<Out> {
  // A compiled copy where zod can compile it (not for recursive schemas); same results either way.
  const fallback = z.compile(reference);
  return z.transform((value: unknown, ctx): Out => {
    const out = fast(value);
    if (out !== DEFER) return out;
    const result = fallback.safeParse(value);
    if (result.success) return result.data as Out;
    // Already finalised issues (message set): the enclosing parse only prefixes their path. They
    // carry no `continue: true`, so, like the reference's own issues, they stop later refinements.
    for (const issue of result.error.issues) ctx.issues.push(issue as unknown as (typeof ctx.issues)[number]);
    return z.NEVER;
  }) as unknown as z.ZodType<Out>;
}

/** A plain data object as JSON.parse makes it (prototype Object.prototype or null). */
export function isPlainRecord(value: unknown): value is Record<string, unknown> {
  if (typeof value !== "object" || value === null) return false;
  const proto: unknown = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

// ---------------------------------------------------------------------------------------------
// Ids, strings, enums
// ---------------------------------------------------------------------------------------------

/**
 * `z.string().min(min).max(max)` as zod 4.3.6 measured it: in UTF-16 code units (`.length`).
 * zod 4.6 counts code points instead, which would let e.g. 401 emoji (802 units) through an
 * 800-unit limit. The issues are the ones zod's own length checks raise (`continue: true`, so a
 * later refinement still runs).
 */
export function utf16String(limits: { min?: number; max?: number }): z.ZodString {
  const { min, max } = limits;
  return z.string().check((payload) => {
    const length = payload.value.length;
    if (min !== undefined && length < min) {
      payload.issues.push({
        origin: "string",
        code: "too_small",
        minimum: min,
        inclusive: true,
        input: payload.value,
        continue: true,
      });
    }
    if (max !== undefined && length > max) {
      payload.issues.push({
        origin: "string",
        code: "too_big",
        maximum: max,
        inclusive: true,
        input: payload.value,
        continue: true,
      });
    }
  });
}

export const ID_MAX_LENGTH = 800;
export const ID_CARRIAGE_RETURN_MESSAGE = "ID cannot contain carriage return characters";

/** 1..800 UTF-16 code units, no carriage return. */
export const idSchema = utf16String({ min: 1, max: ID_MAX_LENGTH }).refine((value) => !value.includes("\r"), {
  message: ID_CARRIAGE_RETURN_MESSAGE,
});

export const NonEmptyString = utf16String({ min: 1 });

export const ObservationLevel = z.enum(["DEBUG", "DEFAULT", "WARNING", "ERROR"]);

// ---------------------------------------------------------------------------------------------
// Timestamps
// ---------------------------------------------------------------------------------------------

const HH_MM = "(?:[01]\\d|2[0-3]):[0-5]\\d";

/**
 * `z.iso.datetime({offset:true})` as zod 4.3.6 (Langfuse's pin) defines it: seconds optional,
 * any number of fraction digits, `Z` or a `±HH:MM` offset, leap-year-aware date. zod 4.6 made the
 * seconds mandatory, so the pattern is set explicitly. The date part is zod's own (read at run
 * time) so the reported pattern looks exactly like zod's.
 */
export const ISO_DATETIME_PATTERN = new RegExp(
  `^${z.regexes.date.source.slice(1, -1)}T(?:${HH_MM}(?::[0-5]\\d(?:\\.\\d+)?)?(?:Z|([+-]${HH_MM})))$`,
);

export const isoDateTime = z.iso.datetime({
  offset: true,
  pattern: ISO_DATETIME_PATTERN,
} as z.core.$ZodISODateTimeParams);

export const stringDateTime = isoDateTime.nullish();

// ---------------------------------------------------------------------------------------------
// JSON values
// ---------------------------------------------------------------------------------------------

export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };

const jsonLiteral = z.union([z.string(), z.number(), z.boolean()]);

/** Reference definition, used for errors and unusual inputs: nested values may be null. */
const jsonNestedReference: z.ZodType<JsonValue> = z.lazy(() =>
  z.union([jsonLiteral, z.array(jsonNestedReference), z.record(z.string(), jsonNestedReference)]).nullable(),
);

/** Reference definition of `jsonSchema`: any JSON value except a null root. */
export const jsonSchemaReference = z.union([
  jsonLiteral,
  z.array(jsonNestedReference),
  z.record(z.string(), jsonNestedReference),
]);

const JSON_INVALID = 0;
const JSON_VALID = 1;
/** Valid, but an own `__proto__` key somewhere: the reference drops those keys, so let it copy. */
const JSON_NEEDS_COPY = 2;

function scanJson(value: unknown): number {
  switch (typeof value) {
    case "string":
    case "boolean":
      return JSON_VALID;
    case "number":
      return Number.isFinite(value) ? JSON_VALID : JSON_INVALID;
    case "object": {
      if (value === null) return JSON_VALID;
      let status = JSON_VALID;
      if (Array.isArray(value)) {
        for (let i = 0; i < value.length; i++) {
          const s = scanJson(value[i]);
          if (s === JSON_INVALID) return JSON_INVALID;
          if (s === JSON_NEEDS_COPY) status = JSON_NEEDS_COPY;
        }
        return status;
      }
      if (!isPlainRecord(value)) return JSON_INVALID;
      for (const key in value) {
        if (key === "__proto__") status = JSON_NEEDS_COPY;
        const s = scanJson(value[key]);
        if (s === JSON_INVALID) return JSON_INVALID;
        if (s === JSON_NEEDS_COPY) status = JSON_NEEDS_COPY;
      }
      return status;
    }
    default:
      return JSON_INVALID;
  }
}

/**
 * `jsonSchema`: the root may be an array, a record or a string/number/boolean but not null;
 * nested values may be null. Valid JSON is returned as is (the reference would return an equal
 * copy); anything else goes through the reference definition.
 */
export const jsonSchema = fastPath<JsonValue>(jsonSchemaReference, (value) =>
  value !== null && scanJson(value) === JSON_VALID ? (value as JsonValue) : DEFER,
);

// ---------------------------------------------------------------------------------------------
// Environment
// ---------------------------------------------------------------------------------------------

export const DEFAULT_ENVIRONMENT = "default";
const ENVIRONMENT_MAX_LENGTH = 40;
const ENVIRONMENT_PATTERN = /^[a-z0-9-_]+$/;
const LANGFUSE_PREFIX = /^(?:langfuse[-_]?)+/;

/**
 * Langfuse's environment rule. Public: lowercase, strip every leading `langfuse`, `langfuse-` or
 * `langfuse_`, truncate to 40, then anything empty or outside `[a-z0-9-_]` becomes "default".
 * Internal: no lowercasing and no prefix stripping. Non-strings become "default". Never fails.
 */
export function normaliseEnvironment(value: unknown, options?: { internal?: boolean }): string {
  if (typeof value !== "string") return DEFAULT_ENVIRONMENT;
  let env = value;
  if (options?.internal !== true) env = env.toLowerCase().replace(LANGFUSE_PREFIX, "");
  if (env.length > ENVIRONMENT_MAX_LENGTH) env = env.slice(0, ENVIRONMENT_MAX_LENGTH);
  return ENVIRONMENT_PATTERN.test(env) ? env : DEFAULT_ENVIRONMENT;
}

/** Always yields a string; a missing key yields "default" and is written out. */
export function environmentSchema(internal: boolean): z.ZodType<string> {
  const normalise = internal
    ? (value: unknown): string => normaliseEnvironment(value, { internal: true })
    : (value: unknown): string => normaliseEnvironment(value);
  return z.transform(normalise).default(DEFAULT_ENVIRONMENT) as unknown as z.ZodType<string>;
}
