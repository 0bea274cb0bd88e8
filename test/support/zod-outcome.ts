import type { z } from "zod";

/** A schema's verdict on a value, comparable across schemas: the JSON output or the error text. */
export type Outcome = { ok: true; json: string } | { ok: false; error: string };

export function outcomeOf(schema: z.ZodType, value: unknown): Outcome {
  const result = schema.safeParse(value);
  return result.success ? { ok: true, json: JSON.stringify(result.data) ?? "undefined" } : { ok: false, error: result.error.message };
}
