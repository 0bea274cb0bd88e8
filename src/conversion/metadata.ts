/**
 * Mapping spec §10: metadata of observations and traces.
 */
import type { AttributeMap } from "./attributes.js";
import type { SpanContext } from "./span-context.js";
import { assignOwn, parseJson, setOwn, toJsonText } from "./values.js";

export type MetadataDomain = "trace" | "observation";

const DOMAIN_PREFIX: Readonly<Record<MetadataDomain, string>> = {
  trace: "langfuse.trace.metadata",
  observation: "langfuse.observation.metadata",
};

const LEGACY_METADATA = "langfuse.metadata";
const LEGACY_METADATA_DOT = "langfuse.metadata.";
const AI_SDK_METADATA_DOT = "ai.telemetry.metadata.";

/** Vercel AI SDK metadata keys that feed trace properties (§9) and prompts (§8) instead. */
const AI_SDK_RESERVED: ReadonlySet<string> = new Set(["userId", "sessionId", "tags", "langfusePrompt"]);

/**
 * meta(attrs, domain): (a) the top-level metadata attribute (JSON text or array spread in; any
 * object, an array as keys "0", "1", …), then (b) every prefixed attribute as a flat
 * `suffix → raw value` entry, (b) overriding (a).
 */
export function domainMetadata(attrs: AttributeMap, domain: MetadataDomain): Record<string, unknown> {
  const prefix = DOMAIN_PREFIX[domain];
  const prefixDot = `${prefix}.`;
  const result: Record<string, unknown> = {};

  let top = attrs.get(prefix);
  if (!top) top = attrs.get(LEGACY_METADATA);
  if (typeof top === "string") {
    const parsed = parseJson(top);
    // Non-JSON text and JSON primitives carry no keys and are dropped.
    if (parsed.ok) assignOwn(result, parsed.value);
  } else {
    assignOwn(result, top);
  }

  for (const [key, value] of attrs) {
    let suffix: string;
    if (key.startsWith(prefixDot)) {
      suffix = key.slice(prefixDot.length);
    } else if (key.startsWith(LEGACY_METADATA_DOT)) {
      suffix = key.slice(LEGACY_METADATA_DOT.length);
    } else if (key.startsWith(AI_SDK_METADATA_DOT)) {
      suffix = key.slice(AI_SDK_METADATA_DOT.length);
      if (AI_SDK_RESERVED.has(suffix)) continue;
    } else {
      continue;
    }
    setOwn(result, suffix, value);
  }
  return result;
}

/**
 * Attributes that are input/output sources. They never appear in `metadata.attributes`, whether
 * or not this span actually used them (the list is static).
 */
const INPUT_OUTPUT_KEYS: ReadonlySet<string> = new Set([
  "langfuse.trace.input",
  "langfuse.trace.output",
  "langfuse.observation.input",
  "langfuse.observation.output",
  "ai.prompt.messages",
  "ai.prompt",
  "ai.toolCall.args",
  "ai.response.text",
  "ai.result.text",
  "ai.toolCall.result",
  "ai.response.object",
  "ai.result.object",
  "ai.response.toolCalls",
  "ai.result.toolCalls",
  "gcp.vertex.agent.llm_request",
  "gcp.vertex.agent.llm_response",
  "gcp.vertex.agent.tool_call_args",
  "gcp.vertex.agent.tool_response",
  "prompt",
  "all_messages_events",
  "events",
  "lk.input_text",
  "lk.user_transcript",
  "lk.chat_ctx",
  "lk.user_input",
  "lk.function_tool.output",
  "lk.response.text",
  "mlflow.spanInputs",
  "mlflow.spanOutputs",
  "traceloop.entity.input",
  "traceloop.entity.output",
  "input.value",
  "output.value",
  "final_result",
  "pydantic_ai.all_messages",
  "gen_ai.system_instructions",
  "input",
  "output",
  "gen_ai.input.messages",
  "gen_ai.output.messages",
  "gen_ai.tool.call.arguments",
  "gen_ai.tool.call.result",
  "genkit:input",
  "genkit:output",
  "flue.turn.input",
  "flue.tool.arguments",
  "flue.task.prompt",
  "flue.workflow.payload",
  "flue.turn.output",
  "flue.tool.result",
  "flue.task.result",
  "flue.operation.result",
  "flue.workflow.result",
]);

/** Flattened messages and metadata already surface elsewhere in the body. */
const EXCLUDED_PREFIXES: readonly string[] = [
  "gen_ai.prompt",
  "gen_ai.completion",
  "llm.input_messages",
  "llm.output_messages",
  "langfuse.trace.metadata",
  "langfuse.observation.metadata",
  "ai.telemetry.metadata",
];

function isExcludedFromAttributes(key: string): boolean {
  if (INPUT_OUTPUT_KEYS.has(key)) return true;
  for (const prefix of EXCLUDED_PREFIXES) if (key.startsWith(prefix)) return true;
  return false;
}

/** `metadata.attributes`: the remaining span attributes, non-strings as their JSON text. */
export function metadataAttributes(attrs: AttributeMap): Record<string, unknown> {
  const result: Record<string, unknown> = {};
  for (const [key, value] of attrs) {
    if (isExcludedFromAttributes(key)) continue;
    setOwn(result, key, typeof value === "string" ? value : toJsonText(value));
  }
  return result;
}

/** The per-span metadata parts, computed once and shared by the observation and trace bodies. */
export interface SpanMetadataParts {
  readonly span: SpanContext;
  /** meta(span attributes, "observation"). */
  readonly observation: Record<string, unknown>;
  /** `metadata.attributes`, or undefined for Langfuse SDK scopes. */
  readonly attributes: Record<string, unknown> | undefined;
}

export function spanMetadataParts(span: SpanContext): SpanMetadataParts {
  return {
    span,
    observation: domainMetadata(span.attributes, "observation"),
    attributes: span.scope.isLangfuseSdk ? undefined : metadataAttributes(span.attributes),
  };
}

/**
 * The structural keys come last so they overwrite user keys of the same name (case 63). Each body
 * gets its own copies of the structural objects: later stages may edit one event in place.
 */
function appendStructural(target: Record<string, unknown>, parts: SpanMetadataParts, withAttributes: boolean): void {
  if (withAttributes && parts.attributes !== undefined) target.attributes = { ...parts.attributes };
  target.resourceAttributes = { ...parts.span.resource.attributesObject };
  target.scope = { ...parts.span.scope.metadataObject };
}

/** resourceTraceMeta, meta(span, observation), attributes, resourceAttributes, scope. */
export function observationMetadata(parts: SpanMetadataParts): Record<string, unknown> {
  const metadata: Record<string, unknown> = {};
  assignOwn(metadata, parts.span.resource.traceMetadata);
  assignOwn(metadata, parts.observation);
  appendStructural(metadata, parts, true);
  return metadata;
}

/** resourceTraceMeta, meta(span, trace), meta(span, observation), attributes, resourceAttributes, scope. */
export function rootTraceMetadata(parts: SpanMetadataParts, traceMeta: Record<string, unknown>): Record<string, unknown> {
  const metadata: Record<string, unknown> = {};
  assignOwn(metadata, parts.span.resource.traceMetadata);
  assignOwn(metadata, traceMeta);
  assignOwn(metadata, parts.observation);
  appendStructural(metadata, parts, true);
  return metadata;
}

/** resourceTraceMeta, meta(span, trace), resourceAttributes, scope: no attributes, no observation metadata. */
export function traceUpdateMetadata(parts: SpanMetadataParts, traceMeta: Record<string, unknown>): Record<string, unknown> {
  const metadata: Record<string, unknown> = {};
  assignOwn(metadata, parts.span.resource.traceMetadata);
  assignOwn(metadata, traceMeta);
  appendStructural(metadata, parts, false);
  return metadata;
}
