/**
 * score-create bodies (contract §2.4 ScoreBody, checklist §9 "Scores").
 */
import { describe, expect, it } from "vitest";
import { validateIngestionEvent } from "../../../src/processors/validate/schema.js";

const T = "2024-01-01T00:00:00.000Z";
const TARGET_MESSAGE =
  "Provide exactly one of the following: traceId (with optional observationId), sessionId or datasetRunId. ObservationId requires traceId.";
const BOOLEAN_MESSAGE = "Value must be a number equal to either 0 or 1 for data type BOOLEAN";

function score(body: Record<string, unknown>): { ok: true; json: string } | { ok: false; issues: Array<Record<string, unknown>> } {
  const result = validateIngestionEvent({ id: "e1", timestamp: T, type: "score-create", body });
  if (!result.ok) return { ok: false, issues: JSON.parse(result.error) as Array<Record<string, unknown>> };
  return { ok: true, json: JSON.stringify(result.event.body) };
}

function ok(body: Record<string, unknown>): string {
  const r = score(body);
  if (!r.ok) throw new Error(JSON.stringify(r.issues));
  return r.json;
}

function fail(body: Record<string, unknown>): Array<Record<string, unknown>> {
  const r = score(body);
  if (r.ok) throw new Error(`expected failure, got ${r.json}`);
  return r.issues;
}

const base = { name: "quality", traceId: "t1" };

describe("score bodies", () => {
  it("orders keys as base fields, then dataType, value, configId", () => {
    expect(
      ok({
        configId: "c",
        value: 0.5,
        dataType: "NUMERIC",
        queueId: "q",
        executionTraceId: "x",
        source: "EVAL",
        metadata: { a: 1 },
        comment: "c",
        environment: "prod",
        observationId: "o",
        traceId: "t",
        name: "n",
        id: "s1",
        extra: 1,
      }),
    ).toBe(
      `{"id":"s1","name":"n","traceId":"t","observationId":"o","environment":"prod","comment":"c","metadata":{"a":1},` +
        `"source":"EVAL","executionTraceId":"x","queueId":"q","dataType":"NUMERIC","value":0.5,"configId":"c"}`,
    );
  });

  it("defaults source to API and accepts API, EVAL, ANNOTATION only", () => {
    expect(ok({ ...base, value: 1 })).toBe(`{"name":"quality","traceId":"t1","environment":"default","source":"API","value":1}`);
    for (const source of ["API", "EVAL", "ANNOTATION"]) expect(ok({ ...base, value: 1, source })).toContain(`"source":"${source}"`);
    expect(fail({ ...base, value: 1, source: "api" })[0]).toMatchObject({ path: ["body", "source"] });
  });

  it("requires a non-empty name and a value", () => {
    expect(fail({ traceId: "t1", value: 1 })[0]).toMatchObject({ path: ["body", "name"] });
    expect(fail({ ...base, name: "", value: 1 })[0]).toMatchObject({ code: "too_small", path: ["body", "name"] });
    expect(fail({ ...base })[0]).toMatchObject({ path: ["body", "value"] });
  });

  it("does not apply idSchema limits to the target ids, but does to the score id", () => {
    expect(ok({ name: "n", value: 1, traceId: "t".repeat(900), observationId: "o\r" })).toContain(`"observationId":"o\\r"`);
    expect(fail({ ...base, value: 1, id: "s".repeat(801) })[0]).toMatchObject({ code: "too_big", path: ["body", "id"] });
  });
});

describe("score dataType", () => {
  it("without dataType: string or number", () => {
    expect(ok({ ...base, value: "good" })).toContain(`"value":"good"`);
    expect(ok({ ...base, value: 0.25 })).toContain(`"value":0.25`);
    expect(fail({ ...base, value: true })[0]).toMatchObject({ path: ["body", "value"] });
    expect(fail({ ...base, value: null })[0]).toMatchObject({ path: ["body", "value"] });
  });

  it("NUMERIC: number", () => {
    expect(ok({ ...base, dataType: "NUMERIC", value: -3 })).toContain(`"dataType":"NUMERIC","value":-3`);
    expect(fail({ ...base, dataType: "NUMERIC", value: "3" })[0]).toMatchObject({ path: ["body", "value"] });
  });

  it("CATEGORICAL: string", () => {
    expect(ok({ ...base, dataType: "CATEGORICAL", value: "a" })).toContain(`"dataType":"CATEGORICAL","value":"a"`);
    expect(fail({ ...base, dataType: "CATEGORICAL", value: 1 })[0]).toMatchObject({ path: ["body", "value"] });
  });

  it("BOOLEAN: number 0 or 1", () => {
    expect(ok({ ...base, dataType: "BOOLEAN", value: 0 })).toContain(`"value":0`);
    expect(ok({ ...base, dataType: "BOOLEAN", value: 1 })).toContain(`"value":1`);
    for (const value of [2, 0.5, -1]) {
      expect(fail({ ...base, dataType: "BOOLEAN", value })).toEqual([
        { code: "custom", path: ["body", "value"], message: BOOLEAN_MESSAGE },
      ]);
    }
    expect(fail({ ...base, dataType: "BOOLEAN", value: true })[0]).toMatchObject({ code: "invalid_type", path: ["body", "value"] });
  });

  it("CORRECTION: string, configId absent or null", () => {
    expect(ok({ ...base, dataType: "CORRECTION", value: "fixed" })).toContain(`"dataType":"CORRECTION","value":"fixed"`);
    expect(ok({ ...base, dataType: "CORRECTION", value: "fixed", configId: null })).toContain(`"configId":null`);
    expect(fail({ ...base, dataType: "CORRECTION", value: "fixed", configId: "c" })[0]).toMatchObject({
      path: ["body", "configId"],
    });
  });

  it("TEXT: 1..500 characters", () => {
    expect(ok({ ...base, dataType: "TEXT", value: "x".repeat(500) })).toContain(`"dataType":"TEXT"`);
    expect(fail({ ...base, dataType: "TEXT", value: "" })[0]).toMatchObject({ code: "too_small", minimum: 1, path: ["body", "value"] });
    expect(fail({ ...base, dataType: "TEXT", value: "x".repeat(501) })[0]).toMatchObject({
      code: "too_big",
      maximum: 500,
      path: ["body", "value"],
    });
    expect(ok({ ...base, dataType: "TEXT", value: "x", configId: "c" })).toContain(`"configId":"c"`);
  });

  it("rejects an unknown dataType", () => {
    for (const dataType of ["numeric", "BOOL", null]) {
      expect(fail({ ...base, dataType, value: 1 })[0]).toMatchObject({ code: "invalid_union", path: ["body", "dataType"] });
    }
  });
});

describe("score target (exactly one of traceId, sessionId, datasetRunId)", () => {
  const targetFailure = [{ code: "custom", path: ["body"], message: TARGET_MESSAGE }];

  it("accepts each target alone", () => {
    expect(ok({ name: "n", value: 1, traceId: "t" })).toContain(`"traceId":"t"`);
    expect(ok({ name: "n", value: 1, traceId: "t", observationId: "o" })).toContain(`"observationId":"o"`);
    expect(ok({ name: "n", value: 1, sessionId: "s" })).toContain(`"sessionId":"s"`);
    expect(ok({ name: "n", value: 1, datasetRunId: "d" })).toContain(`"datasetRunId":"d"`);
    expect(ok({ name: "n", value: 1, sessionId: "s", traceId: null, observationId: null })).toContain(`"sessionId":"s"`);
  });

  it("rejects no target, several targets and observationId without traceId", () => {
    expect(fail({ name: "n", value: 1 })).toEqual(targetFailure);
    expect(fail({ name: "n", value: 1, observationId: "o" })).toEqual(targetFailure);
    expect(fail({ name: "n", value: 1, traceId: "t", sessionId: "s" })).toEqual(targetFailure);
    expect(fail({ name: "n", value: 1, traceId: "t", datasetRunId: "d" })).toEqual(targetFailure);
    expect(fail({ name: "n", value: 1, sessionId: "s", datasetRunId: "d" })).toEqual(targetFailure);
    expect(fail({ name: "n", value: 1, sessionId: "s", observationId: "o" })).toEqual(targetFailure);
    expect(fail({ name: "n", value: 1, datasetRunId: "d", observationId: "o" })).toEqual(targetFailure);
  });

  it("treats empty strings as absent", () => {
    expect(fail({ name: "n", value: 1, traceId: "" })).toEqual(targetFailure);
    expect(ok({ name: "n", value: 1, traceId: "t", sessionId: "" })).toContain(`"sessionId":""`);
  });

  it("counts the three conditions literally: traceId + sessionId + observationId holds only the first", () => {
    // sessionId and datasetRunId count only without an observationId (contract §2.4 wording).
    expect(ok({ name: "n", value: 1, traceId: "t", sessionId: "s", observationId: "o" })).toContain(`"sessionId":"s"`);
  });

  it("is not checked when a field already fails", () => {
    expect(fail({ value: 1 })).toEqual([expect.objectContaining({ path: ["body", "name"] }) as unknown]);
  });
});
