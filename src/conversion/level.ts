/**
 * Mapping spec §7: observation level and status message (observations only; traces have neither).
 */
import type { SpanContext } from "./span-context.js";

export type ObservationLevel = "DEBUG" | "DEFAULT" | "WARNING" | "ERROR";

const LEVEL_ALIASES: ReadonlyMap<string, ObservationLevel> = new Map([
  ["DEBUG", "DEBUG"],
  ["TRACE", "DEBUG"],
  ["VERBOSE", "DEBUG"],
  ["DEFAULT", "DEFAULT"],
  ["INFO", "DEFAULT"],
  ["LOG", "DEFAULT"],
  ["NOTICE", "DEFAULT"],
  ["OK", "DEFAULT"],
  ["SUCCESS", "DEFAULT"],
  ["WARNING", "WARNING"],
  ["WARN", "WARNING"],
  ["ERROR", "ERROR"],
  ["FATAL", "ERROR"],
  ["CRITICAL", "ERROR"],
]);

/** LiveKit marks its plumbing spans only by name; they are noise next to the agent turns. */
const LIVEKIT_DEBUG_SPANS: ReadonlySet<string> = new Set([
  "user_speaking",
  "eou_detection",
  "llm_request_run",
  "tts_node",
  "tts_request",
  "tts_request_run",
  "tts_stream_adapter",
  "agent_speaking",
  "drain_agent_activity",
  "on_exit",
  "on_enter",
  "llm_fallback_adapter",
  "tts_fallback_adapter",
  "start_agent_activity",
]);

/** OTLP's STATUS_CODE_ERROR. Only the number counts: the JSON enum name does not (case 08). */
const STATUS_CODE_ERROR = 2;

export function observationLevel(span: SpanContext): ObservationLevel {
  const explicit = span.attributes.get("langfuse.observation.level");
  if (typeof explicit === "string") {
    const level = LEVEL_ALIASES.get(explicit.trim().toUpperCase());
    if (level !== undefined) return level;
  }
  if (span.statusCode === STATUS_CODE_ERROR) return "ERROR";
  if (span.scope.name === "livekit-agents" && span.name !== undefined && LIVEKIT_DEBUG_SPANS.has(span.name)) return "DEBUG";
  return "DEFAULT";
}

/** Copied for any status code, OK included. */
export function observationStatusMessage(span: SpanContext): unknown {
  return span.attributes.get("langfuse.observation.status_message") ?? span.statusMessage ?? null;
}
