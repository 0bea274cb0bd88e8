/**
 * The verified normalisations of contract §2.6 (Langfuse's schema run on zod 4.3.6, public
 * variant): the exact JSON that ends up in S3.
 */
import { describe, expect, it } from "vitest";
import { validateIngestionEvent } from "../../../src/processors/validate/schema.js";

const T = "2024-01-01T00:00:00.000Z";

function json(raw: unknown): string {
  const result = validateIngestionEvent(raw);
  if (!result.ok) throw new Error(`expected success, got ${result.error}`);
  return JSON.stringify(result.event);
}

function issues(raw: unknown): Array<Record<string, unknown>> {
  const result = validateIngestionEvent(raw);
  if (result.ok) throw new Error(`expected failure, got ${JSON.stringify(result.event)}`);
  return JSON.parse(result.error) as Array<Record<string, unknown>>;
}

function traceEnv(environment: unknown): unknown {
  const result = validateIngestionEvent({ id: "e1", timestamp: T, type: "trace-create", body: { id: "t1", environment } });
  if (!result.ok) throw new Error(result.error);
  return result.event.body.environment;
}

describe("contract §2.6 verified normalisation", () => {
  it("strips unknown body keys and adds the default environment", () => {
    expect(json({ id: "e1", timestamp: T, type: "trace-create", body: { id: "t1", extra: 1 } })).toBe(
      `{"id":"e1","timestamp":"${T}","type":"trace-create","body":{"id":"t1","environment":"default"}}`,
    );
  });

  it("normalises environments", () => {
    expect(traceEnv("Langfuse-Prod")).toBe("prod");
    expect(traceEnv("a b")).toBe("default");
    expect(traceEnv(null)).toBe("default");
    expect(traceEnv("x".repeat(50))).toBe("x".repeat(40));
    expect(traceEnv("langfuselangfuse-x")).toBe("x");
  });

  it("maps OpenAI-style usage to {input, output, total, unit: TOKENS}", () => {
    const out = json({
      id: "e1",
      timestamp: T,
      type: "generation-create",
      body: { id: "g1", usage: { promptTokens: 1, completionTokens: 2, totalTokens: 3 } },
    });
    expect(out).toContain(`"usage":{"input":1,"output":2,"total":3,"unit":"TOKENS"}`);
  });

  it("flattens OpenAI chat usageDetails and writes usage: null", () => {
    const out = json({
      id: "e1",
      timestamp: T,
      type: "generation-create",
      body: {
        id: "g1",
        usageDetails: { prompt_tokens: 10, completion_tokens: 5, total_tokens: 15, prompt_tokens_details: { cached_tokens: 4 } },
      },
    });
    expect(out).toBe(
      `{"id":"e1","timestamp":"${T}","type":"generation-create","body":{"environment":"default","id":"g1",` +
        `"usage":null,"usageDetails":{"input":6,"output":5,"total":15,"input_cached_tokens":4}}}`,
    );
  });

  it("keeps only non-negative integer usage counts (strings parsed)", () => {
    const out = json({
      id: "e1",
      timestamp: T,
      type: "generation-create",
      body: { id: "g1", usageDetails: { input: 10, output: "5", bad: -1, f: 1.5 } },
    });
    expect(out).toContain(`"usageDetails":{"input":10,"output":5}`);
  });

  it("keeps only non-negative numeric costs", () => {
    const out = json({
      id: "e1",
      timestamp: T,
      type: "generation-create",
      body: { id: "g1", costDetails: { input: 0.1, neg: -1, s: "1" } },
    });
    expect(out).toContain(`"costDetails":{"input":0.1}`);
  });

  it("defaults a score's source to API", () => {
    expect(json({ id: "e1", timestamp: T, type: "score-create", body: { name: "s", value: 1, traceId: "t1" } })).toBe(
      `{"id":"e1","timestamp":"${T}","type":"score-create","body":{"name":"s","traceId":"t1","environment":"default","source":"API","value":1}}`,
    );
  });

  it("rejects a span-create without body.id at path body.id", () => {
    const list = issues({ id: "e1", timestamp: T, type: "span-create", body: { name: "s" } });
    expect(list).toHaveLength(1);
    expect(list[0]).toMatchObject({ code: "invalid_type", expected: "string", path: ["body", "id"] });
  });

  it("rejects an unknown type with invalid_union", () => {
    const list = issues({ id: "e1", timestamp: T, type: "banana-create", body: {} });
    expect(list).toHaveLength(1);
    expect(list[0]).toMatchObject({ code: "invalid_union", note: "No matching discriminator", path: ["type"] });
  });
});
