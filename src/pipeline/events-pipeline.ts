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
    const { records, itemCount, rejections } = await this.#toRecords(payload);
    const batch = new EventBatch(context, records);
    batch.rejections.push(...rejections);

    for (const { processor } of this.processors) await processor.process(batch);

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

  async #toRecords(payload: TracePayload): Promise<{ records: EventRecord[]; itemCount: number; rejections: ItemRejection[] }> {
    if (payload.kind === "ingestion") {
      const records = payload.events.map((event, origin) => ({ event: event as IngestionEvent, origin }));
      return { records, itemCount: payload.events.length, rejections: [] };
    }
    // A very large request is parsed and converted in slices, so the daemon keeps answering meanwhile.
    const pacer = new Pacer();
    const resourceSpans = await payload.request.resourceSpansPaced(() => pacer.step());
    const converted = await convertResourceSpansPaced(resourceSpans, this.#parts.conversion, () => pacer.step());
    const records = converted.events.map(({ event, spanIndex, shallowTrace }) => ({ event, origin: spanIndex, shallowTrace }));
    const rejections = converted.rejectedSpans.map(
      ({ spanIndex, reason }): ItemRejection => ({ origin: spanIndex, status: 400, message: "Invalid span", error: reason }),
    );
    return { records, itemCount: converted.spanCount, rejections };
  }
}
