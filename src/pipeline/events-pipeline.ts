import { convertResourceSpansPaced, type ConversionOptions } from "../conversion/convert.js";
import type { IngestionEvent } from "../model/events.js";
import { EventBatch, type EventRecord } from "./batch.js";
import { PermanentError } from "./errors.js";
import { prepareExportGroups } from "./exporter-chain.js";
import type { SeenTraceStore } from "./export.js";
import type { ConsumeResult, ItemRejection, ProjectScope, RequestContext, TracePayload } from "./payload.js";
import { PipelineBase, type PipelineParts } from "./pipeline.js";
import { dropShallowTracesOfSeenTraces } from "./seen-traces.js";
import { Pacer } from "./pacing.js";
import { SpanBatch } from "./span-batch.js";
import { OtlpTraceRequest } from "../otlp/trace-request.js";
import type { NamedProcessor } from "./pipeline.js";
import type { Processor } from "./component.js";
import { metrics } from "../telemetry/metrics.js";

export type { NamedProcessor } from "./pipeline.js";

export interface EventsPipelineParts extends PipelineParts {
  seenTraces: SeenTraceStore;
  conversion?: ConversionOptions;
}

/**
 * An `events` pipeline: OTLP spans are converted to Langfuse ingestion events (native batches
 * already are events), the processors run in the order the config lists them, and the exporters
 * write each group's blob and job.
 */
export class EventsPipeline extends PipelineBase {
  readonly type = "events";
  readonly #parts: EventsPipelineParts;

  constructor(parts: EventsPipelineParts) {
    super(parts);
    this.#parts = parts;
  }

  async consume(payload: TracePayload, requestContext: RequestContext): Promise<ConsumeResult> {
    // Each pipeline resolves its own scope; the receiver's context stays untouched.
    const context: RequestContext = { ...requestContext };
    const processors = this.processors;
    // An OTLP request's spans meet the processors up to the last that works before conversion as spans.
    const spanPhase = payload.kind === "otlp" ? processors.slice(0, lastIndexBeforeConversion(processors.map(({ processor }) => processor)) + 1) : [];
    const { records, itemCount, rejections } = await this.#toRecords(payload, context, spanPhase);
    const batch = new EventBatch(context, records);
    batch.rejections.push(...rejections);

    for (const { processor } of processors.slice(spanPhase.length)) await processor.process(batch);

    // Langfuse counts a request's events once its credentials are accepted, valid or not.
    metrics.langfuseIngestionEvents.inc({ source: context.source }, records.length);
    metrics.langfuseEventDistribution.observe({ source: context.source }, records.length);
    const scope = context.scope;
    if (scope === undefined) {
      // The pipeline builder refuses chains without auth; reaching this is a bug, not bad input.
      throw new PermanentError(`pipeline ${this.id} has no project scope after its processors`);
    }
    const claimed = await dropShallowTracesOfSeenTraces(batch, this.#parts.seenTraces);
    const groups = await prepareExportGroups(batch);
    try {
      await this.deliver(context as RequestContext & { scope: ProjectScope }, groups);
    } catch (error) {
      await this.#parts.seenTraces.release(scope.projectId, claimed);
      this.#parts.logger.warn({ err: error }, "request not accepted");
      throw error;
    }
    return { itemCount, rejections: batch.rejections, ignored: batch.ignored, projectId: scope.projectId };
  }

  #toRecords(payload: TracePayload, context: RequestContext, spanPhase: readonly NamedProcessor[]) {
    return toEventRecords(
      payload,
      context,
      spanPhase.map(({ processor }) => processor),
      this.#parts.conversion,
    );
  }
}

/**
 * A request's items as event records: a native batch's events as they are; an OTLP request's
 * spans through `spanPhase` (the processors that work before conversion), then converted. A very
 * large request is parsed and converted in slices, so the daemon keeps answering meanwhile.
 * Rejections name spans by their place in the request as received.
 */
export async function toEventRecords(
  payload: TracePayload,
  context: RequestContext,
  spanPhase: readonly Processor[],
  conversion: ConversionOptions | undefined,
): Promise<{ records: EventRecord[]; itemCount: number; rejections: ItemRejection[] }> {
  if (payload.kind === "ingestion") {
    const records = payload.events.map((event, origin) => ({ event: event as IngestionEvent, origin }));
    return { records, itemCount: payload.events.length, rejections: [] };
  }
  const pacer = new Pacer();
  let resourceSpans = await payload.request.resourceSpansPaced(() => pacer.step());
  const rejections: ItemRejection[] = [];
  let itemCount: number | undefined;
  let originOf = (spanIndex: number) => spanIndex;
  if (spanPhase.length > 0) {
    const origins = spanOrigins(resourceSpans);
    itemCount = origins.count;
    const spans = new SpanBatch(context, OtlpTraceRequest.fromObjects(resourceSpans));
    for (const processor of spanPhase) await processor.processSpans(spans);
    rejections.push(...spans.rejections);
    resourceSpans = spans.resourceSpans;
    // The converter counts the spans that are left; rejections name them by their place in the request.
    const left = spanOrigins(resourceSpans, origins.indexOf).list;
    originOf = (spanIndex) => left[spanIndex] ?? spanIndex;
  }
  const converted = await convertResourceSpansPaced(resourceSpans, conversion, () => pacer.step());
  const records = converted.events.map(({ event, spanIndex, shallowTrace }) => ({ event, origin: originOf(spanIndex), shallowTrace }));
  for (const { spanIndex, reason } of converted.rejectedSpans) rejections.push({ origin: originOf(spanIndex), status: 400, message: "Invalid span", error: reason });
  return { records, itemCount: itemCount ?? converted.spanCount, rejections };
}

/** Index of the last processor that must see an OTLP request as spans, before conversion; -1 if none. */
export function lastIndexBeforeConversion(processors: ReadonlyArray<Pick<Processor, "beforeConversion">>): number {
  for (let index = processors.length - 1; index >= 0; index -= 1) if (processors[index]!.beforeConversion === "required") return index;
  return -1;
}

/**
 * The spans of a request in the converter's order (resource, scope, span), with each span
 * object's place: `indexOf` maps a span object to its place in the request as received, and
 * `list` gives, for each span in this order, that place (`indexOf` from an earlier call).
 */
function spanOrigins(resourceSpans: readonly unknown[], earlier?: ReadonlyMap<unknown, number>): { count: number; indexOf: Map<unknown, number>; list: number[] } {
  const indexOf = new Map<unknown, number>();
  const list: number[] = [];
  let count = 0;
  for (const resource of resourceSpans) {
    const scopes = (resource as { scopeSpans?: unknown } | null)?.scopeSpans;
    if (!Array.isArray(scopes)) continue;
    for (const scope of scopes) {
      const spans = (scope as { spans?: unknown } | null)?.spans;
      if (!Array.isArray(spans)) continue;
      for (const span of spans) {
        if (typeof span === "object" && span !== null) indexOf.set(span, count);
        list.push(earlier?.get(span) ?? count);
        count += 1;
      }
    }
  }
  return { count, indexOf, list };
}
