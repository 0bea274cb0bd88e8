/**
 * The speed-ups must not change results: the compiled schema behind validateIngestionEvent against
 * the interpreted schema, and each hand-written fast path against its reference zod definition,
 * on a corpus of valid and invalid inputs (same success, same JSON output, same error message).
 */
import { outcomeOf, type Outcome } from "../../support/zod-outcome.js";
import { describe, expect, it } from "vitest";
import { z } from "zod";
import { legacyModelParametersReference, modelParametersReference } from "../../../src/processors/validate/bodies.js";
import { jsonSchema, jsonSchemaReference } from "../../../src/processors/validate/primitives.js";
import { createIngestionEventSchema, validateIngestionEvent } from "../../../src/processors/validate/schema.js";
import {
  costDetails,
  costDetailsReference,
  usageDetails,
  usageDetailsReference,
} from "../../../src/processors/validate/usage.js";

const T = "2024-01-01T00:00:00.000Z";
const DELETE = Symbol("delete");

const SAMPLE_VALUES: unknown[] = [
  DELETE,
  null,
  undefined,
  "",
  "x",
  "Langfuse-Prod",
  "a\rb",
  "x".repeat(801),
  "😀".repeat(401),
  "2024-01-01T00:00Z",
  "2024-01-01T00:00:00",
  T,
  0,
  1,
  2,
  -1,
  1.5,
  Number.NaN,
  true,
  false,
  {},
  [],
  ["a"],
  [1, null],
  { a: 1 },
  { a: "b" },
  { a: null },
  { a: undefined },
  { a: ["x"] },
  { a: { b: "c" } },
  { input: 1, output: "2", bad: -1 },
  { promptTokens: 1, completionTokens: 2 },
  { input: 1, unit: "TOKENS", totalCost: 0.5 },
  { prompt_tokens: 1, completion_tokens: 2, total_tokens: 3, prompt_tokens_details: { cached_tokens: 2 } },
  { input_tokens: 5, output_tokens: 2, total_tokens: 7, output_tokens_details: { reasoning_tokens: 9 } },
  { prompt_tokens: 1, completion_tokens: 2 },
  "NUMERIC",
  "BOOLEAN",
  "TEXT",
  "CORRECTION",
  "CATEGORICAL",
  "GENERATION",
  "SPAN",
  "DEBUG",
  "EVAL",
];

const BASE_BODIES: Record<string, Record<string, unknown>> = {
  "trace-create": { id: "t1", name: "n", environment: "prod", metadata: { a: 1 }, tags: ["x"] },
  "score-create": { id: "s1", name: "q", value: 1, traceId: "t1" },
  "event-create": { id: "o1", traceId: "t1", name: "e" },
  "span-create": { id: "o1", traceId: "t1", startTime: T, endTime: T },
  "span-update": { id: "o1", output: { a: 1 } },
  "generation-create": {
    id: "o1",
    traceId: "t1",
    model: "m",
    modelParameters: { temperature: 0 },
    usageDetails: { input: 1, output: 2 },
    costDetails: { total: 0.1 },
    promptName: "p",
    promptVersion: 1,
  },
  "generation-update": { id: "o1", usage: { input: 1, output: 2 } },
  "agent-create": { id: "o1" },
  "tool-create": { id: "o1", modelParameters: {}, usageDetails: { input: 4 } },
  "chain-create": { id: "o1" },
  "retriever-create": { id: "o1" },
  "evaluator-create": { id: "o1" },
  "embedding-create": { id: "o1" },
  "guardrail-create": { id: "o1" },
  "sdk-log": { log: { msg: "x" } },
  "dataset-run-item-create": { traceId: "t", datasetId: "d", runId: "r", datasetItemId: "i" },
  "observation-create": { type: "GENERATION", id: "o1", usage: { promptTokens: 1 } },
  "observation-update": { type: "SPAN", id: "o1" },
};

const BODY_KEYS = [
  ...new Set([
    "id",
    "traceId",
    "name",
    "timestamp",
    "externalId",
    "input",
    "output",
    "sessionId",
    "userId",
    "environment",
    "metadata",
    "release",
    "version",
    "public",
    "tags",
    "startTime",
    "endTime",
    "completionStartTime",
    "level",
    "statusMessage",
    "parentObservationId",
    "model",
    "modelParameters",
    "usage",
    "usageDetails",
    "costDetails",
    "promptName",
    "promptVersion",
    "value",
    "dataType",
    "configId",
    "source",
    "comment",
    "observationId",
    "datasetRunId",
    "executionTraceId",
    "queueId",
    "type",
    "log",
    "datasetId",
    "runId",
    "datasetItemId",
    "createdAt",
    "datasetVersion",
    "error",
    "extra",
  ]),
];

function withValue(object: Record<string, unknown>, key: string, value: unknown): Record<string, unknown> {
  const copy = { ...object };
  if (value === DELETE) delete copy[key];
  else copy[key] = value;
  return copy;
}

function corpus(): unknown[] {
  const events: unknown[] = [];
  for (const [type, body] of Object.entries(BASE_BODIES)) {
    const envelope = { id: "e1", timestamp: T, type, body, metadata: { sdk: "x" } };
    events.push(envelope);
    for (const key of BODY_KEYS) {
      for (const value of SAMPLE_VALUES) events.push({ ...envelope, body: withValue(body, key, value) });
    }
    for (const key of ["id", "timestamp", "type", "body", "metadata", "extra"]) {
      for (const value of SAMPLE_VALUES) events.push(withValue(envelope, key, value));
    }
  }
  events.push(5, null, undefined, "x", [], {});
  return events;
}

describe("compiled schema = interpreted schema", () => {
  it("compiles both variants (no silent fallback to the interpreter)", () => {
    expect(() => z.compile(createIngestionEventSchema(false), { strict: true })).not.toThrow();
    expect(() => z.compile(createIngestionEventSchema(true), { strict: true })).not.toThrow();
  });

  for (const internal of [false, true]) {
    it(`gives identical results on the corpus (${internal ? "internal" : "public"})`, () => {
      const interpreted = createIngestionEventSchema(internal);
      const events = corpus();
      let valid = 0;
      for (const raw of events) {
        const fast = validateIngestionEvent(raw, { internal });
        const slow = outcomeOf(interpreted, raw);
        const fastOutcome: Outcome = fast.ok ? { ok: true, json: JSON.stringify(fast.event) } : { ok: false, error: fast.error };
        if (JSON.stringify(fastOutcome) !== JSON.stringify(slow)) {
          expect({ raw, fast: fastOutcome }).toEqual({ raw, fast: slow });
        }
        if (fast.ok) valid++;
      }
      // the corpus exercises both sides
      expect(valid).toBeGreaterThan(events.length / 3);
      expect(valid).toBeLessThan(events.length);
    });
  }
});

describe("fast paths = reference definitions", () => {
  const nested: unknown[] = [
    ...SAMPLE_VALUES.filter((v) => v !== DELETE),
    { a: { b: [1, { c: null }], d: "x" } },
    [[[]], {}, ""],
    { a: [undefined] },
    { a: [1, Number.POSITIVE_INFINITY] },
    Object.assign(Object.create(null) as object, { a: 1 }),
    JSON.parse('{"__proto__": {"x": 1}, "a": 1}') as unknown,
    JSON.parse('{"a": {"__proto__": 5, "b": 2}}') as unknown,
    new Date(0),
    new Map(),
    10n,
    () => 1,
    Symbol("s"),
    [1, , 2], // sparse
  ];

  const pairs: Array<[string, z.ZodType, z.ZodType]> = [
    ["jsonSchema", jsonSchema, jsonSchemaReference],
    ["usageDetails", usageDetails, usageDetailsReference],
    ["costDetails", costDetails, costDetailsReference],
  ];

  for (const [name, fast, reference] of pairs) {
    it(`${name}`, () => {
      for (const value of nested) {
        if ((name !== "jsonSchema" && value === null) || value === undefined) continue; // nullish wrappers
        expect([value, outcomeOf(fast, value)]).toEqual([value, outcomeOf(reference, value)]);
      }
    });
  }

  it("modelParameters (modern and legacy)", () => {
    const values = nested.filter((v) => v !== null && v !== undefined);
    for (const value of [...values, { a: 1, b: "x", c: true, d: null, e: ["s"], f: { g: "h" } }, { a: { b: 1 } }, { a: [1] }]) {
      for (const [type, reference, body] of [
        ["generation-create", modelParametersReference, { id: "g" }],
        ["observation-create", legacyModelParametersReference, { type: "SPAN" }],
      ] as const) {
        const result = validateIngestionEvent({ id: "e", timestamp: T, type, body: { ...body, modelParameters: value } });
        const expected = outcomeOf(reference, value);
        const actual: Outcome = result.ok
          ? { ok: true, json: JSON.stringify(result.event.body.modelParameters) }
          : { ok: false, error: result.error };
        expect(actual.ok).toBe(expected.ok);
        if (actual.ok && expected.ok) expect(actual.json).toBe(expected.json);
      }
    }
  });
});
