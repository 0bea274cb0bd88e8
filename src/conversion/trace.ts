/**
 * Mapping spec §3 and §4: whether a span produces a trace-create, and its body.
 *
 * Three kinds: a full trace for a root span, a trace update for a non-root span carrying
 * trace-level attributes, and a shallow `{id, timestamp, environment}` for the first span of a
 * trace not seen before, so that the trace exists even if its root never arrives.
 */
import { observationName } from "./generation-fields.js";
import { extractInputOutput, type InputOutput } from "./input-output.js";
import { domainMetadata, rootTraceMetadata, traceUpdateMetadata, type SpanMetadataParts } from "./metadata.js";
import {
  spanRelease,
  spanVersion,
  traceSessionId,
  traceTags,
  tracePublic,
  traceUserId,
} from "./properties.js";
import type { SpanContext } from "./span-context.js";
import { isMeaningful } from "./values.js";

export type TraceKind = "full" | "update" | "shallow";

/** A root span has no parent, or says so explicitly (`langfuse.internal.as_root`). */
export function isRootSpan(span: SpanContext): boolean {
  return span.parentSpanId === null || String(span.attributes.get("langfuse.internal.as_root")) === "true";
}

interface TraceBodyInput {
  span: SpanContext;
  environment: string;
  metadataParts: SpanMetadataParts;
  /** The observation's input/output before tool normalisation; a root trace reuses it. */
  observationIO: InputOutput;
}

function putDefined(body: Record<string, unknown>, key: string, value: unknown): void {
  if (value !== undefined) body[key] = value;
}

/** The fields 4a and 4b share, in the order they appear in the §12 cases. */
function traceBody(
  input: TraceBodyInput,
  name: unknown,
  metadata: Record<string, unknown>,
  io: InputOutput,
): Record<string, unknown> {
  const { span, environment } = input;
  const attrs = span.attributes;
  const body: Record<string, unknown> = {
    id: span.traceId,
    timestamp: span.startIso,
    environment,
  };
  putDefined(body, "name", name);
  body.metadata = metadata;
  body.version = spanVersion(span);
  body.release = spanRelease(span);
  putDefined(body, "userId", traceUserId(attrs));
  putDefined(body, "sessionId", traceSessionId(attrs));
  putDefined(body, "public", tracePublic(attrs));
  body.tags = traceTags(attrs);
  putDefined(body, "input", io.input);
  putDefined(body, "output", io.output);
  return body;
}

/** 4a: a root span describes the whole trace; its input/output become the trace's. */
export function fullTraceBody(input: TraceBodyInput): Record<string, unknown> {
  const { span, metadataParts } = input;
  const attrs = span.attributes;
  const name = attrs.get("langfuse.trace.name") || observationName(span);
  const metadata = rootTraceMetadata(metadataParts, domainMetadata(attrs, "trace"));
  const io = extractInputOutput(
    { attributes: attrs, events: span.events, scopeName: span.scope.name },
    "trace",
    input.observationIO,
  );
  return traceBody(input, name, metadata, io);
}

/** 4b: only explicit trace attributes; no span-name fallback, no observation data. */
export function traceUpdateBody(input: TraceBodyInput): Record<string, unknown> {
  const { span, metadataParts } = input;
  const attrs = span.attributes;
  const name = attrs.get("langfuse.trace.name") || undefined;
  const metadata = traceUpdateMetadata(metadataParts, domainMetadata(attrs, "trace"));
  const io = { input: attrs.get("langfuse.trace.input"), output: attrs.get("langfuse.trace.output") };
  return traceBody(input, name, metadata, io);
}

/** 4c. */
export function shallowTraceBody(span: SpanContext, environment: string): Record<string, unknown> {
  return { id: span.traceId, timestamp: span.startIso, environment };
}

const TRACE_CONTENT_FIELDS = ["name", "metadata", "userId", "sessionId", "public", "tags", "version", "release", "input", "output"];

/** Langfuse's test for a shallow trace-create: no content field holds a meaningful value. */
export function isShallowTraceBody(body: Record<string, unknown>): boolean {
  for (const field of TRACE_CONTENT_FIELDS) if (isMeaningful(body[field])) return false;
  return true;
}

/** The parts of a converted event that the batch-level dedup needs. */
export interface TraceDedupCandidate {
  event: { type: string; body: Record<string, unknown> };
  shallowTrace: boolean;
}

/**
 * filterRedundantShallowTraces: a shallow trace-create is dropped when the same request also has
 * a non-shallow trace-create for that trace id; everything else keeps its order (case 04).
 */
export function filterRedundantShallowTraces<T extends TraceDedupCandidate>(events: T[]): T[] {
  const fullTraceIds = new Set<unknown>();
  let hasShallow = false;
  for (const e of events) {
    if (e.event.type !== "trace-create") continue;
    if (e.shallowTrace) hasShallow = true;
    else fullTraceIds.add(e.event.body.id);
  }
  if (!hasShallow || fullTraceIds.size === 0) return events;
  return events.filter((e) => !(e.shallowTrace && e.event.type === "trace-create" && fullTraceIds.has(e.event.body.id)));
}
