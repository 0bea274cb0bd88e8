/**
 * Mapping spec §6: where an observation's (and a root trace's) input and output come from.
 *
 * The sources are tried in a fixed order and the first that yields something ends the search.
 * Values are taken raw — a JSON string stays a string — except where a step says it parses.
 */
import type { AttributeMap } from "./attributes.js";
import { reconstructFlattened } from "./flattened-messages.js";
import { otelGenAiInputOutput, withSystemInstructions, type InputOutput } from "./genai-messages.js";
import type { SpanEventContext } from "./span-context.js";
import { isPlainObject, mapToObject, parseIfJsonString, parseJson, setOwn } from "./values.js";

export type { InputOutput } from "./genai-messages.js";

export type IODomain = "observation" | "trace";

/** Span event names that can feed input/output; every other event is ignored (§1). */
export const INPUT_OUTPUT_EVENT_NAMES: ReadonlySet<string> = new Set([
  "gen_ai.client.inference.operation.details",
  "gen_ai.system.message",
  "gen_ai.user.message",
  "gen_ai.assistant.message",
  "gen_ai.tool.message",
  "gen_ai.choice",
  "gen_ai.content.prompt",
  "gen_ai.content.completion",
]);

const MESSAGE_EVENT_ROLES: ReadonlyMap<string, string> = new Map([
  ["gen_ai.system.message", "system"],
  ["gen_ai.user.message", "user"],
  ["gen_ai.assistant.message", "assistant"],
  ["gen_ai.tool.message", "tool"],
]);

const NOTHING: InputOutput = { input: null, output: null };

export interface InputOutputSource {
  readonly attributes: AttributeMap;
  readonly events: readonly SpanEventContext[];
  readonly scopeName: string | undefined;
}

/**
 * Input/output for the observation domain, or for a root trace (domain "trace"): a root trace
 * takes truthy `langfuse.trace.input`/`output` first and otherwise exactly what the observation
 * gets, so a caller that already has the observation's result can pass it to avoid a second walk.
 */
export function extractInputOutput(source: InputOutputSource, domain: IODomain, observationResult?: InputOutput): InputOutput {
  if (domain === "trace") {
    const attrs = source.attributes;
    const traceInput = attrs.get("langfuse.trace.input");
    const traceOutput = attrs.get("langfuse.trace.output");
    if (traceInput || traceOutput) {
      // Step 1 with trace overrides; it stops here because at least one value is non-null.
      return {
        input: traceInput || attrs.get("langfuse.observation.input"),
        output: traceOutput || attrs.get("langfuse.observation.output"),
      };
    }
  }
  return observationResult ?? observationInputOutput(source);
}

function observationInputOutput(source: InputOutputSource): InputOutput {
  const { attributes: attrs, events, scopeName } = source;

  // 1. Langfuse's own attributes; even an empty string counts as "set".
  const langfuseInput = attrs.get("langfuse.observation.input");
  const langfuseOutput = attrs.get("langfuse.observation.output");
  if (langfuseInput != null || langfuseOutput != null) return { input: langfuseInput, output: langfuseOutput };

  // 2.–3. Frameworks identified by scope always end the search.
  if (scopeName === "genkit-tracer") return genkitInputOutput(attrs);
  if (scopeName === "ai") return vercelAiInputOutput(attrs);

  // 4. Flue.
  if (scopeName === "@flue/opentelemetry") {
    const flue = flueInputOutput(attrs);
    if (flue.input != null || flue.output != null) return flue;
  }

  if (events.length > 0) {
    const fromEvents = eventsInputOutput(source);
    if (fromEvents !== undefined) return fromEvents;
  }

  // 8.–17. Attribute pairs; "yields" means a truthy input or output.
  for (const step of ATTRIBUTE_STEPS) {
    const result = step(attrs, scopeName);
    if (result !== undefined && (result.input || result.output)) return result;
  }

  // 18.–19. Flattened message lists.
  for (const [inputBase, outputBase] of FLATTENED_BASES) {
    const input = reconstructFlattened(attrs, inputBase);
    const output = reconstructFlattened(attrs, outputBase);
    if (input != null || output != null) return { input, output };
  }

  // 20. OTel GenAI messages, then tool call arguments/result.
  const genAi = otelGenAiInputOutput(attrs);
  if (genAi.input != null || genAi.output != null) return genAi;

  // 21.
  return NOTHING;
}

/** Steps 5–7: GenAI span events. Undefined when none of them is present. */
function eventsInputOutput(source: InputOutputSource): InputOutput | undefined {
  const { events, scopeName } = source;

  // 5. The inference-details event carries the step-20 attributes.
  const details = events.find((e) => e.name === "gen_ai.client.inference.operation.details");
  if (details !== undefined) {
    const result = otelGenAiInputOutput(details.attributes);
    if (result.input != null || result.output != null) return result;
  }

  // 6. One event per message; choices are the output, a single choice unwrapped.
  const messages: Array<Record<string, unknown>> = [];
  const choices: Array<Record<string, unknown>> = [];
  for (const event of events) {
    const role = MESSAGE_EVENT_ROLES.get(event.name);
    if (role !== undefined) {
      const message: Record<string, unknown> = { role };
      for (const [key, value] of event.attributes) setOwn(message, key, value);
      messages.push(message);
    } else if (event.name === "gen_ai.choice") {
      choices.push(mapToObject(event.attributes));
    }
  }
  if (messages.length > 0 || choices.length > 0) {
    return {
      input: messages.length > 0 ? messages : undefined,
      output: choices.length === 0 ? undefined : choices.length === 1 ? choices[0] : choices,
    };
  }

  // 7. Semantic Kernel's legacy events: each event's attributes run through the chain again.
  const prompt = events.find((e) => e.name === "gen_ai.content.prompt");
  const completion = events.find((e) => e.name === "gen_ai.content.completion");
  if (prompt !== undefined || completion !== undefined) {
    return {
      input: prompt === undefined ? undefined : legacyEventValue(prompt, scopeName, "input"),
      output: completion === undefined ? undefined : legacyEventValue(completion, scopeName, "output"),
    };
  }
  return undefined;
}

function legacyEventValue(event: SpanEventContext, scopeName: string | undefined, side: keyof InputOutput): unknown {
  const nested = observationInputOutput({ attributes: event.attributes, events: [], scopeName });
  return nested[side] ?? mapToObject(event.attributes);
}

/** Step 2: Genkit's JSON payloads; input prefers `messages`, output prefers `message`. */
function genkitInputOutput(attrs: AttributeMap): InputOutput {
  const input = parseIfJsonString(attrs.get("genkit:input"));
  const output = parseIfJsonString(attrs.get("genkit:output"));
  return {
    input: isPlainObject(input) && input.messages != null ? input.messages : input,
    output: isPlainObject(output) && output.message != null ? output.message : output,
  };
}

const VERCEL_OUTPUT_FALLBACK_KEYS = [
  "ai.result.text",
  "ai.toolCall.result",
  "ai.response.object",
  "ai.result.object",
  "ai.response.toolCalls",
  "ai.result.toolCalls",
];

/** Step 3: the Vercel AI SDK; gaps are filled from the OTel GenAI attributes. */
function vercelAiInputOutput(attrs: AttributeMap): InputOutput {
  const input = attrs.get("ai.prompt.messages") ?? attrs.get("ai.prompt") ?? attrs.get("ai.toolCall.args");

  const text = attrs.get("ai.response.text");
  const toolCalls = attrs.get("ai.response.toolCalls");
  let output: unknown;
  if (text !== undefined && toolCalls !== undefined) {
    // Text and tool calls together form one assistant message.
    output = JSON.stringify({ role: "assistant", content: text, tool_calls: toolCalls });
  } else {
    output = text || undefined;
    for (const key of VERCEL_OUTPUT_FALLBACK_KEYS) {
      if (output !== undefined) break;
      output = attrs.get(key);
    }
  }

  if (input == null || output == null) {
    const genAi = otelGenAiInputOutput(attrs);
    return { input: input ?? genAi.input, output: output ?? genAi.output };
  }
  return { input, output };
}

/** Step 4: Flue's payload attributes, parsed when they are JSON. */
function flueInputOutput(attrs: AttributeMap): InputOutput {
  const input = firstPresent(attrs, ["flue.turn.input", "flue.tool.arguments", "flue.task.prompt", "flue.workflow.payload"]);
  const output = firstPresent(attrs, [
    "flue.turn.output",
    "flue.tool.result",
    "flue.task.result",
    "flue.operation.result",
    "flue.workflow.result",
  ]);
  return { input: flueValue(input), output: flueValue(output) };
}

/**
 * JSON text becomes its value unless that value is null (then the text itself stays), other values
 * stay as they are, and a missing one is null: Flue spans always carry both keys.
 */
function flueValue(value: unknown): unknown {
  if (typeof value === "string") {
    const parsed = parseJson(value);
    return parsed.ok && parsed.value !== null ? parsed.value : value;
  }
  return value ?? null;
}

function firstPresent(attrs: AttributeMap, keys: readonly string[]): unknown {
  for (const key of keys) {
    const value = attrs.get(key);
    if (value !== undefined) return value;
  }
  return undefined;
}

type AttributeStep = (attrs: AttributeMap, scopeName: string | undefined) => InputOutput | undefined;

function pair(inputKey: string, outputKey: string): AttributeStep {
  return (attrs) => ({ input: attrs.get(inputKey), output: attrs.get(outputKey) });
}

/** Vertex AI agent spans carry "{}" when a request/response is really a tool call. */
function isEmptyVertexPayload(value: unknown): boolean {
  return value == null || value === "" || value === "{}";
}

/** Steps 8–17 in order. */
const ATTRIBUTE_STEPS: readonly AttributeStep[] = [
  // 8. Google ADK / Vertex AI agent.
  (attrs) => {
    const request = attrs.get("gcp.vertex.agent.llm_request");
    const response = attrs.get("gcp.vertex.agent.llm_response");
    return {
      input: isEmptyVertexPayload(request) ? attrs.get("gcp.vertex.agent.tool_call_args") : request,
      output: isEmptyVertexPayload(response) ? attrs.get("gcp.vertex.agent.tool_response") : response,
    };
  },
  // 9. Logfire.
  pair("prompt", "all_messages_events"),
  // 10. LiveKit.
  (attrs) => ({
    input: attrs.get("lk.input_text") ?? attrs.get("lk.user_transcript") ?? attrs.get("lk.chat_ctx"),
    output: attrs.get("lk.function_tool.output") || attrs.get("lk.response.text"),
  }),
  // 11. Logfire's `events` list: the gen_ai.choice element is the output, the rest the input.
  (attrs) => {
    const events = parseIfJsonString(attrs.get("events"));
    if (!Array.isArray(events)) return undefined;
    const isChoice = (e: unknown): boolean => isPlainObject(e) && e["event.name"] === "gen_ai.choice";
    return { input: events.filter((e) => !isChoice(e)), output: events.find(isChoice) };
  },
  // 12. MLflow.
  pair("mlflow.spanInputs", "mlflow.spanOutputs"),
  // 13. OpenLLMetry / Traceloop.
  pair("traceloop.entity.input", "traceloop.entity.output"),
  // 14. OpenInference / smolagents; before llm.input_messages.* on purpose.
  pair("input.value", "output.value"),
  // 15. Pydantic / Pipecat.
  pair("input", "output"),
  // 16. pydantic-ai.
  (attrs, scopeName) =>
    scopeName === "pydantic-ai"
      ? {
          input: withSystemInstructions(attrs.get("pydantic_ai.all_messages"), attrs.get("gen_ai.system_instructions")),
          output: attrs.get("final_result"),
        }
      : undefined,
  // 17.
  pair("tool_arguments", "tool_response"),
];

const FLATTENED_BASES: ReadonlyArray<readonly [string, string]> = [
  ["gen_ai.prompt", "gen_ai.completion"],
  ["llm.input_messages", "llm.output_messages"],
];
