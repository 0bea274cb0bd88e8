/**
 * Mapping spec §9: scalar trace/observation properties, and the §3 "has trace updates" test.
 */
import type { AttributeMap } from "./attributes.js";
import type { SpanContext } from "./span-context.js";
import { isPlainObject, parseJson, stringOrJsonText } from "./values.js";

const ENVIRONMENT_KEYS = ["langfuse.environment", "deployment.environment.name", "deployment.environment"];
const DEFAULT_ENVIRONMENT = "default";
const LANGFUSE_PREFIXES = /^(?:langfuse[-_]?)+/;
const VALID_ENVIRONMENT = /^[a-z0-9_-]+$/;
const MAX_ENVIRONMENT_LENGTH = 40;
const LLM_AS_A_JUDGE = "langfuse-llm-as-a-judge";

/**
 * Langfuse's public environment rule. It is idempotent, so the schema applying it again later
 * changes nothing. Non-strings have no sensible environment and get the default, as in the schema.
 */
export function normaliseEnvironment(raw: unknown): string {
  if (typeof raw !== "string") return DEFAULT_ENVIRONMENT;
  const value = raw.toLowerCase().replace(LANGFUSE_PREFIXES, "").slice(0, MAX_ENVIRONMENT_LENGTH);
  return VALID_ENVIRONMENT.test(value) ? value : DEFAULT_ENVIRONMENT;
}

/**
 * For each key, span attribute before resource attribute, so resource `langfuse.environment`
 * beats span `deployment.environment.name`.
 */
export function spanEnvironment(span: SpanContext): string {
  const attrs = span.attributes;
  const resource = span.resource.attributes;
  for (const key of ENVIRONMENT_KEYS) {
    const value = attrs.get(key) || resource.get(key);
    if (value) return normaliseEnvironment(value);
  }
  return isFailedOpenRouterJudgeRequest(span) ? normaliseEnvironment(LLM_AS_A_JUDGE) : DEFAULT_ENVIRONMENT;
}

/**
 * OpenRouter's "broadcast" traces of Langfuse's own LLM-as-a-judge calls lose their metadata when
 * the call fails; only the request echoed in `gen_ai.completion` (with `completion: null`) still
 * names the evaluator's environment.
 */
function isFailedOpenRouterJudgeRequest(span: SpanContext): boolean {
  const attrs = span.attributes;
  if (span.resource.attributes.get("service.name") !== "openrouter" || attrs.get("openrouter.source") !== "openrouter") return false;
  const raw = attrs.get("gen_ai.completion");
  const completion = typeof raw === "string" ? parseJsonValue(raw) : raw;
  if (!isPlainObject(completion) || completion.completion !== null) return false;
  const request = completion.rawRequest;
  if (!isPlainObject(request) || !isPlainObject(request.trace)) return false;
  return request.trace.environment === LLM_AS_A_JUDGE;
}

function parseJsonValue(text: string): unknown {
  const parsed = parseJson(text);
  return parsed.ok ? parsed.value : undefined;
}

function firstTruthy(attrs: AttributeMap, keys: readonly string[]): unknown {
  for (const key of keys) {
    const value = attrs.get(key);
    if (value) return value;
  }
  return undefined;
}

const USER_ID_KEYS = [
  "langfuse.user.id",
  "user.id",
  "langfuse.observation.metadata.langfuse_user_id",
  "langfuse.trace.metadata.langfuse_user_id",
  "ai.telemetry.metadata.userId",
];

const SESSION_ID_KEYS = [
  "langfuse.session.id",
  "session.id",
  "gen_ai.conversation.id",
  "langfuse.observation.metadata.langfuse_session_id",
  "langfuse.trace.metadata.langfuse_session_id",
  "ai.telemetry.metadata.sessionId",
];

const TAG_KEYS = [
  "langfuse.trace.tags",
  "langfuse.tags",
  "langfuse.observation.metadata.langfuse_tags",
  "langfuse.trace.metadata.langfuse_tags",
  "ai.telemetry.metadata.tags",
  "tag.tags",
];

/** Span attributes only: a resource `user.id` is ignored (case 55). */
export function traceUserId(attrs: AttributeMap): string | undefined {
  const value = firstTruthy(attrs, USER_ID_KEYS);
  return value === undefined ? undefined : stringOrJsonText(value);
}

export function traceSessionId(attrs: AttributeMap): string | undefined {
  const value = firstTruthy(attrs, SESSION_ID_KEYS);
  return value === undefined ? undefined : stringOrJsonText(value);
}

/** Always an array: array attribute, JSON array text, comma list, or a single tag. */
export function traceTags(attrs: AttributeMap): string[] {
  const value = firstTruthy(attrs, TAG_KEYS);
  if (value === undefined) return [];
  if (Array.isArray(value)) return value.map(String);
  if (typeof value === "string") {
    if (value.startsWith("[")) {
      const parsed = parseJson(value);
      if (parsed.ok && Array.isArray(parsed.value)) return parsed.value.map(String);
    }
    if (value.includes(",")) return value.split(",").map((tag) => tag.trim());
    return [value];
  }
  return [String(value)];
}

/** true only for boolean true or "true"; undefined when neither attribute exists. */
export function tracePublic(attrs: AttributeMap): boolean | undefined {
  const value = attrs.get("langfuse.trace.public") ?? attrs.get("langfuse.public");
  if (value === undefined) return undefined;
  return value === true || value === "true";
}

/** Span `langfuse.release`, else resource `langfuse.release`. */
export function spanRelease(span: SpanContext): unknown {
  return span.attributes.get("langfuse.release") ?? span.resource.attributes.get("langfuse.release") ?? null;
}

/** Span `langfuse.version`, else resource `service.version` (the other two combinations are not read). */
export function spanVersion(span: SpanContext): unknown {
  return span.attributes.get("langfuse.version") ?? span.resource.attributes.get("service.version") ?? null;
}

const TRACE_UPDATE_KEYS = [
  "langfuse.trace.name",
  "langfuse.trace.input",
  "langfuse.trace.output",
  "langfuse.trace.metadata",
  "user.id",
  "session.id",
  "langfuse.trace.public",
  "langfuse.trace.tags",
  "langfuse.user.id",
  "langfuse.session.id",
  "langfuse.observation.metadata.langfuse_user_id",
  "langfuse.observation.metadata.langfuse_session_id",
  "langfuse.observation.metadata.langfuse_tags",
  "langfuse.trace.metadata.langfuse_user_id",
  "langfuse.trace.metadata.langfuse_session_id",
  "langfuse.trace.metadata.langfuse_tags",
  "ai.telemetry.metadata.sessionId",
  "ai.telemetry.metadata.userId",
  "ai.telemetry.metadata.tags",
  "tag.tags",
];

/**
 * Whether a non-root span carries trace-level attributes. `gen_ai.conversation.id`,
 * `langfuse.tags`, `langfuse.public`, `langfuse.release` and `langfuse.environment` deliberately
 * do not count (case 62).
 */
export function hasTraceUpdates(attrs: AttributeMap): boolean {
  if (firstTruthy(attrs, TRACE_UPDATE_KEYS) !== undefined) return true;
  for (const key of attrs.keys()) {
    if (key.startsWith("langfuse.trace.metadata")) return true;
  }
  return false;
}
