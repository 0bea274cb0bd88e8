/**
 * Trace and observation bodies (contract §2.4): required ids, stripping, key order, the generation
 * family with its promptName/promptVersion refine, and legacy observation bodies.
 */
import { describe, expect, it } from "vitest";
import { validateIngestionEvent } from "../../../src/processors/validate/schema.js";

const T = "2024-01-01T00:00:00.000Z";

function event(type: string, body: unknown): Record<string, unknown> {
  return { id: "e1", timestamp: T, type, body };
}

function body(type: string, raw: unknown): string {
  const result = validateIngestionEvent(event(type, raw));
  if (!result.ok) throw new Error(result.error);
  return JSON.stringify(result.event.body);
}

function issues(type: string, raw: unknown): Array<Record<string, unknown>> {
  const result = validateIngestionEvent(event(type, raw));
  if (result.ok) throw new Error(`expected failure, got ${JSON.stringify(result.event)}`);
  return JSON.parse(result.error) as Array<Record<string, unknown>>;
}

const GENERATION_FAMILY = [
  "generation-create",
  "generation-update",
  "agent-create",
  "tool-create",
  "chain-create",
  "retriever-create",
  "evaluator-create",
  "embedding-create",
  "guardrail-create",
];
const OBSERVATION_TYPES = ["event-create", "span-create", "span-update", ...GENERATION_FAMILY];

const fullGeneration = {
  promptVersion: 3,
  promptName: "p",
  costDetails: { total: 0.5 },
  usageDetails: { input: 1, output: 2 },
  usage: { input: 1, output: 2, total: 3, unit: "TOKENS" },
  modelParameters: { temperature: 0.2, stop: ["x"], tool: { a: "b" }, n: null, stream: true, model: "m" },
  model: "gpt-4o",
  completionStartTime: "2024-01-01T00:00:01Z",
  endTime: "2024-01-01T00:00:02Z",
  id: "g1",
  version: "v1",
  parentObservationId: "p1",
  statusMessage: "ok",
  level: "WARNING",
  output: { role: "assistant" },
  input: [{ role: "user" }],
  metadata: { k: [1, null] },
  startTime: "2024-01-01T00:00:00Z",
  name: "gen",
  environment: "prod",
  traceId: "t1",
  unknownKey: "dropped",
};

describe("trace bodies", () => {
  it("orders keys as the schema's shape and strips unknown keys", () => {
    expect(
      body("trace-create", {
        tags: ["a"],
        public: true,
        version: "v",
        release: "r",
        metadata: { m: 1 },
        environment: "prod",
        userId: "u",
        sessionId: "s",
        output: "o",
        input: { q: 1 },
        externalId: "x",
        name: "n",
        timestamp: T,
        id: "t1",
        bogus: 1,
      }),
    ).toBe(
      `{"id":"t1","timestamp":"${T}","name":"n","externalId":"x","input":{"q":1},"output":"o","sessionId":"s",` +
        `"userId":"u","environment":"prod","metadata":{"m":1},"release":"r","version":"v","public":true,"tags":["a"]}`,
    );
  });

  it("does not require an id and keeps explicit nulls", () => {
    expect(body("trace-create", {})).toBe(`{"environment":"default"}`);
    expect(body("trace-create", { id: null, name: null, input: null, tags: null })).toBe(
      `{"id":null,"name":null,"input":null,"environment":"default","tags":null}`,
    );
  });

  it("limits the name to 1000 UTF-16 code units", () => {
    expect(body("trace-create", { name: "n".repeat(1000) })).toContain(`"name":"${"n".repeat(1000)}"`);
    expect(issues("trace-create", { name: "n".repeat(1001) })[0]).toMatchObject({
      code: "too_big",
      maximum: 1000,
      path: ["body", "name"],
    });
    expect(issues("trace-create", { name: "😀".repeat(501) })[0]).toMatchObject({ code: "too_big" });
  });

  it("passes input and output through unvalidated", () => {
    expect(body("trace-create", { input: { a: undefined, b: [1] }, output: 5 })).toBe(
      `{"input":{"b":[1]},"output":5,"environment":"default"}`,
    );
  });

  it("rejects wrong field types", () => {
    expect(issues("trace-create", { tags: "a" })[0]).toMatchObject({ path: ["body", "tags"] });
    expect(issues("trace-create", { tags: ["a", 1] })[0]).toMatchObject({ path: ["body", "tags", 1] });
    expect(issues("trace-create", { public: "true" })[0]).toMatchObject({ path: ["body", "public"] });
    expect(issues("trace-create", { userId: 5 })[0]).toMatchObject({ path: ["body", "userId"] });
  });
});

describe("observation bodies", () => {
  it.each(OBSERVATION_TYPES)("%s requires body.id", (type) => {
    const list = issues(type, { name: "x" });
    expect(list[0]).toMatchObject({ code: "invalid_type", path: ["body", "id"] });
    expect(issues(type, { id: null })[0]).toMatchObject({ path: ["body", "id"] });
    expect(issues(type, { id: "" })[0]).toMatchObject({ code: "too_small", path: ["body", "id"] });
  });

  it("event-create keeps the base fields plus id", () => {
    expect(body("event-create", { ...fullGeneration })).toBe(
      `{"traceId":"t1","environment":"prod","name":"gen","startTime":"2024-01-01T00:00:00Z","metadata":{"k":[1,null]},` +
        `"input":[{"role":"user"}],"output":{"role":"assistant"},"level":"WARNING","statusMessage":"ok",` +
        `"parentObservationId":"p1","version":"v1","id":"g1"}`,
    );
  });

  it.each(["span-create", "span-update"])("%s adds endTime and strips generation fields", (type) => {
    expect(body(type, { ...fullGeneration })).toBe(
      `{"traceId":"t1","environment":"prod","name":"gen","startTime":"2024-01-01T00:00:00Z","metadata":{"k":[1,null]},` +
        `"input":[{"role":"user"}],"output":{"role":"assistant"},"level":"WARNING","statusMessage":"ok",` +
        `"parentObservationId":"p1","version":"v1","id":"g1","endTime":"2024-01-01T00:00:02Z"}`,
    );
  });

  it.each(GENERATION_FAMILY)("%s keeps every generation field in shape order", (type) => {
    expect(body(type, { ...fullGeneration })).toBe(
      `{"traceId":"t1","environment":"prod","name":"gen","startTime":"2024-01-01T00:00:00Z","metadata":{"k":[1,null]},` +
        `"input":[{"role":"user"}],"output":{"role":"assistant"},"level":"WARNING","statusMessage":"ok",` +
        `"parentObservationId":"p1","version":"v1","id":"g1","endTime":"2024-01-01T00:00:02Z",` +
        `"completionStartTime":"2024-01-01T00:00:01Z","model":"gpt-4o",` +
        `"modelParameters":{"temperature":0.2,"stop":["x"],"tool":{"a":"b"},"n":null,"stream":true,"model":"m"},` +
        `"usage":{"input":1,"output":2,"total":3,"unit":"TOKENS"},"usageDetails":{"input":1,"output":2},` +
        `"costDetails":{"total":0.5},"promptName":"p","promptVersion":3}`,
    );
  });

  it.each(GENERATION_FAMILY)("%s writes usage: null when usage is absent", (type) => {
    expect(body(type, { id: "g1" })).toBe(`{"environment":"default","id":"g1","usage":null}`);
  });

  it("observation traceId follows idSchema, parentObservationId and name have no limit", () => {
    expect(issues("span-create", { id: "s", traceId: "t".repeat(801) })[0]).toMatchObject({
      code: "too_big",
      path: ["body", "traceId"],
    });
    expect(issues("span-create", { id: "s", traceId: "a\rb" })[0]).toMatchObject({
      message: "ID cannot contain carriage return characters",
    });
    expect(body("span-create", { id: "s", parentObservationId: "p".repeat(2000), name: "n".repeat(2000) })).toContain(
      `"parentObservationId":"${"p".repeat(2000)}"`,
    );
  });

  it("validates level, timestamps and metadata", () => {
    expect(issues("span-create", { id: "s", level: "INFO" })[0]).toMatchObject({ code: "invalid_value", path: ["body", "level"] });
    for (const level of ["DEBUG", "DEFAULT", "WARNING", "ERROR"]) {
      expect(body("span-create", { id: "s", level })).toContain(`"level":"${level}"`);
    }
    expect(issues("span-create", { id: "s", endTime: "2024-01-01T00:00:00" })[0]).toMatchObject({
      format: "datetime",
      path: ["body", "endTime"],
    });
    expect(issues("generation-create", { id: "s", completionStartTime: 5 })[0]).toMatchObject({
      path: ["body", "completionStartTime"],
    });
    expect(body("span-create", { id: "s", metadata: null, startTime: null })).toBe(
      `{"environment":"default","startTime":null,"metadata":null,"id":"s"}`,
    );
  });

  it("validates modelParameters values", () => {
    expect(body("generation-create", { id: "g", modelParameters: {} })).toContain(`"modelParameters":{}`);
    expect(body("generation-create", { id: "g", modelParameters: null })).toContain(`"modelParameters":null`);
    for (const bad of [{ a: [1] }, { a: { b: 1 } }, { a: undefined }, [1], "x"]) {
      expect(issues("generation-create", { id: "g", modelParameters: bad })[0]).toMatchObject({
        path: expect.arrayContaining(["body", "modelParameters"]) as unknown,
      });
    }
  });

  it("rejects a non-integer promptVersion", () => {
    expect(issues("generation-create", { id: "g", promptName: "p", promptVersion: 1.5 })[0]).toMatchObject({
      path: ["body", "promptVersion"],
    });
    expect(issues("generation-create", { id: "g", promptName: "p", promptVersion: "3" })[0]).toMatchObject({
      code: "invalid_type",
      path: ["body", "promptVersion"],
    });
  });
});

describe("promptName / promptVersion pairing", () => {
  const refineFailure = [{ code: "custom", path: ["body"], message: "Invalid input" }];

  it.each(GENERATION_FAMILY)("%s: both or neither", (type) => {
    expect(body(type, { id: "g", promptName: "p", promptVersion: 1 })).toContain(`"promptName":"p","promptVersion":1`);
    expect(body(type, { id: "g" })).not.toContain("prompt");
    expect(body(type, { id: "g", promptName: null, promptVersion: null })).toContain(
      `"promptName":null,"promptVersion":null`,
    );
    expect(issues(type, { id: "g", promptName: "p" })).toEqual(refineFailure);
    expect(issues(type, { id: "g", promptVersion: 2 })).toEqual(refineFailure);
    expect(issues(type, { id: "g", promptName: "p", promptVersion: null })).toEqual(refineFailure);
  });

  it("counts promptVersion 0 and an empty promptName as falsy", () => {
    expect(issues("generation-create", { id: "g", promptName: "p", promptVersion: 0 })).toEqual(refineFailure);
    expect(issues("generation-create", { id: "g", promptName: "", promptVersion: 1 })).toEqual(refineFailure);
    expect(body("generation-create", { id: "g", promptName: "", promptVersion: 0 })).toContain(
      `"promptName":"","promptVersion":0`,
    );
  });

  it("is not checked for span and event bodies (the fields are stripped)", () => {
    expect(body("span-create", { id: "s", promptName: "p" })).toBe(`{"environment":"default","id":"s"}`);
  });

  it("is not checked when a field already fails", () => {
    expect(issues("generation-create", { promptName: "p" })).toEqual([
      expect.objectContaining({ path: ["body", "id"] }) as unknown,
    ]);
  });
});

describe("legacy observation bodies", () => {
  it.each(["observation-create", "observation-update"])("%s: shape order, no environment, usage null", (type) => {
    expect(
      body(type, {
        version: "v",
        statusMessage: "s",
        level: "ERROR",
        parentObservationId: "p",
        costDetails: { c: 1 },
        usageDetails: { i: 1 },
        metadata: { m: null },
        output: [1],
        input: "in",
        modelParameters: { t: 1, s: "x", b: false, n: null },
        model: "m",
        completionStartTime: T,
        endTime: T,
        startTime: T,
        name: "n",
        type: "GENERATION",
        traceId: "t",
        id: "o",
        environment: "prod",
        extra: 1,
      }),
    ).toBe(
      `{"id":"o","traceId":"t","type":"GENERATION","name":"n","startTime":"${T}","endTime":"${T}",` +
        `"completionStartTime":"${T}","model":"m","modelParameters":{"t":1,"s":"x","b":false,"n":null},` +
        `"input":"in","output":[1],"metadata":{"m":null},"usage":null,"usageDetails":{"i":1},"costDetails":{"c":1},` +
        `"parentObservationId":"p","level":"ERROR","statusMessage":"s","version":"v"}`,
    );
    expect(body(type, { type: "SPAN" })).toBe(`{"type":"SPAN","usage":null}`);
  });

  it("requires type and accepts only GENERATION, SPAN, EVENT", () => {
    expect(issues("observation-create", { id: "o" })[0]).toMatchObject({ path: ["body", "type"] });
    expect(issues("observation-create", { type: "span" })[0]).toMatchObject({ code: "invalid_value", path: ["body", "type"] });
    expect(body("observation-create", { type: "EVENT" })).toBe(`{"type":"EVENT","usage":null}`);
  });

  it("does not require an id", () => {
    expect(validateIngestionEvent(event("observation-update", { type: "SPAN" })).ok).toBe(true);
  });

  it("validates input, output and metadata as JSON, modelParameters as scalars", () => {
    expect(body("observation-create", { type: "SPAN", input: null, output: null })).toBe(
      `{"type":"SPAN","input":null,"output":null,"usage":null}`,
    );
    expect(issues("observation-create", { type: "SPAN", input: { a: undefined } })[0]).toMatchObject({
      code: "invalid_union",
      path: ["body", "input"],
    });
    expect(issues("observation-create", { type: "SPAN", modelParameters: { stop: ["x"] } })[0]).toMatchObject({
      path: ["body", "modelParameters", "stop"],
    });
  });

  it("keeps the usage transforms", () => {
    expect(body("observation-create", { type: "GENERATION", usage: { promptTokens: 5 } })).toBe(
      `{"type":"GENERATION","usage":{"input":5,"unit":"TOKENS"}}`,
    );
  });
});
