/**
 * Mapping spec §8.1: modelParameters (first matching source wins).
 */
import type { AttributeMap } from "./attributes.js";
import { isPlainObject, parseIfJsonString, parseJson, setOwn, toJsonText } from "./values.js";

/**
 * The schema accepts string/number values (and a few more shapes); everything else is stored as
 * JSON text so the parameters survive validation instead of failing it.
 */
function sanitise(value: unknown): unknown {
  return typeof value === "string" || typeof value === "number" ? value : toJsonText(value);
}

function sanitiseObject(source: Record<string, unknown>): Record<string, unknown> {
  const result: Record<string, unknown> = {};
  for (const key of Object.keys(source)) setOwn(result, key, sanitise(source[key]));
  return result;
}

/** A JSON object attribute, sanitised; undefined when absent or not a JSON object. */
function jsonObjectAttribute(attrs: AttributeMap, key: string): Record<string, unknown> | undefined {
  const raw = attrs.get(key);
  if (typeof raw !== "string") return undefined;
  const parsed = parseJson(raw);
  return parsed.ok && isPlainObject(parsed.value) ? sanitiseObject(parsed.value) : undefined;
}

function toStringOrNull(value: unknown): string | null {
  return value == null ? null : String(value);
}

function vercelServiceTier(attrs: AttributeMap): unknown {
  const metadata = parseIfJsonString(attrs.get("ai.response.providerMetadata"));
  // Only a string tier from the response counts; anything else falls back to the requested tier.
  if (isPlainObject(metadata) && isPlainObject(metadata.openai) && typeof metadata.openai.serviceTier === "string") {
    return metadata.openai.serviceTier;
  }
  return attrs.get("gen_ai.request.service_tier");
}

/** The Vercel AI SDK set: always all nine keys, each a string or null. */
function vercelModelParameters(attrs: AttributeMap): Record<string, unknown> {
  return {
    maxSteps: toStringOrNull(attrs.get("ai.settings.maxSteps")),
    toolChoice: toStringOrNull(attrs.get("ai.prompt.toolChoice")),
    maxTokens: toStringOrNull(attrs.get("gen_ai.request.max_tokens")),
    finishReason: toStringOrNull(attrs.get("gen_ai.response.finish_reasons") ?? attrs.get("gen_ai.finishReason")),
    system: toStringOrNull(attrs.get("gen_ai.system") ?? attrs.get("ai.model.provider")),
    maxRetries: toStringOrNull(attrs.get("ai.settings.maxRetries")),
    mode: toStringOrNull(attrs.get("ai.settings.mode")),
    temperature: toStringOrNull(attrs.get("gen_ai.request.temperature")),
    service_tier: toStringOrNull(vercelServiceTier(attrs)),
  };
}

function genkitConfig(attrs: AttributeMap): Record<string, unknown> | undefined {
  const input = parseIfJsonString(attrs.get("genkit:input"));
  if (isPlainObject(input) && isPlainObject(input.config)) return sanitiseObject(input.config);
  const output = parseIfJsonString(attrs.get("genkit:output"));
  if (isPlainObject(output) && isPlainObject(output.request) && isPlainObject(output.request.config)) {
    return sanitiseObject(output.request.config);
  }
  return undefined;
}

const GENERIC_PREFIXES = ["gen_ai.request.", "llm.invocation_parameters."];

/** `gen_ai.request.*` / `llm.invocation_parameters.*` with the prefix removed (the model name excluded). */
function genericModelParameters(attrs: AttributeMap): Record<string, unknown> {
  const result: Record<string, unknown> = {};
  for (const [key, value] of attrs) {
    for (const prefix of GENERIC_PREFIXES) {
      if (!key.startsWith(prefix)) continue;
      const name = key.slice(prefix.length);
      if (name !== "model") setOwn(result, name, sanitise(value));
      break;
    }
  }
  return result;
}

export function modelParameters(attrs: AttributeMap, scopeName: string | undefined): Record<string, unknown> {
  const explicit = jsonObjectAttribute(attrs, "langfuse.observation.model.parameters");
  if (scopeName === "ai") {
    // Explicit parameters refine the AI SDK set instead of replacing it.
    const parameters = vercelModelParameters(attrs);
    if (explicit !== undefined) for (const key of Object.keys(explicit)) setOwn(parameters, key, explicit[key]);
    return parameters;
  }
  if (explicit !== undefined) return explicit;
  if (scopeName === "genkit-tracer") {
    const config = genkitConfig(attrs);
    if (config !== undefined) return config;
  }
  return (
    jsonObjectAttribute(attrs, "llm.invocation_parameters") ??
    jsonObjectAttribute(attrs, "model_config") ??
    genericModelParameters(attrs)
  );
}
