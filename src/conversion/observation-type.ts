/**
 * Mapping spec §5: the observation type, decided by a prioritised list of mappers.
 *
 * A mapper has two parts because "applies but yields nothing" must fall through to the next
 * mapper (e.g. `langfuse.observation.type:"GENERATION"` applies to the explicit mapper, maps to
 * nothing, and the model fallback may still make it a generation).
 */
import type { AttributeMap } from "./attributes.js";
import type { SpanContext } from "./span-context.js";
import { isMeaningful } from "./values.js";

export type ObservationType =
  | "SPAN"
  | "GENERATION"
  | "EVENT"
  | "EMBEDDING"
  | "AGENT"
  | "TOOL"
  | "CHAIN"
  | "RETRIEVER"
  | "GUARDRAIL"
  | "EVALUATOR";

interface TypeMapper {
  readonly name: string;
  applies(span: SpanContext): boolean;
  map(span: SpanContext): ObservationType | undefined;
}

/** Looks a value up only when it is a string; Maps avoid hits on inherited names like "constructor". */
function lookup(table: ReadonlyMap<string, ObservationType>, value: unknown): ObservationType | undefined {
  return typeof value === "string" ? table.get(value) : undefined;
}

function meaningful(attrs: AttributeMap, key: string): boolean {
  return isMeaningful(attrs.get(key));
}

function anyMeaningful(attrs: AttributeMap, keys: readonly string[]): boolean {
  for (const key of keys) if (isMeaningful(attrs.get(key))) return true;
  return false;
}

// Explicit Langfuse types: lower case only, so "GENERATION" maps to nothing and falls through.
const EXPLICIT_TYPES: ReadonlyMap<string, ObservationType> = new Map([
  ["span", "SPAN"],
  ["generation", "GENERATION"],
  ["event", "EVENT"],
  ["embedding", "EMBEDDING"],
  ["agent", "AGENT"],
  ["tool", "TOOL"],
  ["chain", "CHAIN"],
  ["retriever", "RETRIEVER"],
  ["guardrail", "GUARDRAIL"],
  ["evaluator", "EVALUATOR"],
]);

// OpenInference span kinds: upper case only; RERANKER, UNKNOWN, … fall through.
const OPENINFERENCE_KINDS: ReadonlyMap<string, ObservationType> = new Map([
  ["CHAIN", "CHAIN"],
  ["RETRIEVER", "RETRIEVER"],
  ["LLM", "GENERATION"],
  ["EMBEDDING", "EMBEDDING"],
  ["AGENT", "AGENT"],
  ["TOOL", "TOOL"],
  ["GUARDRAIL", "GUARDRAIL"],
  ["EVALUATOR", "EVALUATOR"],
]);

const GENAI_OPERATIONS: ReadonlyMap<string, ObservationType> = new Map([
  ["chat", "GENERATION"],
  ["completion", "GENERATION"],
  ["text_completion", "GENERATION"],
  ["generate_content", "GENERATION"],
  ["generate", "GENERATION"],
  ["embeddings", "EMBEDDING"],
  ["invoke_agent", "AGENT"],
  ["create_agent", "AGENT"],
  ["execute_tool", "TOOL"],
]);

const GENKIT_SUBTYPES: ReadonlyMap<string, ObservationType> = new Map([
  ["model", "GENERATION"],
  ["background-model", "GENERATION"],
  ["embedder", "EMBEDDING"],
  ["tool", "TOOL"],
  ["tool.v2", "TOOL"],
  ["retriever", "RETRIEVER"],
  ["evaluator", "EVALUATOR"],
]);

const VERCEL_GENERATION_OPERATIONS: ReadonlyMap<string, ObservationType> = new Map([
  ["ai.generateText.doGenerate", "GENERATION"],
  ["ai.streamText.doStream", "GENERATION"],
  ["ai.generateObject.doGenerate", "GENERATION"],
  ["ai.streamObject.doStream", "GENERATION"],
  ["ai.embedMany.doEmbed", "EMBEDDING"],
  ["ai.embed.doEmbed", "EMBEDDING"],
]);

const VERCEL_MODEL_KEYS = ["langfuse.observation.model.name", "ai.model.id", "gen_ai.request.model", "gen_ai.response.model"];

/** `ai.model.id` is deliberately absent: it alone does not make a generation. */
const MODEL_FALLBACK_KEYS = [
  "langfuse.observation.model.name",
  "gen_ai.request.model",
  "gen_ai.response.model",
  "llm.model_name",
  "model",
];

const PYTHON_SDK_GENERATION_HINTS = [
  "langfuse.observation.model.name",
  "langfuse.observation.cost_details",
  "langfuse.observation.usage_details",
  "langfuse.observation.completion_start_time",
  "langfuse.observation.model.parameters",
  "langfuse.observation.prompt.name",
  "langfuse.observation.prompt.version",
];

/** The Vercel AI SDK operation that `operation.name` starts with or `ai.operationId` equals. */
function vercelGenerationOperation(attrs: AttributeMap): ObservationType | undefined {
  const operationName = attrs.get("operation.name");
  if (typeof operationName === "string") {
    for (const [operation, type] of VERCEL_GENERATION_OPERATIONS) {
      if (operationName.startsWith(operation)) return type;
    }
  }
  return lookup(VERCEL_GENERATION_OPERATIONS, attrs.get("ai.operationId"));
}

/** Python SDK ≤ 3.3 sent generations as type "span"; a missing or unreadable version counts as old. */
function isPythonSdkAtMost33(version: unknown): boolean {
  if (typeof version !== "string") return true;
  const [majorText = "", minorText = ""] = version.split(".");
  const major = Number.parseInt(majorText, 10);
  const minor = Number.parseInt(minorText, 10);
  if (Number.isNaN(major)) return true;
  return major < 3 || (major === 3 && (Number.isNaN(minor) || minor <= 3));
}

const LIVEKIT_TYPES_BY_SPAN_NAME: ReadonlyMap<string, ObservationType> = new Map([
  ["agent_turn", "AGENT"],
  ["start_agent_activity", "AGENT"],
  ["function_tool", "TOOL"],
]);

/** Priority order is the array order (§5 table, prio 0 first). */
const MAPPERS: readonly TypeMapper[] = [
  {
    name: "python-sdk-legacy-generation",
    applies: (s) =>
      s.attributes.get("langfuse.observation.type") === "span" &&
      s.scope.name === "langfuse-sdk" &&
      s.resource.attributes.get("telemetry.sdk.language") === "python",
    map: (s) =>
      isPythonSdkAtMost33(s.scope.version) && PYTHON_SDK_GENERATION_HINTS.some((k) => s.attributes.get(k) != null)
        ? "GENERATION"
        : undefined,
  },
  {
    name: "explicit",
    applies: (s) => meaningful(s.attributes, "langfuse.observation.type"),
    map: (s) => lookup(EXPLICIT_TYPES, s.attributes.get("langfuse.observation.type")),
  },
  {
    name: "openinference",
    applies: (s) => meaningful(s.attributes, "openinference.span.kind"),
    map: (s) => lookup(OPENINFERENCE_KINDS, s.attributes.get("openinference.span.kind")),
  },
  {
    name: "otel-genai",
    applies: (s) => meaningful(s.attributes, "gen_ai.operation.name"),
    map: (s) => lookup(GENAI_OPERATIONS, s.attributes.get("gen_ai.operation.name")),
  },
  {
    name: "genkit",
    applies: (s) => meaningful(s.attributes, "genkit:metadata:subtype"),
    map: (s) => lookup(GENKIT_SUBTYPES, s.attributes.get("genkit:metadata:subtype")),
  },
  {
    name: "vercel-ai-generation",
    applies: (s) => anyMeaningful(s.attributes, VERCEL_MODEL_KEYS) && vercelGenerationOperation(s.attributes) !== undefined,
    map: (s) => vercelGenerationOperation(s.attributes),
  },
  {
    name: "vercel-ai-span",
    applies: (s) => {
      const operationName = s.attributes.get("operation.name");
      const operationId = s.attributes.get("ai.operationId");
      return (
        (typeof operationName === "string" && operationName.startsWith("ai.")) ||
        (typeof operationId === "string" && operationId.startsWith("ai."))
      );
    },
    map: (s) => {
      const operationName = s.attributes.get("operation.name");
      const isToolCall =
        (typeof operationName === "string" && operationName.startsWith("ai.toolCall")) ||
        s.attributes.get("ai.operationId") === "ai.toolCall";
      return isToolCall ? "TOOL" : undefined;
    },
  },
  {
    name: "genai-tool",
    applies: (s) => anyMeaningful(s.attributes, ["gen_ai.tool.name", "gen_ai.tool.call.id"]),
    map: () => "TOOL",
  },
  {
    name: "flue",
    applies: (s) => anyMeaningful(s.attributes, ["flue.tool.name", "flue.tool.call_id", "flue.task.id", "flue.task.agent"]),
    map: (s) => (anyMeaningful(s.attributes, ["flue.tool.name", "flue.tool.call_id"]) ? "TOOL" : "AGENT"),
  },
  {
    name: "livekit",
    applies: (s) => s.scope.name === "livekit-agents",
    map: (s) => lookup(LIVEKIT_TYPES_BY_SPAN_NAME, s.name),
  },
  {
    name: "model-fallback",
    applies: (s) => anyMeaningful(s.attributes, MODEL_FALLBACK_KEYS),
    map: () => "GENERATION",
  },
];

export function mapObservationType(span: SpanContext): ObservationType {
  for (const mapper of MAPPERS) {
    if (!mapper.applies(span)) continue;
    const type = mapper.map(span);
    if (type !== undefined) return type;
  }
  return "SPAN";
}

/** `generation-create`, `span-create`, …: the ingestion event type of an observation type. */
export function observationEventType(type: ObservationType): string {
  return `${type.toLowerCase()}-create`;
}
