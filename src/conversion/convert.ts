/**
 * Entry point: OTLP `resourceSpans` → raw Langfuse ingestion events (mapping spec §0–§12).
 *
 * Pure apart from the injected clock and id generator. Input is untrusted and this function never
 * throws: spans that cannot be converted are reported in `rejectedSpans` and the rest convert.
 * Langfuse rejects a whole export for one bad span; rejecting only the bad ones is deliberate.
 *
 * The Redis "seen trace" lookup is not done here. Conversion runs as if no trace had been seen
 * before this request, and marks each shallow trace-create that survives the batch dedup with
 * `shallowTrace: true`; a later stage drops those whose trace Redis reports as seen. That equals
 * Langfuse's result: a span's trace-create decision depends on the seen state only when the span
 * is neither a root nor carries trace updates, and then the only possible event is a shallow one.
 * For a trace already seen in Redis, Langfuse emits no shallow event at all; here the first such
 * span emits one that is flagged and dropped later, and from then on the trace is seen in both
 * (Langfuse marks a trace seen after its first trace-create, whatever the kind), so every later
 * decision matches. For traces not yet seen in Redis the two runs are identical.
 */
import { randomUUID } from "node:crypto";
import type { IngestionEvent } from "../model/events.js";
import { AttributeConversionError, convertAttributeList, EMPTY_ATTRIBUTES } from "./attributes.js";
import { renderId, resolveSpanTimes, isoFromMillis, type IdResult } from "./ids-and-times.js";
import { extractInputOutput, INPUT_OUTPUT_EVENT_NAMES } from "./input-output.js";
import { domainMetadata, spanMetadataParts } from "./metadata.js";
import { observationBody } from "./observation.js";
import { mapObservationType, observationEventType, type ObservationType } from "./observation-type.js";
import { hasTraceUpdates, spanEnvironment } from "./properties.js";
import type { ResourceContext, ScopeContext, SpanContext, SpanEventContext } from "./span-context.js";
import {
  filterRedundantShallowTraces,
  fullTraceBody,
  isRootSpan,
  isShallowTraceBody,
  shallowTraceBody,
  traceUpdateBody,
} from "./trace.js";
import { isPlainObject, mapToObject } from "./values.js";
import { nestsDeeperThan, TOO_DEEP } from "../model/nesting.js";

export interface ConvertedEvent {
  event: IngestionEvent;
  /** Ordinal of the span (0-based, in resource → scope → span traversal order over the whole request) this event came from. */
  spanIndex: number;
  /** True for a "shallow" trace-create ({id, timestamp, environment} only) emitted because the trace was not yet seen. */
  shallowTrace: boolean;
}

export interface SpanRejection {
  spanIndex: number;
  reason: string;
}

export interface ConversionResult {
  events: ConvertedEvent[];
  /** Spans that could not be converted, with a human-readable reason (e.g. "traceId: absent"). */
  rejectedSpans: SpanRejection[];
  /** Number of spans in the request (converted + rejected). */
  spanCount: number;
}

export interface ConversionOptions {
  /** Wall clock, for observation envelope timestamps and missing times. Default: () => new Date(). */
  now?: () => Date;
  /** Envelope id generator. Default: crypto.randomUUID. */
  randomId?: () => string;
}

export function convertResourceSpans(resourceSpans: unknown, options?: ConversionOptions): ConversionResult {
  const run = new ConversionRun(options ?? {});
  for (const _span of run.steps(resourceSpans));
  return run.result();
}

/**
 * The same conversion with `afterSpan` called after every span; when it returns a promise, the
 * conversion waits for it (the events pipeline gives the event loop a turn every so many spans).
 */
export async function convertResourceSpansPaced(
  resourceSpans: unknown,
  options: ConversionOptions | undefined,
  afterSpan: () => Promise<void> | undefined,
): Promise<ConversionResult> {
  const run = new ConversionRun(options ?? {});
  for (const _span of run.steps(resourceSpans)) {
    const pause = afterSpan();
    if (pause) await pause;
  }
  return run.result();
}

/** Why a collection (resource, scope) makes every span beneath it unusable; undefined if none. */
type CollectionProblem = string | undefined;

function joinProblems(...problems: CollectionProblem[]): CollectionProblem {
  const present = problems.filter((p): p is string => p !== undefined);
  return present.length > 0 ? present.join("; ") : undefined;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null;
}

/** Present (not null/undefined) but not an array. */
function notAnArray(value: unknown): boolean {
  return value !== undefined && value !== null && !Array.isArray(value);
}

function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

class ConversionRun {
  readonly #now: () => Date;
  readonly #randomId: () => string;
  #nowMs: number | undefined;
  #nowIso: string | undefined;
  #events: ConvertedEvent[] = [];
  #rejected: SpanRejection[] = [];
  #spanCount = 0;
  /** Traces that already got a trace-create in this request. */
  readonly #seenTraceIds = new Set<string>();

  constructor(options: ConversionOptions) {
    this.#now = options.now ?? (() => new Date());
    this.#randomId = options.randomId ?? randomUUID;
  }

  result(): ConversionResult {
    return {
      events: filterRedundantShallowTraces(this.#events),
      rejectedSpans: this.#rejected,
      spanCount: this.#spanCount,
    };
  }

  #recordUnexpectedFailure(error: unknown): void {
    this.#reject(this.#spanCount++, `request could not be converted: ${errorMessage(error)}`);
  }

  /** One clock reading per request: all observation envelopes of a request share it. */
  #clock(): { ms: number; iso: string } {
    if (this.#nowMs === undefined || this.#nowIso === undefined) {
      let now = this.#now();
      if (!(now instanceof Date) || Number.isNaN(now.getTime())) now = new Date();
      this.#nowMs = now.getTime();
      this.#nowIso = now.toISOString();
    }
    return { ms: this.#nowMs, iso: this.#nowIso };
  }

  #reject(spanIndex: number, reason: string): void {
    this.#rejected.push({ spanIndex, reason });
  }

  /** A collection that cannot be walked still stands for at least one span, which is rejected. */
  #rejectUncountable(reason: string): void {
    this.#reject(this.#spanCount++, reason);
  }

  /** Converts the request, pausing (yielding) after each span. */
  *steps(resourceSpans: unknown): Generator<void> {
    try {
      yield* this.#convertRequest(resourceSpans);
    } catch (error) {
      // Defensive only: per-span failures are caught where they happen. Should the traversal
      // itself fail, keep what was converted and report the failure instead of throwing.
      this.#recordUnexpectedFailure(error);
    }
  }

  *#convertRequest(resourceSpans: unknown): Generator<void> {
    if (resourceSpans === undefined || resourceSpans === null) return;
    if (!Array.isArray(resourceSpans)) {
      this.#rejectUncountable("resourceSpans: not an array");
      return;
    }
    for (const entry of resourceSpans) yield* this.#convertResourceSpans(entry);
  }

  *#convertResourceSpans(entry: unknown): Generator<void> {
    if (!isObject(entry)) {
      this.#rejectUncountable("resourceSpans: entry is not an object");
      return;
    }
    let problem: CollectionProblem;
    let resource: ResourceContext | undefined;
    const rawResource = entry.resource;
    if (rawResource !== undefined && rawResource !== null && !isObject(rawResource)) {
      problem = "resource: not an object";
    } else if (nestsDeeperThan(rawResource)) {
      problem = `resource: ${TOO_DEEP}`;
    } else if (isObject(rawResource) && notAnArray(rawResource.attributes)) {
      problem = "resource.attributes: not an array";
    } else {
      try {
        resource = buildResourceContext(isObject(rawResource) ? rawResource.attributes : undefined);
      } catch (error) {
        problem = `resource.attributes: ${errorMessage(error)}`;
      }
    }

    const scopeSpans = entry.scopeSpans;
    if (scopeSpans === undefined || scopeSpans === null) return;
    if (!Array.isArray(scopeSpans)) {
      this.#rejectUncountable(joinProblems(problem, "scopeSpans: not an array") as string);
      return;
    }
    for (const scopeEntry of scopeSpans) yield* this.#convertScopeSpans(scopeEntry, resource, problem);
  }

  *#convertScopeSpans(entry: unknown, resource: ResourceContext | undefined, inherited: CollectionProblem): Generator<void> {
    if (!isObject(entry)) {
      this.#rejectUncountable(joinProblems(inherited, "scopeSpans: entry is not an object") as string);
      return;
    }
    let problem = inherited;
    let scope: ScopeContext | undefined;
    const rawScope = entry.scope;
    if (rawScope !== undefined && rawScope !== null && !isPlainObject(rawScope)) {
      problem = joinProblems(problem, "scope: not an object");
    } else if (nestsDeeperThan(rawScope)) {
      problem = joinProblems(problem, `scope: ${TOO_DEEP}`);
    } else if (isPlainObject(rawScope) && notAnArray(rawScope.attributes)) {
      problem = joinProblems(problem, "scope.attributes: not an array");
    } else if (problem === undefined) {
      try {
        scope = buildScopeContext(isPlainObject(rawScope) ? rawScope : undefined);
      } catch (error) {
        problem = `scope: ${errorMessage(error)}`;
      }
    }

    const spans = entry.spans;
    if (spans === undefined || spans === null) return;
    if (!Array.isArray(spans)) {
      this.#rejectUncountable(joinProblems(problem, "spans: not an array") as string);
      return;
    }
    for (const span of spans) {
      const spanIndex = this.#spanCount++;
      if (problem !== undefined || resource === undefined || scope === undefined) this.#reject(spanIndex, problem ?? "span: could not be converted");
      else this.#convertSpan(span, spanIndex, resource, scope);
      yield;
    }
  }

  #convertSpan(raw: unknown, spanIndex: number, resource: ResourceContext, scope: ScopeContext): void {
    if (!isObject(raw)) {
      this.#reject(spanIndex, "span: not an object");
      return;
    }
    // Before anything reads it: every later stage (serialising, cloning, the schema) recurses.
    if (nestsDeeperThan(raw)) {
      this.#reject(spanIndex, `span: ${TOO_DEEP}`);
      return;
    }
    const problems: string[] = [];
    const traceId = renderId(raw.traceId);
    const spanId = renderId(raw.spanId);
    if (!traceId.ok) problems.push(`traceId: ${traceId.reason}`);
    if (!spanId.ok) problems.push(`spanId: ${spanId.reason}`);
    let parent: IdResult | undefined;
    // A falsy parent (absent, null, "") means "root"; anything truthy must be an id.
    if (raw.parentSpanId) {
      parent = renderId(raw.parentSpanId);
      if (!parent.ok && parent.reason !== "empty") problems.push(`parentSpanId: ${parent.reason}`);
    }
    if (notAnArray(raw.attributes)) problems.push("attributes: not an array");
    if (notAnArray(raw.events)) problems.push("events: not an array");
    else if (Array.isArray(raw.events)) {
      for (const event of raw.events) {
        if (isObject(event) && notAnArray(event.attributes)) {
          problems.push("events.attributes: not an array");
          break;
        }
      }
    }
    if (problems.length > 0 || !traceId.ok || !spanId.ok) {
      this.#reject(spanIndex, problems.join("; "));
      return;
    }

    try {
      const span = this.#buildSpanContext(raw, traceId.id, spanId.id, parent?.ok ? parent.id : null, resource, scope);
      this.#emitSpanEvents(span, spanIndex);
    } catch (error) {
      const reason =
        error instanceof AttributeConversionError || error instanceof RangeError
          ? `attributes: ${errorMessage(error)}`
          : `span could not be converted: ${errorMessage(error)}`;
      this.#reject(spanIndex, reason);
    }
  }

  #buildSpanContext(
    raw: Record<string, unknown>,
    traceId: string,
    spanId: string,
    parentSpanId: string | null,
    resource: ResourceContext,
    scope: ScopeContext,
  ): SpanContext {
    const status = isObject(raw.status) ? raw.status : undefined;
    const times = resolveSpanTimes(raw.startTimeUnixNano, raw.endTimeUnixNano, this.#clock().ms);
    const startIso = isoFromMillis(times.startMs);
    return {
      traceId,
      spanId,
      parentSpanId,
      name: typeof raw.name === "string" ? raw.name : undefined,
      startMs: times.startMs,
      endMs: times.endMs,
      startIso,
      endIso: times.endMs === times.startMs ? startIso : isoFromMillis(times.endMs),
      attributes: convertAttributeList(raw.attributes),
      events: inputOutputEvents(raw.events),
      statusCode: status?.code,
      statusMessage: status?.message,
      resource,
      scope,
    };
  }

  /**
   * Builds all events of one span before recording any, so a span that fails half-way leaves
   * neither events nor "seen" state behind.
   */
  #emitSpanEvents(span: SpanContext, spanIndex: number): void {
    const type = mapObservationType(span);
    const environment = spanEnvironment(span);
    const metadataParts = spanMetadataParts(span);
    const io = extractInputOutput({ attributes: span.attributes, events: span.events, scopeName: span.scope.name }, "observation");

    let traceBody: Record<string, unknown> | undefined;
    if (isRootSpan(span)) {
      traceBody = fullTraceBody({ span, environment, metadataParts, observationIO: io });
    } else if (hasTraceUpdates(span.attributes)) {
      traceBody = traceUpdateBody({ span, environment, metadataParts, observationIO: io });
    } else if (!this.#seenTraceIds.has(span.traceId)) {
      traceBody = shallowTraceBody(span, environment);
    }

    const observation = observationBody({ span, type, environment, metadataParts, io });

    const converted: ConvertedEvent[] = [];
    if (traceBody !== undefined) {
      converted.push({
        event: { id: this.#randomId(), timestamp: span.startIso, type: "trace-create", body: traceBody },
        spanIndex,
        shallowTrace: isShallowTraceBody(traceBody),
      });
    }
    converted.push({
      event: { id: this.#randomId(), timestamp: this.#clock().iso, type: observationEventType(type), body: observation },
      spanIndex,
      shallowTrace: false,
    });

    if (traceBody !== undefined) this.#seenTraceIds.add(span.traceId);
    for (const event of converted) this.#events.push(event);
  }
}

function buildResourceContext(rawAttributes: unknown): ResourceContext {
  const attributes = convertAttributeList(rawAttributes);
  return {
    attributes,
    attributesObject: mapToObject(attributes),
    traceMetadata: domainMetadata(attributes, "trace"),
  };
}

function buildScopeContext(rawScope: Record<string, unknown> | undefined): ScopeContext {
  const attributes = rawScope === undefined ? EMPTY_ATTRIBUTES : convertAttributeList(rawScope.attributes);
  // The whole scope object is spread, so unknown scope keys reach metadata.scope too (§1).
  const metadataObject: Record<string, unknown> = { ...rawScope };
  metadataObject.attributes = mapToObject(attributes);
  const name = typeof rawScope?.name === "string" ? rawScope.name : undefined;
  return {
    name,
    version: rawScope?.version,
    metadataObject,
    isLangfuseSdk: name !== undefined && name.startsWith("langfuse-sdk"),
  };
}

/** Only the GenAI events that §6 reads are converted; all others are ignored. */
function inputOutputEvents(rawEvents: unknown): SpanEventContext[] {
  if (!Array.isArray(rawEvents) || rawEvents.length === 0) return [];
  const events: SpanEventContext[] = [];
  for (const raw of rawEvents) {
    if (!isObject(raw) || typeof raw.name !== "string" || !INPUT_OUTPUT_EVENT_NAMES.has(raw.name)) continue;
    events.push({ name: raw.name, attributes: convertAttributeList(raw.attributes) });
  }
  return events;
}

/**
 * The observation type the converter gives a raw OTLP span, for rules that select spans by it (the
 * filter processor) before conversion. Undefined when the converter would refuse the span's
 * attributes; `resource` and `scope` contexts are built once per resource and scope by the caller.
 */
export function observationTypeOfRawSpan(raw: unknown, resource: ResourceContext, scope: ScopeContext): ObservationType | undefined {
  if (!isObject(raw)) return undefined;
  try {
    return mapObservationType({
      traceId: "",
      spanId: "",
      parentSpanId: null,
      name: typeof raw.name === "string" ? raw.name : undefined,
      startMs: 0,
      endMs: 0,
      startIso: "",
      endIso: "",
      attributes: convertAttributeList(raw.attributes),
      events: inputOutputEvents(raw.events),
      statusCode: isObject(raw.status) ? raw.status.code : undefined,
      statusMessage: undefined,
      resource,
      scope,
    });
  } catch {
    return undefined;
  }
}

/** The resource and scope parts observationTypeOfRawSpan reads. */
export function rawResourceContext(rawResource: unknown): ResourceContext {
  return buildResourceContext(isObject(rawResource) ? rawResource.attributes : undefined);
}

export function rawScopeContext(rawScope: unknown): ScopeContext {
  return buildScopeContext(isObject(rawScope) ? rawScope : undefined);
}
