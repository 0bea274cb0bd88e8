/**
 * Mapping spec §8.2: usageDetails and costDetails.
 *
 * Raw values are produced here; the ingestion schema (applied later by `validate`) keeps only
 * non-negative integers for usage and non-negative numbers for cost.
 */
import type { AttributeMap } from "./attributes.js";
import { isAgentLoopSpan } from "./generation-fields.js";
import { parseJson, setOwn } from "./values.js";

type Usage = Record<string, unknown>;

/**
 * `langfuse.observation.usage_details` / `cost_details`: absent or falsy falls through; another
 * attribute type gives `{}`; JSON text that is a plain object is used verbatim, other JSON gives
 * `{}`, and invalid JSON falls through.
 */
function explicitDetails(attrs: AttributeMap, key: string): Usage | undefined {
  const raw = attrs.get(key);
  if (!raw) return undefined;
  if (typeof raw !== "string") return {};
  const parsed = parseJson(raw);
  if (!parsed.ok) return undefined;
  return isJsonObject(parsed.value) ? parsed.value : {};
}

export function usageDetails(attrs: AttributeMap, scopeName: string | undefined): Usage {
  if (isAgentLoopSpan(attrs)) return {};
  const explicit = explicitDetails(attrs, "langfuse.observation.usage_details");
  if (explicit !== undefined) return explicit;

  if (scopeName === "genkit-tracer") {
    const genkit = genkitUsage(attrs);
    if (genkit !== undefined) return genkit;
  }
  if (scopeName === "ai") {
    try {
      return vercelUsage(attrs);
    } catch {
      // Unreadable counts or provider metadata: Langfuse falls back to the generic rule too.
    }
  }
  if (scopeName === "gcp.vertex.agent" && attrs.has("gcp.vertex.agent.llm_response")) {
    return vertexUsage(attrs);
  }
  // pydantic-ai uses the generic rule "if non-empty", and the generic rule is also the fallback,
  // so every remaining scope ends here.
  return genericUsage(attrs);
}

export function costDetails(attrs: AttributeMap): Usage {
  if (isAgentLoopSpan(attrs)) return {};
  const explicit = explicitDetails(attrs, "langfuse.observation.cost_details");
  if (explicit !== undefined) return explicit;
  const genAiCost = attrs.get("gen_ai.usage.cost");
  if (genAiCost != null && genAiCost !== "") return { total: genAiCost };
  const openInferenceCost = attrs.get("llm.cost.total");
  if (openInferenceCost != null && openInferenceCost !== "") return { total: openInferenceCost };
  return {};
}

// The provider-specific rules below keep Langfuse's JavaScript semantics on purpose, because
// users compare token counts with what Langfuse's own endpoint shows: counts are combined with
// JavaScript arithmetic (a numeric string counts as its number, anything else makes NaN, which
// validation later drops), `??=` keeps the first non-null value, and a missing count stays a key
// whose value is undefined until the end (never written out), so keys come out in Langfuse's order.

/** A JSON object (arrays excluded), as Langfuse's plain-object check sees one. */
function isJsonObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** `value[key]` for a JSON value; own properties only, so nothing is read from a prototype. */
function member(value: unknown, key: string): unknown {
  return typeof value === "object" && value !== null && Object.hasOwn(value, key) ? (value as Record<string, unknown>)[key] : undefined;
}

/** `value[key]` where JavaScript would throw a TypeError (on null or undefined): the rule gives up. */
function memberOrThrow(value: unknown, key: string): unknown {
  if (value === null || value === undefined) throw new TypeError(`cannot read ${key}`);
  return member(value, key);
}

/** JavaScript's `key in value`, which throws for anything that is not an object. */
function hasKeyOrThrow(value: unknown, key: string): boolean {
  if (typeof value !== "object" || value === null) throw new TypeError(`cannot look for ${key}`);
  return Object.hasOwn(value, key);
}

/** The number JavaScript's `a - b` reads from a JSON value (`null` and `undefined` after `?? 0` are 0). */
function arithmetic(value: unknown): number {
  return Number(value ?? 0);
}

/** `target[key] ??= value`, as an own property. */
function assignIfNullish(target: Usage, key: string, value: unknown): void {
  if (target[key] === undefined || target[key] === null) target[key] = value;
}

// --- Genkit ---------------------------------------------------------------------------------

/** `usage` of `genkit:output` (object or JSON text); undefined when there is none (falsy). */
function genkitUsage(attrs: AttributeMap): Usage | undefined {
  const raw = attrs.get("genkit:output");
  const output = typeof raw === "string" ? parseJsonOrUndefined(raw) : raw;
  const usage = member(output, "usage");
  if (!usage) return undefined;
  const input = member(usage, "inputTokens");
  const thoughts = member(usage, "thoughtsTokens");
  const outputTokens = member(usage, "outputTokens");
  const total = member(usage, "totalTokens");
  const result: Usage = {};
  if (input) result.input = input;
  // Gemini counts thinking tokens inside the output; they are reported separately.
  if (outputTokens) result.output = Math.max(arithmetic(outputTokens) - arithmetic(thoughts), 0);
  if (total) result.total = total;
  if (thoughts) result.output_reasoning = thoughts;
  return result;
}

function parseJsonOrUndefined(text: string): unknown {
  const parsed = parseJson(text);
  return parsed.ok ? parsed.value : undefined;
}

// --- Vercel AI SDK ---------------------------------------------------------------------------

/** `parseInt(String(value ?? "0"))` of an attribute when present, as Langfuse reads AI SDK counts. */
function countAttribute(attrs: AttributeMap, key: string): number | undefined {
  if (!attrs.has(key)) return undefined;
  const value = attrs.get(key);
  return Number.parseInt(value === undefined || value === null ? "0" : String(value));
}

/** JSON text (or a number) → its value; throws on anything else, which sends the span to the generic rule. */
function parseOrThrow(value: unknown): unknown {
  const parsed = parseJson(String(value));
  if (!parsed.ok) throw new SyntaxError("not JSON");
  return parsed.value;
}

/** `ai.usage.cachedInputTokens` / `ai.usage.reasoningTokens`: a JSON number, or an object's `intValue`. */
function aiUsageCount(attrs: AttributeMap, key: string): unknown {
  const parsed = parseOrThrow(attrs.get(key));
  return typeof parsed === "number" ? parsed : memberOrThrow(parsed, "intValue");
}

/**
 * Input/output/total from the OTel GenAI and AI SDK attributes, cache and reasoning counts from
 * `ai.usage.*` and then the provider metadata (OpenAI, Anthropic, Bedrock), the first value of a
 * key winning. Input excludes every cache count except Bedrock's cache writes, and output excludes
 * reasoning, because Langfuse prices each usage key separately.
 */
function vercelUsage(attrs: AttributeMap): Usage {
  // The older `prompt_tokens` / `completion_tokens` win when both spellings are present.
  const details: Usage = {
    input: countAttribute(attrs, "gen_ai.usage.prompt_tokens") ?? countAttribute(attrs, "gen_ai.usage.input_tokens"),
    output: countAttribute(attrs, "gen_ai.usage.completion_tokens") ?? countAttribute(attrs, "gen_ai.usage.output_tokens"),
    total: countAttribute(attrs, "ai.usage.tokens"),
  };

  if (attrs.has("ai.usage.cachedInputTokens")) details.input_cached_tokens = aiUsageCount(attrs, "ai.usage.cachedInputTokens");
  if (attrs.has("ai.usage.reasoningTokens")) details.output_reasoning_tokens = aiUsageCount(attrs, "ai.usage.reasoningTokens");

  const providerRaw = attrs.get("ai.response.providerMetadata");
  if (providerRaw) {
    const provider = parseOrThrow(providerRaw);
    if (hasKeyOrThrow(provider, "openai")) {
      const openai = member(provider, "openai");
      assignIfNullish(details, "input_cached_tokens", memberOrThrow(openai, "cachedPromptTokens"));
      assignIfNullish(details, "accepted_prediction_tokens", memberOrThrow(openai, "acceptedPredictionTokens"));
      assignIfNullish(details, "rejected_prediction_tokens", memberOrThrow(openai, "rejectedPredictionTokens"));
      assignIfNullish(details, "output_reasoning_tokens", memberOrThrow(openai, "reasoningTokens"));
    }
    if (hasKeyOrThrow(provider, "anthropic") && hasKeyOrThrow(member(provider, "anthropic"), "usage")) {
      const usage = member(member(provider, "anthropic"), "usage");
      assignIfNullish(details, "input_cache_creation", memberOrThrow(usage, "cache_creation_input_tokens"));
      assignIfNullish(details, "input_cached_tokens", memberOrThrow(usage, "cache_read_input_tokens"));
      const split = member(usage, "cache_creation");
      if (typeof split === "object" && split !== null) {
        const fiveMinutes = member(split, "ephemeral_5m_input_tokens");
        const oneHour = member(split, "ephemeral_1h_input_tokens");
        if (typeof fiveMinutes === "number") assignIfNullish(details, "input_cache_creation_5m", fiveMinutes);
        if (typeof oneHour === "number") assignIfNullish(details, "input_cache_creation_1h", oneHour);
        // The split is priced per TTL, so the aggregate keeps only what the split does not cover.
        details.input_cache_creation = Math.max(
          arithmetic(details.input_cache_creation) - arithmetic(details.input_cache_creation_5m) - arithmetic(details.input_cache_creation_1h),
          0,
        );
      }
    }
    if (hasKeyOrThrow(provider, "bedrock")) {
      const usage = memberOrThrow(member(provider, "bedrock"), "usage");
      if (usage) {
        for (const [from, to] of BEDROCK_USAGE) {
          const value = member(usage, from);
          if (value !== undefined) assignIfNullish(details, to, value);
        }
      }
    }
  }

  details.input = Math.max(
    arithmetic(details.input) -
      arithmetic(details.input_cached_tokens) -
      arithmetic(details.input_cache_creation) -
      arithmetic(details.input_cache_creation_5m) -
      arithmetic(details.input_cache_creation_1h) -
      arithmetic(details.input_cache_read),
    0,
  );
  details.output = Math.max(arithmetic(details.output) - arithmetic(details.output_reasoning_tokens), 0);
  // Keys that stayed undefined are never written out; their places above kept the order of the rest.
  for (const key of Object.keys(details)) if (details[key] === undefined) delete details[key];
  return details;
}

/** Bedrock's usage keys; cache writes are priced apart from input and not taken out of it. */
const BEDROCK_USAGE: ReadonlyArray<[string, string]> = [
  ["cacheReadInputTokens", "input_cache_read"],
  ["cacheWriteInputTokens", "input_cache_write"],
  ["cacheCreationInputTokens", "input_cache_creation"],
];

// --- Vertex AI agent (Google ADK) -------------------------------------------------------------

/**
 * The generic rule, plus the cached-token count of the `llm_response` blob when the attributes
 * name none: prompt tokens include cached ones, so that count is taken out of the input.
 */
function vertexUsage(attrs: AttributeMap): Usage {
  const result = genericUsage(attrs);
  if (result.input_cached_tokens !== undefined) return result;
  const raw = attrs.get("gcp.vertex.agent.llm_response");
  const response = typeof raw === "string" ? parseJsonOrUndefined(raw) : raw;
  const cached = member(member(response, "usage_metadata"), "cached_content_token_count");
  if (typeof cached === "number" && !Number.isNaN(cached) && cached > 0) {
    result.input_cached_tokens = cached;
    if (result.input !== undefined) result.input = Math.max((result.input as number) - cached, 0);
  }
  return result;
}

// --- Generic: gen_ai.usage.* and llm.token_count.* --------------------------------------------

const INPUT_KEYS = ["prompt_tokens", "input_tokens", "prompt"];
const OUTPUT_KEYS = ["completion_tokens", "output_tokens", "completion"];
const TOTAL_KEYS = ["total_tokens", "total"];
const CACHE_READ_KEYS = [
  "cache_read.input_tokens",
  "cache_read_input_tokens",
  "cache_read_tokens",
  "details.cache_read_tokens",
  "details.cache_read_input_tokens",
  "prompt_details.cache_read",
  "input_cached_tokens",
];
const CACHE_CREATION_KEYS = [
  "cache_creation.input_tokens",
  "cache_creation_input_tokens",
  "cache_write_tokens",
  "details.cache_write_tokens",
  "details.cache_creation_input_tokens",
  "prompt_details.cache_write",
  "input_cache_creation",
];
// Reasoning and audio are included in the output count, so they are taken out of it.
const REASONING_KEYS = ["reasoning.output_tokens", "completion_details.reasoning"];
const AUDIO_KEYS = ["completion_details.audio"];

/** Names the named fields consume; any other name is passed through. */
const KNOWN_NAMES: ReadonlySet<string> = new Set([
  ...INPUT_KEYS,
  ...OUTPUT_KEYS,
  ...TOTAL_KEYS,
  ...CACHE_READ_KEYS,
  ...CACHE_CREATION_KEYS,
  ...REASONING_KEYS,
  ...AUDIO_KEYS,
]);

function first(counts: ReadonlyMap<string, number>, keys: readonly string[]): number | undefined {
  for (const key of keys) {
    const value = counts.get(key);
    if (value !== undefined) return value;
  }
  return undefined;
}

/**
 * The usage name of an attribute key, or undefined when the key is not a usage count. Langfuse
 * removes the first occurrence of each prefix wherever it stands, not only at the start.
 */
function usageName(key: string): string | undefined {
  if (!((key.startsWith("gen_ai.usage.") && key !== "gen_ai.usage.cost") || key.startsWith("llm.token_count."))) return undefined;
  return key.replace("gen_ai.usage.", "").replace("llm.token_count.", "");
}

/**
 * Usage from every `gen_ai.usage.*` (cost excluded) and `llm.token_count.*` attribute whose value
 * is a number (or numeric text). Unnamed counts pass through first (a `details.` prefix dropped),
 * then the named ones are set, input without the cache counts and output without reasoning and audio.
 */
function genericUsage(attrs: AttributeMap): Usage {
  const counts = new Map<string, number>();
  for (const [key, value] of attrs) {
    const name = usageName(key);
    // A `__proto__` key in Langfuse's plain object is lost; it is left out here.
    if (name === undefined || name === "__proto__") continue;
    const n = Number(value);
    if (!Number.isNaN(n)) counts.set(name, n);
  }

  const result: Usage = {};
  for (const [name, value] of counts) {
    if (KNOWN_NAMES.has(name)) continue;
    setOwn(result, name.startsWith("details.") ? name.slice("details.".length) : name, value);
  }
  const input = first(counts, INPUT_KEYS);
  const output = first(counts, OUTPUT_KEYS);
  const total = first(counts, TOTAL_KEYS);
  const cacheRead = first(counts, CACHE_READ_KEYS);
  const cacheCreation = first(counts, CACHE_CREATION_KEYS);
  const reasoning = first(counts, REASONING_KEYS);
  const audio = first(counts, AUDIO_KEYS);
  if (input !== undefined) result.input = Math.max(input - (cacheRead ?? 0) - (cacheCreation ?? 0), 0);
  if (output !== undefined) result.output = Math.max(output - (reasoning ?? 0) - (audio ?? 0), 0);
  if (total !== undefined) result.total = total;
  if (cacheRead !== undefined) result.input_cached_tokens = cacheRead;
  if (cacheCreation !== undefined) result.input_cache_creation = cacheCreation;
  if (reasoning !== undefined) result.output_reasoning_tokens = reasoning;
  if (audio !== undefined) result.output_audio_tokens = audio;
  return result;
}
