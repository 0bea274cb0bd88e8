/**
 * usage, usageDetails and costDetails (contract §2.5).
 */
import { describe, expect, it } from "vitest";
import { validateIngestionEvent } from "../../../src/processors/validate/schema.js";

const T = "2024-01-01T00:00:00.000Z";

function generation(fields: Record<string, unknown>): { ok: true; body: Record<string, unknown>; json: string } | { ok: false; issues: Array<Record<string, unknown>> } {
  const result = validateIngestionEvent({ id: "e1", timestamp: T, type: "generation-create", body: { id: "g1", ...fields } });
  if (!result.ok) return { ok: false, issues: JSON.parse(result.error) as Array<Record<string, unknown>> };
  return { ok: true, body: result.event.body, json: JSON.stringify(result.event.body) };
}

function field(name: string, value: unknown): string | undefined {
  const result = generation({ [name]: value });
  if (!result.ok) throw new Error(JSON.stringify(result.issues));
  const out = result.body[name];
  return out === undefined ? undefined : JSON.stringify(out);
}

function failsAt(name: string, value: unknown): unknown[] {
  const result = generation({ [name]: value });
  if (result.ok) throw new Error(`expected failure, got ${result.json}`);
  return result.issues[0]?.path as unknown[];
}

describe("usage", () => {
  it("turns falsy values, an absent key too, into null", () => {
    expect(field("usage", null)).toBe("null");
    expect(field("usage", undefined)).toBe("null");
    const absent = generation({});
    expect(absent.ok && absent.json).toBe(`{"environment":"default","id":"g1","usage":null}`);
  });

  it("maps the OpenAI keys, whichever are present, with unit TOKENS", () => {
    expect(field("usage", { promptTokens: 1, completionTokens: 2, totalTokens: 3 })).toBe(
      `{"input":1,"output":2,"total":3,"unit":"TOKENS"}`,
    );
    expect(field("usage", { completionTokens: 2 })).toBe(`{"output":2,"unit":"TOKENS"}`);
    expect(field("usage", { totalTokens: null })).toBe(`{"total":null,"unit":"TOKENS"}`);
    // The OpenAI keys win over Langfuse's own keys and costs, which are dropped.
    expect(field("usage", { input: 9, unit: "CHARACTERS", inputCost: 1, promptTokens: 1 })).toBe(
      `{"input":1,"unit":"TOKENS"}`,
    );
  });

  it("omits the key for an empty object (after stripping unknown keys)", () => {
    const empty = generation({ usage: {} });
    expect(empty.ok && empty.json).toBe(`{"environment":"default","id":"g1"}`);
    expect(empty.ok && "usage" in empty.body).toBe(true); // present as undefined, dropped by JSON
    expect(field("usage", { foo: 1 })).toBeUndefined();
  });

  it("keeps Langfuse-style usage in Usage's key order", () => {
    expect(field("usage", { totalCost: 0.3, unit: "CHARACTERS", total: 3, output: 2, input: 1, extra: 1 })).toBe(
      `{"input":1,"output":2,"total":3,"unit":"CHARACTERS","totalCost":0.3}`,
    );
    expect(field("usage", { input: null, inputCost: 0.5, outputCost: 1 })).toBe(`{"input":null,"inputCost":0.5,"outputCost":1}`);
    for (const unit of ["CHARACTERS", "TOKENS", "SECONDS", "MILLISECONDS", "IMAGES", "REQUESTS"]) {
      expect(field("usage", { unit })).toBe(`{"unit":"${unit}"}`);
    }
  });

  it("rejects non-integers, bad units and non-objects", () => {
    expect(failsAt("usage", { input: 1.5 })).toEqual(["body", "usage", "input"]);
    expect(failsAt("usage", { promptTokens: 1.5 })).toEqual(["body", "usage", "promptTokens"]);
    expect(failsAt("usage", { input: "1" })).toEqual(["body", "usage", "input"]);
    expect(failsAt("usage", { unit: "tokens" })).toEqual(["body", "usage", "unit"]);
    expect(failsAt("usage", { totalCost: "1" })).toEqual(["body", "usage", "totalCost"]);
    expect(failsAt("usage", 5)).toEqual(["body", "usage"]);
    expect(failsAt("usage", [])).toEqual(["body", "usage"]);
  });

  it("accepts negative integers (no minimum)", () => {
    expect(field("usage", { input: -1 })).toBe(`{"input":-1}`);
  });
});

describe("usageDetails", () => {
  it("flattens OpenAI Chat Completions usage, subtracting details clamped at 0", () => {
    expect(
      field("usageDetails", {
        prompt_tokens: 10,
        completion_tokens: 5,
        total_tokens: 15,
        prompt_tokens_details: { cached_tokens: 4, audio_tokens: null },
        completion_tokens_details: { reasoning_tokens: 7, accepted_prediction_tokens: 0 },
      }),
    ).toBe(
      `{"input":6,"output":0,"total":15,"input_cached_tokens":4,"output_reasoning_tokens":7,"output_accepted_prediction_tokens":0}`,
    );
    expect(field("usageDetails", { prompt_tokens: 1, completion_tokens: 2, total_tokens: 3 })).toBe(
      `{"input":1,"output":2,"total":3}`,
    );
    expect(
      field("usageDetails", {
        prompt_tokens: 1,
        completion_tokens: 2,
        total_tokens: 3,
        prompt_tokens_details: null,
        completion_tokens_details: {},
      }),
    ).toBe(`{"input":1,"output":2,"total":3}`);
  });

  it("flattens OpenAI Responses usage", () => {
    expect(
      field("usageDetails", {
        input_tokens: 20,
        output_tokens: 8,
        total_tokens: 28,
        input_tokens_details: { cached_tokens: 25 },
        output_tokens_details: { reasoning_tokens: 3 },
      }),
    ).toBe(`{"input":0,"output":5,"total":28,"input_cached_tokens":25,"output_reasoning_tokens":3}`);
  });

  it("falls back to the raw rule when an OpenAI shape is not strictly matched", () => {
    // extra key → not strict
    expect(field("usageDetails", { prompt_tokens: 10, completion_tokens: 5, total_tokens: 15, extra: 1 })).toBe(
      `{"prompt_tokens":10,"completion_tokens":5,"total_tokens":15,"extra":1}`,
    );
    // total missing
    expect(field("usageDetails", { input_tokens: 4, output_tokens: 2 })).toBe(`{"input_tokens":4,"output_tokens":2}`);
    // negative count
    expect(field("usageDetails", { prompt_tokens: -1, completion_tokens: 5, total_tokens: 4 })).toBe(
      `{"completion_tokens":5,"total_tokens":4}`,
    );
    // non-integer detail
    expect(
      field("usageDetails", { prompt_tokens: 3, completion_tokens: 1, total_tokens: 4, prompt_tokens_details: { cached_tokens: 1.5 } }),
    ).toBe(`{"prompt_tokens":3,"completion_tokens":1,"total_tokens":4}`);
    // string counts are not OpenAI-shaped
    expect(field("usageDetails", { prompt_tokens: "3", completion_tokens: 1, total_tokens: 4 })).toBe(
      `{"prompt_tokens":3,"completion_tokens":1,"total_tokens":4}`,
    );
  });

  it("keeps non-negative integers and parseInt-able strings, drops the rest", () => {
    expect(field("usageDetails", { input: 10, output: "5", bad: -1, f: 1.5 })).toBe(`{"input":10,"output":5}`);
    expect(
      field("usageDetails", { a: 0, b: "12abc", c: "1.9", d: "abc", e: "-3", f: true, g: null, h: {}, i: [1], j: " 7" }),
    ).toBe(`{"a":0,"b":12,"c":1,"j":7}`);
    expect(field("usageDetails", { input: 10, total: 15, output: 5 })).toBe(`{"input":10,"total":15,"output":5}`);
  });

  it("turns an empty result into undefined (key omitted)", () => {
    expect(field("usageDetails", {})).toBeUndefined();
    expect(field("usageDetails", { bad: -1 })).toBeUndefined();
    const r = generation({ usageDetails: {} });
    expect(r.ok && r.json).toBe(`{"environment":"default","id":"g1","usage":null}`);
  });

  it("keeps null, omits absence, rejects non-objects", () => {
    expect(field("usageDetails", null)).toBe("null");
    const r = generation({});
    expect(r.ok && "usageDetails" in r.body).toBe(false);
    for (const bad of [5, "x", [1], true]) {
      const result = generation({ usageDetails: bad });
      expect(result.ok).toBe(false);
      if (!result.ok) expect(result.issues[0]).toMatchObject({ code: "invalid_union", path: ["body", "usageDetails"] });
    }
  });
});

describe("costDetails", () => {
  it("keeps numbers that are not NaN and are >= 0", () => {
    expect(field("costDetails", { input: 0.1, neg: -1, s: "1" })).toBe(`{"input":0.1}`);
    expect(field("costDetails", { zero: 0, big: 1e6, b: true, n: null, o: {} })).toBe(`{"zero":0,"big":1000000}`);
  });

  it("turns an empty result into undefined, keeps null, rejects non-objects", () => {
    expect(field("costDetails", {})).toBeUndefined();
    expect(field("costDetails", { s: "0.1" })).toBeUndefined();
    expect(field("costDetails", null)).toBe("null");
    expect(failsAt("costDetails", 1)).toEqual(["body", "costDetails"]);
    expect(failsAt("costDetails", [0.1])).toEqual(["body", "costDetails"]);
  });
});
