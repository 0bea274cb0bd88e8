/**
 * Environment normalisation (contract §2.3, checklist §9): public and internal variants.
 */
import { describe, expect, it } from "vitest";
import { normaliseEnvironment } from "../../../src/processors/validate/primitives.js";
import { validateIngestionEvent } from "../../../src/processors/validate/schema.js";

const T = "2024-01-01T00:00:00.000Z";

function bodyOf(type: string, body: Record<string, unknown>, internal = false): Record<string, unknown> {
  const result = validateIngestionEvent({ id: "e1", timestamp: T, type, body }, { internal });
  if (!result.ok) throw new Error(result.error);
  return result.event.body;
}

function env(environment: unknown, internal = false): unknown {
  return bodyOf("trace-create", { id: "t1", environment }, internal).environment;
}

describe("public environment", () => {
  it.each([
    ["production", "production"],
    ["Staging", "staging"],
    ["Langfuse-Prod", "prod"],
    ["langfuse-prod", "prod"],
    ["langfuse_prod", "prod"],
    ["langfuseprod", "prod"],
    ["LANGFUSE-LANGFUSE_langfuse-dev", "dev"], // every leading prefix
    ["langfuselangfuse-x", "x"],
    ["prod-langfuse", "prod-langfuse"], // only leading
    ["langfuse-prompt-experiment", "prompt-experiment"],
    ["langfuse", "default"], // empty after stripping
    ["langfuse-", "default"],
    ["", "default"],
    ["a b", "default"],
    ["My Env!", "default"],
    ["prod.eu", "default"],
    ["prod/eu", "default"],
    ["é", "default"],
    ["a_b-c_0-9", "a_b-c_0-9"],
    ["x".repeat(50), "x".repeat(40)],
    ["langfuse-" + "y".repeat(45), "y".repeat(40)], // strip before truncating
    ["x".repeat(40) + " !", "x".repeat(40)], // truncate before checking
    ["x".repeat(39) + " ", "default"],
  ])("%j → %j", (input, expected) => {
    expect(env(input)).toBe(expected);
    expect(normaliseEnvironment(input)).toBe(expected);
  });

  it("turns non-strings and null into default, never an error", () => {
    for (const value of [null, 5, true, {}, ["prod"]]) expect(env(value)).toBe("default");
  });

  it("writes default for a missing environment, at its place in the shape", () => {
    expect(JSON.stringify(bodyOf("trace-create", { id: "t1", name: "n", metadata: { a: 1 } }))).toBe(
      `{"id":"t1","name":"n","environment":"default","metadata":{"a":1}}`,
    );
    expect(bodyOf("span-create", { id: "s1" }).environment).toBe("default");
    expect(bodyOf("event-create", { id: "s1" }).environment).toBe("default");
    expect(bodyOf("generation-create", { id: "g1" }).environment).toBe("default");
    expect(bodyOf("score-create", { name: "s", value: 1, traceId: "t" }).environment).toBe("default");
  });

  it("applies to observation and score bodies", () => {
    expect(bodyOf("span-create", { id: "s1", environment: "Langfuse-QA" }).environment).toBe("qa");
    expect(bodyOf("tool-create", { id: "s1", environment: "QA" }).environment).toBe("qa");
    expect(bodyOf("score-create", { name: "s", value: 1, traceId: "t", environment: "a b" }).environment).toBe("default");
  });

  it("is not added to legacy observation, sdk-log or dataset-run-item bodies", () => {
    expect("environment" in bodyOf("observation-create", { type: "SPAN", environment: "prod" })).toBe(false);
    expect("environment" in bodyOf("observation-update", { type: "EVENT" })).toBe(false);
    expect("environment" in bodyOf("sdk-log", { log: "x" })).toBe(false);
    expect(
      "environment" in
        bodyOf("dataset-run-item-create", { traceId: "t", datasetId: "d", runId: "r", datasetItemId: "i" }, true),
    ).toBe(false);
  });
});

describe("internal environment", () => {
  it.each([
    ["langfuse-prompt-experiment", "langfuse-prompt-experiment"],
    ["langfuse-llm-as-a-judge", "langfuse-llm-as-a-judge"],
    ["langfuse-code-eval", "langfuse-code-eval"],
    ["langfuse-natural-language-filter", "langfuse-natural-language-filter"],
    ["langfuse-in-app-agent", "langfuse-in-app-agent"],
    ["production", "production"],
    ["Production", "default"], // no lowercasing
    ["Langfuse-Prod", "default"],
    ["a b", "default"],
    ["x".repeat(50), "x".repeat(40)],
    ["", "default"],
  ])("%j → %j", (input, expected) => {
    expect(env(input, true)).toBe(expected);
    expect(normaliseEnvironment(input, { internal: true })).toBe(expected);
  });

  it("defaults missing and non-string values", () => {
    expect(env(undefined, true)).toBe("default");
    expect(env(null, true)).toBe("default");
    expect(env(42, true)).toBe("default");
  });
});
