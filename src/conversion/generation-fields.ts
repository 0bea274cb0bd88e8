/**
 * Mapping spec §8: observation name, model, prompt reference and completion start time.
 */
import type { AttributeMap } from "./attributes.js";
import { isoFromMillis } from "./ids-and-times.js";
import type { ObservationType } from "./observation-type.js";
import type { SpanContext } from "./span-context.js";
import { isPlainObject, parseIfJsonString, parseJson, stringOrJsonText, toFiniteNumber } from "./values.js";

/**
 * The observation name, also a root trace's fallback name: tool name, Genkit name, Logfire
 * message, Vercel tool-call name, Vercel operation (prefixed by its function id), span name.
 */
export function observationName(span: SpanContext): string | undefined {
  const attrs = span.attributes;
  const toolName = attrs.get("gen_ai.tool.name");
  if (toolName) return stringOrJsonText(toolName);
  if (attrs.has("genkit:name")) return stringOrJsonText(attrs.get("genkit:name"));
  const logfireMessage = attrs.get("logfire.msg");
  if (logfireMessage) return stringOrJsonText(logfireMessage);
  if (attrs.has("ai.toolCall.name")) return stringOrJsonText(attrs.get("ai.toolCall.name"));
  if (attrs.has("ai.operationId")) {
    const operationId = stringOrJsonText(attrs.get("ai.operationId"));
    const functionId = attrs.get("ai.telemetry.functionId");
    return functionId ? `${stringOrJsonText(functionId)}:${operationId}` : operationId;
  }
  return span.name;
}

/** Vercel AI SDK agent spans describe a loop over many model calls, not one call. */
export function isAgentLoopSpan(attrs: AttributeMap): boolean {
  const operation = attrs.get("gen_ai.operation.name");
  return operation === "invoke_agent" || operation === "agent_step";
}

const MODEL_KEYS = [
  "langfuse.observation.model.name",
  "gen_ai.response.model",
  "ai.model.id",
  "gen_ai.request.model",
  "llm.response.model",
  "llm.model_name",
  "model",
];

/** The model name, or undefined (key left out) when there is none or the span is an agent loop. */
export function observationModel(attrs: AttributeMap): string | undefined {
  if (isAgentLoopSpan(attrs)) return undefined;
  for (const key of MODEL_KEYS) {
    const value = attrs.get(key);
    if (value) return stringOrJsonText(value);
  }
  if (attrs.get("genkit:metadata:subtype") === "model") {
    const genkitName = attrs.get("genkit:name");
    if (genkitName) return stringOrJsonText(genkitName);
  }
  return undefined;
}

export interface PromptReference {
  promptName: unknown;
  promptVersion: unknown;
}

const NO_PROMPT: PromptReference = { promptName: null, promptVersion: null };

/**
 * Generations only. The raw attribute type is kept, so a string version reaches the schema as a
 * string and fails there, as in Langfuse (case 44).
 */
export function promptReference(attrs: AttributeMap, type: ObservationType): PromptReference {
  if (type !== "GENERATION") return NO_PROMPT;
  let vercelPrompt: Record<string, unknown> | undefined;
  const raw = attrs.get("ai.telemetry.metadata.langfusePrompt");
  if (raw !== undefined) {
    const parsed = parseIfJsonString(raw);
    if (isPlainObject(parsed)) vercelPrompt = parsed;
  }
  return {
    promptName: attrs.get("langfuse.observation.prompt.name") ?? attrs.get("langfuse.prompt.name") ?? vercelPrompt?.name ?? null,
    promptVersion:
      attrs.get("langfuse.observation.prompt.version") ?? attrs.get("langfuse.prompt.version") ?? vercelPrompt?.version ?? null,
  };
}

function isValidDate(value: string | number): boolean {
  return !Number.isNaN(new Date(value).getTime());
}

/**
 * An explicit time that `new Date()` accepts is passed through as given (a number stays a number,
 * as in Langfuse); a JSON-encoded date string is unwrapped. Otherwise the Vercel AI SDK's
 * milliseconds-to-first-chunk, rounded up, is added to the span start.
 */
export function completionStartTime(attrs: AttributeMap, startMs: number): unknown {
  const explicit = attrs.get("langfuse.observation.completion_start_time");
  if (typeof explicit === "number" && isValidDate(explicit)) return explicit;
  if (typeof explicit === "string") {
    if (isValidDate(explicit)) return explicit;
    const parsed = parseJson(explicit);
    if (parsed.ok && typeof parsed.value === "string" && isValidDate(parsed.value)) return parsed.value;
  }
  const msToFirstChunk = toFiniteNumber(attrs.get("ai.response.msToFirstChunk") ?? attrs.get("ai.stream.msToFirstChunk"));
  if (msToFirstChunk !== undefined) {
    const ms = startMs + Math.ceil(msToFirstChunk);
    if (!Number.isNaN(new Date(ms).getTime())) return isoFromMillis(ms);
  }
  return null;
}
