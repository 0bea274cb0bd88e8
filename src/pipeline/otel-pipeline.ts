import { InvalidDataError, PermanentError } from "./errors.js";
import { ExportGroup } from "./export.js";
import type { ConsumeResult, ProjectScope, RequestContext, TracePayload } from "./payload.js";
import { PipelineBase } from "./pipeline.js";
import { SpanBatch } from "./span-batch.js";
import { Pacer } from "./pacing.js";

/**
 * An `otel` pipeline: what Langfuse's web container does for OTLP since v3.108. The request's
 * resource spans pass through the processors (auth, validate, sample, rate_limit) as raw spans
 * and are stored as one object; the `langfuse_otel` exporter then enqueues the
 * `otel-ingestion-job` that makes Langfuse's worker convert them. Langfuse v4 in its default
 * `events_only` write mode ingests spans only this way.
 */
export class OtelPipeline extends PipelineBase {
  readonly type = "otel";

  async consume(payload: TracePayload, requestContext: RequestContext): Promise<ConsumeResult> {
    if (payload.kind !== "otlp") {
      // The receivers' routing sends native batches only to events pipelines; this is a wiring bug.
      throw new InvalidDataError(`pipeline ${this.id} carries OTLP spans only, not native ingestion batches`);
    }
    // Each pipeline resolves its own scope; the receiver's context stays untouched.
    const context: RequestContext = { ...requestContext };
    // A very large OTLP/JSON body is parsed span by span, so the daemon keeps answering meanwhile.
    const pacer = new Pacer();
    await payload.request.parseStructurePaced(() => pacer.step());
    const pool = this.parts.buffers?.storedJson;
    const batch = new SpanBatch(context, payload.request, pool);
    const itemCount = batch.spanCount + batch.rejections.length;
    for (const { processor } of this.processors) await processor.processSpans(batch);
    const scope = context.scope;
    if (scope === undefined) {
      // The pipeline builder refuses chains without auth; reaching this is a bug, not bad input.
      throw new PermanentError(`pipeline ${this.id} has no project scope after its processors`);
    }
    const spanCount = batch.spanCount;
    if (spanCount > 0) {
      const group = ExportGroup.fromResourceSpansJson(batch.serialise(), spanCount, Date.now(), pool);
      try {
        await this.deliver(context as RequestContext & { scope: ProjectScope }, [group]);
      } catch (error) {
        this.parts.logger.warn({ err: error }, "request not accepted");
        throw error;
      }
    }
    return { itemCount, rejections: batch.rejections, ignored: new Set(), projectId: scope.projectId };
  }
}
