/**
 * Mapping spec §8.2: usageDetails and costDetails.
 *
 * Raw values are produced here; the ingestion schema (applied later by `validate`) keeps only
 * non-negative integers for usage and non-negative numbers for cost.
 */
import type { AttributeMap } from "./attributes.js";
import { isAgentLoopSpan } from "./generation-fields.js";
import { isPlainObject, parseIfJsonString, parseJson, setOwn, toFiniteNumber } from "./values.js";

type Usage = Record<string, unknown>;

/** A JSON object text → the object; undefined when not JSON or not a plain object. */
function parseJsonObject(text: string): Record<string, unknown> | undefined {
  const parsed = parseJson(text);
  return parsed.ok && isPlainObject(parsed.value) ? parsed.value : undefined;
}

/**
 * `langfuse.observation.usage_details` / `cost_details`: a JSON object text is used verbatim,
 * another attribute type gives `{}`, and invalid JSON (or a non-object) falls through.
 */
function explicitDetails(attrs: AttributeMap, key: string): Usage | undefined {
  const raw = attrs.get(key);
  if (raw === undefined) return undefined;
  if (typeof raw !== "string") return {};
  return parseJsonObject(raw);
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
      // Unparsable provider metadata: Langfuse falls back to the generic rule too.
    }
  }
  if (scopeName === "gcp.vertex.agent" && attrs.get("gcp.vertex.agent.llm_response") != null) {
    return genericUsage(attrs, vertexCachedTokens(attrs));
  }
  // pydantic-ai uses the generic rule "if non-empty", and the generic rule is also the fallback,
  // so every remaining scope ends here.
  return genericUsage(attrs, undefined);
}

export function costDetails(attrs: AttributeMap): Usage {
  if (isAgentLoopSpan(attrs)) return {};
  const explicit = explicitDetails(attrs, "langfuse.observation.cost_details");
  if (explicit !== undefined) return explicit;
  const genAiCost = attrs.get("gen_ai.usage.cost");
  if (genAiCost != null) return { total: genAiCost };
  const openInferenceCost = attrs.get("llm.cost.total");
  if (openInferenceCost != null) return { total: openInferenceCost };
  return {};
}

// --- Genkit ---------------------------------------------------------------------------------

function genkitUsage(attrs: AttributeMap): Usage | undefined {
  const output = parseIfJsonString(attrs.get("genkit:output"));
  if (!isPlainObject(output) || !isPlainObject(output.usage)) return undefined;
  const usage = output.usage;
  const input = toFiniteNumber(usage.inputTokens);
  const outputTokens = toFiniteNumber(usage.outputTokens);
  const total = toFiniteNumber(usage.totalTokens);
  const thoughts = toFiniteNumber(usage.thoughtsTokens);
  const result: Usage = {};
  if (input !== undefined) result.input = input;
  // Gemini counts thinking tokens inside the output; they are reported separately.
  if (outputTokens !== undefined) result.output = Math.max(outputTokens - (thoughts ?? 0), 0);
  if (total !== undefined) result.total = total;
  if (thoughts !== undefined) result.output_reasoning = thoughts;
  return result;
}

// --- Vercel AI SDK ---------------------------------------------------------------------------

/** Number from an attribute that may hold JSON text; throws on invalid JSON (→ generic rule). */
function jsonNumber(value: unknown): number | undefined {
  if (value == null) return undefined;
  const parsed: unknown = typeof value === "string" ? JSON.parse(value) : value;
  return toFiniteNumber(parsed);
}

function numberAt(source: unknown, ...path: string[]): number | undefined {
  let node = source;
  for (const key of path) {
    if (!isPlainObject(node)) return undefined;
    node = node[key];
  }
  return toFiniteNumber(node);
}

/**
 * Input/output/total from the OTel GenAI and AI SDK attributes, cache and reasoning counts from
 * `ai.usage.*` and the provider metadata. Input excludes every cache count and output excludes
 * reasoning, because Langfuse prices each usage key separately. Always has input and output.
 */
function vercelUsage(attrs: AttributeMap): Usage {
  const input = toFiniteNumber(attrs.get("gen_ai.usage.prompt_tokens") ?? attrs.get("gen_ai.usage.input_tokens")) ?? 0;
  const output =
    toFiniteNumber(attrs.get("gen_ai.usage.completion_tokens") ?? attrs.get("gen_ai.usage.output_tokens")) ?? 0;
  const total = toFiniteNumber(attrs.get("ai.usage.tokens"));

  const cachedInputTokens = jsonNumber(attrs.get("ai.usage.cachedInputTokens"));
  const reasoningTokens = jsonNumber(attrs.get("ai.usage.reasoningTokens"));
  const providerRaw = attrs.get("ai.response.providerMetadata");
  const provider: unknown = typeof providerRaw === "string" ? JSON.parse(providerRaw) : providerRaw;

  const details: Usage = {};
  const put = (key: string, value: number | undefined): void => {
    if (value !== undefined && details[key] === undefined) details[key] = value;
  };

  const openai = isPlainObject(provider) ? provider.openai : undefined;
  const anthropic = isPlainObject(provider) ? provider.anthropic : undefined;
  const bedrock = isPlainObject(provider) ? provider.bedrock : undefined;

  put("input_cached_tokens", numberAt(openai, "cachedPromptTokens"));
  put("output_accepted_prediction_tokens", numberAt(openai, "acceptedPredictionTokens"));
  put("output_rejected_prediction_tokens", numberAt(openai, "rejectedPredictionTokens"));
  put("output_reasoning_tokens", reasoningTokens ?? numberAt(openai, "reasoningTokens"));

  put("input_cache_read", numberAt(anthropic, "cacheReadInputTokens"));
  const anthropic5m = numberAt(anthropic, "usage", "cache_creation", "ephemeral_5m_input_tokens");
  const anthropic1h = numberAt(anthropic, "usage", "cache_creation", "ephemeral_1h_input_tokens");
  if (anthropic5m !== undefined || anthropic1h !== undefined) {
    // The split replaces the aggregate, which would otherwise be counted (and priced) twice.
    put("input_cache_creation_5m", anthropic5m);
    put("input_cache_creation_1h", anthropic1h);
  } else {
    put("input_cache_creation", numberAt(anthropic, "cacheCreationInputTokens"));
  }

  put("input_cache_read", numberAt(bedrock, "usage", "cacheReadInputTokens") ?? numberAt(bedrock, "cacheReadInputTokens"));
  put(
    "input_cache_creation",
    numberAt(bedrock, "usage", "cacheWriteInputTokens") ??
      numberAt(bedrock, "usage", "cacheCreationInputTokens") ??
      numberAt(bedrock, "cacheWriteInputTokens") ??
      numberAt(bedrock, "cacheCreationInputTokens"),
  );

  // The SDK's provider-neutral cached count repeats a provider-specific one; count it only once.
  if (details.input_cached_tokens === undefined && details.input_cache_read === undefined) {
    put("input_cached_tokens", cachedInputTokens);
  }

  let cacheTotal = 0;
  for (const key of ["input_cached_tokens", "input_cache_read", "input_cache_creation", "input_cache_creation_5m", "input_cache_creation_1h"]) {
    cacheTotal += (details[key] as number | undefined) ?? 0;
  }
  const reasoning = (details.output_reasoning_tokens as number | undefined) ?? 0;

  const result: Usage = { input: Math.max(input - cacheTotal, 0), output: Math.max(output - reasoning, 0) };
  if (total !== undefined) result.total = total;
  for (const key of Object.keys(details)) result[key] = details[key];
  return result;
}

// --- Vertex AI agent (Google ADK) -------------------------------------------------------------

function vertexCachedTokens(attrs: AttributeMap): number | undefined {
  const response = parseIfJsonString(attrs.get("gcp.vertex.agent.llm_response"));
  return numberAt(response, "usage_metadata", "cached_content_token_count");
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
  "cache_creation_tokens",
  "cache_write.input_tokens",
  "cache_write_input_tokens",
  "cache_write_tokens",
  "details.cache_creation_tokens",
  "details.cache_creation_input_tokens",
  "details.cache_write_tokens",
  "details.cache_write_input_tokens",
  "prompt_details.cache_write",
  "input_cache_creation",
];
const REASONING_KEYS = ["reasoning.output_tokens", "completion_details.reasoning"];
const AUDIO_KEYS = ["completion_details.audio"];

/** Suffixes the named fields consume; any other suffix is passed through. */
const KNOWN_SUFFIXES: ReadonlySet<string> = new Set([
  ...INPUT_KEYS,
  ...OUTPUT_KEYS,
  ...TOTAL_KEYS,
  ...CACHE_READ_KEYS,
  ...CACHE_CREATION_KEYS,
  ...REASONING_KEYS,
  ...AUDIO_KEYS,
]);

const GENERIC_PREFIXES = ["gen_ai.usage.", "llm.token_count."];

function first(counts: ReadonlyMap<string, number>, keys: readonly string[]): number | undefined {
  for (const key of keys) {
    const value = counts.get(key);
    if (value !== undefined) return value;
  }
  return undefined;
}

/**
 * Usage from every `gen_ai.usage.*` (cost excluded) and `llm.token_count.*` attribute.
 * `extraCacheRead` is a cached-token count found elsewhere (Vertex response blob); it is used
 * when the attributes name none, and like them is taken out of the input count.
 */
function genericUsage(attrs: AttributeMap, extraCacheRead: number | undefined): Usage {
  const counts = new Map<string, number>();
  for (const [key, value] of attrs) {
    for (const prefix of GENERIC_PREFIXES) {
      if (!key.startsWith(prefix)) continue;
      const suffix = key.slice(prefix.length);
      if (prefix === "gen_ai.usage." && suffix === "cost") break;
      const n = Number(value);
      if (!Number.isNaN(n)) counts.set(suffix, n);
      break;
    }
  }

  const input = first(counts, INPUT_KEYS);
  const output = first(counts, OUTPUT_KEYS);
  const total = first(counts, TOTAL_KEYS);
  const cacheRead = first(counts, CACHE_READ_KEYS) ?? extraCacheRead;
  const cacheCreation = first(counts, CACHE_CREATION_KEYS);
  const reasoning = first(counts, REASONING_KEYS);
  const audio = first(counts, AUDIO_KEYS);

  const result: Usage = {};
  if (input !== undefined) result.input = Math.max(input - (cacheRead ?? 0) - (cacheCreation ?? 0), 0);
  if (output !== undefined) result.output = Math.max(output - (reasoning ?? 0) - (audio ?? 0), 0);
  if (total !== undefined) result.total = total;
  if (cacheRead !== undefined) result.input_cached_tokens = cacheRead;
  if (cacheCreation !== undefined) result.input_cache_creation = cacheCreation;
  if (reasoning !== undefined) result.output_reasoning_tokens = reasoning;
  if (audio !== undefined) result.output_audio_tokens = audio;
  for (const [suffix, value] of counts) {
    if (KNOWN_SUFFIXES.has(suffix)) continue;
    const name = suffix.startsWith("details.") ? suffix.slice("details.".length) : suffix;
    if (result[name] === undefined) setOwn(result, name, value);
  }
  return result;
}
