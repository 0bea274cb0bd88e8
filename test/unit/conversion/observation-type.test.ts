/**
 * Mapping spec §5: the type-mapper spot-check table of §12, plus the other mapper rules.
 */
import { describe, expect, it } from "vitest";
import { convert, request, span, type Attr } from "./fixtures.js";

function eventType(
  attributes: Record<string, Attr>,
  options: { scope?: Record<string, unknown>; resource?: Record<string, Attr>; name?: string } = {},
): string {
  const result = convert(request({ spans: [span({ attributes, name: options.name })], ...options }));
  expect(result.rejectedSpans).toEqual([]);
  const observation = result.events.find((e) => e.event.type !== "trace-create");
  return observation?.event.type ?? "none";
}

const PYTHON = { "service.name": "svc", "telemetry.sdk.language": "python" };
const JS = { "service.name": "svc", "telemetry.sdk.language": "js" };

describe("§12 type-mapper spot checks", () => {
  it.each<[string, Record<string, Attr>, Parameters<typeof eventType>[1], string]>([
    ["upper-case explicit type", { "langfuse.observation.type": "GENERATION" }, {}, "span-create"],
    [
      "upper-case explicit type + request model",
      { "langfuse.observation.type": "GENERATION", "gen_ai.request.model": "m" },
      {},
      "generation-create",
    ],
    ["gen_ai chat without model", { "gen_ai.operation.name": "chat" }, {}, "generation-create"],
    ["gen_ai text_completion", { "gen_ai.operation.name": "text_completion" }, {}, "generation-create"],
    ["gen_ai create_agent", { "gen_ai.operation.name": "create_agent" }, {}, "agent-create"],
    ["gen_ai retrieve (unmapped)", { "gen_ai.operation.name": "retrieve" }, {}, "span-create"],
    [
      "OpenInference RERANKER + llm.model_name",
      { "openinference.span.kind": "RERANKER", "llm.model_name": "m" },
      {},
      "generation-create",
    ],
    ["OpenInference lower-case llm", { "openinference.span.kind": "llm" }, {}, "span-create"],
    ["ai.generateText + ai.model.id", { "operation.name": "ai.generateText", "ai.model.id": "m" }, {}, "span-create"],
    [
      "ai.streamText.doStream + ai.model.id",
      { "operation.name": "ai.streamText.doStream", "ai.model.id": "m" },
      {},
      "generation-create",
    ],
    [
      "ai.operationId ai.embed.doEmbed + request model",
      { "ai.operationId": "ai.embed.doEmbed", "gen_ai.request.model": "m" },
      {},
      "embedding-create",
    ],
    ["ai.operationId ai.toolCall", { "ai.operationId": "ai.toolCall" }, {}, "tool-create"],
    [
      "explicit span beats gen_ai chat",
      { "langfuse.observation.type": "span", "gen_ai.operation.name": "chat" },
      {},
      "span-create",
    ],
    [
      "python SDK 3.3.0 span + model",
      { "langfuse.observation.type": "span", "langfuse.observation.model.name": "m" },
      { scope: { name: "langfuse-sdk", version: "3.3.0" }, resource: PYTHON },
      "generation-create",
    ],
    [
      "python SDK 3.4.0 span + model",
      { "langfuse.observation.type": "span", "langfuse.observation.model.name": "m" },
      { scope: { name: "langfuse-sdk", version: "3.4.0" }, resource: PYTHON },
      "span-create",
    ],
    [
      "JS SDK 3.3.0 span + model",
      { "langfuse.observation.type": "span", "langfuse.observation.model.name": "m" },
      { scope: { name: "langfuse-sdk", version: "3.3.0" }, resource: JS },
      "span-create",
    ],
    ["gen_ai.tool.call.id only", { "gen_ai.tool.call.id": "c1" }, {}, "tool-create"],
    ["empty llm.model_name", { "llm.model_name": "" }, {}, "span-create"],
    ["LiveKit agent_turn", {}, { scope: { name: "livekit-agents" }, name: "agent_turn" }, "agent-create"],
    ["Genkit model subtype", { "genkit:metadata:subtype": "model" }, {}, "generation-create"],
    ["Flue task id", { "flue.task.id": "t1" }, {}, "agent-create"],
  ])("%s", (_label, attributes, options, expected) => {
    expect(eventType(attributes, options)).toBe(expected);
  });
});

describe("§5 mapper details", () => {
  it("explicit lower-case types map to their event types", () => {
    for (const type of ["span", "generation", "event", "embedding", "agent", "tool", "chain", "retriever", "guardrail", "evaluator"]) {
      expect(eventType({ "langfuse.observation.type": type })).toBe(`${type}-create`);
    }
  });

  it("OpenInference kinds", () => {
    expect(eventType({ "openinference.span.kind": "LLM" })).toBe("generation-create");
    expect(eventType({ "openinference.span.kind": "RETRIEVER" })).toBe("retriever-create");
    expect(eventType({ "openinference.span.kind": "GUARDRAIL" })).toBe("guardrail-create");
    expect(eventType({ "openinference.span.kind": "EVALUATOR" })).toBe("evaluator-create");
    expect(eventType({ "openinference.span.kind": "EMBEDDING" })).toBe("embedding-create");
  });

  it("OTel GenAI operations", () => {
    expect(eventType({ "gen_ai.operation.name": "generate_content" })).toBe("generation-create");
    expect(eventType({ "gen_ai.operation.name": "embeddings" })).toBe("embedding-create");
    expect(eventType({ "gen_ai.operation.name": "execute_tool" })).toBe("tool-create");
  });

  it("Genkit subtypes", () => {
    expect(eventType({ "genkit:metadata:subtype": "background-model" })).toBe("generation-create");
    expect(eventType({ "genkit:metadata:subtype": "embedder" })).toBe("embedding-create");
    expect(eventType({ "genkit:metadata:subtype": "tool.v2" })).toBe("tool-create");
    expect(eventType({ "genkit:metadata:subtype": "retriever" })).toBe("retriever-create");
    expect(eventType({ "genkit:metadata:subtype": "evaluator" })).toBe("evaluator-create");
    expect(eventType({ "genkit:metadata:subtype": "flow" })).toBe("span-create");
  });

  it("Vercel AI generation-like operations need a model key; operation.name matches by prefix", () => {
    expect(eventType({ "operation.name": "ai.generateObject.doGenerate my-fn", "gen_ai.response.model": "m" })).toBe(
      "generation-create",
    );
    expect(eventType({ "operation.name": "ai.embedMany.doEmbed", "ai.model.id": "m" })).toBe("embedding-create");
    expect(eventType({ "ai.operationId": "ai.streamObject.doStream", "ai.model.id": "m" })).toBe("generation-create");
    // Without a model key the generation mapper does not apply, and ai.model.id alone is no fallback.
    expect(eventType({ "operation.name": "ai.streamText.doStream" })).toBe("span-create");
    expect(eventType({ "operation.name": "ai.toolCall my-fn" })).toBe("tool-create");
  });

  it("Flue and LiveKit tools", () => {
    expect(eventType({ "flue.tool.name": "grep" })).toBe("tool-create");
    expect(eventType({ "flue.tool.call_id": "c" })).toBe("tool-create");
    expect(eventType({ "flue.task.agent": "a" })).toBe("agent-create");
    expect(eventType({}, { scope: { name: "livekit-agents" }, name: "function_tool" })).toBe("tool-create");
    expect(eventType({}, { scope: { name: "livekit-agents" }, name: "start_agent_activity" })).toBe("agent-create");
    expect(eventType({}, { scope: { name: "other" }, name: "agent_turn" })).toBe("span-create");
  });

  it("Python SDK fix: missing version counts as old; needs the exact scope name and a generation hint", () => {
    const attrs = { "langfuse.observation.type": "span", "langfuse.observation.usage_details": "{}" };
    expect(eventType(attrs, { scope: { name: "langfuse-sdk" }, resource: PYTHON })).toBe("generation-create");
    expect(eventType(attrs, { scope: { name: "langfuse-sdk-x", version: "3.0.0" }, resource: PYTHON })).toBe("span-create");
    expect(eventType({ "langfuse.observation.type": "span" }, { scope: { name: "langfuse-sdk", version: "2.9" }, resource: PYTHON })).toBe(
      "span-create",
    );
  });

  it("model fallback keys, meaningful values only", () => {
    expect(eventType({ "gen_ai.response.model": "m" })).toBe("generation-create");
    expect(eventType({ "langfuse.observation.model.name": "m" })).toBe("generation-create");
    expect(eventType({ "ai.model.id": "m" })).toBe("span-create");
    expect(eventType({ model: [] })).toBe("span-create");
  });
});
