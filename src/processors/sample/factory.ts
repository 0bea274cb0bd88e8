import { z } from "zod";
import { traceIdForSampling } from "../../model/events.js";
import { defineProcessor } from "../../pipeline/define-processor.js";
import { numeric } from "../../config/units.js";
import { isTraceInSample } from "./decision.js";

export const sampleConfigSchema = z
  .strictObject({
    rates: z
      .record(z.string().min(1).describe("project id"), numeric.pipe(z.number().min(0).max(1)))
      .default({})
      .describe("Project id → fraction of traces to keep; projects not listed keep everything."),
  })
  .describe(
    "Langfuse's per-project trace sampling, bit-exact (the first 32 bits of sha256(traceId) below the rate), so a trace is kept or dropped whole. Unlike Langfuse, sampled-out events are dropped before anything is stored; they still count as successes. In an otel pipeline each span is kept or dropped by its trace id.",
  );

export type SampleConfig = z.output<typeof sampleConfigSchema>;

/**
 * Unlike Langfuse, which writes the blob and only skips the job, sampled-out events leave here,
 * before anything is stored. They still count as successes for the client.
 * A group is kept or dropped as a whole, by its first event, as Langfuse decides per group.
 * In an otel pipeline each span is kept or dropped by its trace id (as the worker will read it),
 * so a trace is kept or dropped whole with the same rule as its converted events.
 */
export const sampleProcessorFactory = defineProcessor({
  type: "sample",
  configSchema: sampleConfigSchema,
  requires: [{ capability: "project_scope", reason: "sampling rates are per project, and the project is known only after auth" }],
  setup: (_settings, config) => new Map(Object.entries(config.rates)),
  events(batch, rates, { metrics }): void {
    const rate = rates.get(batch.context.scope?.projectId ?? "");
    if (rate === undefined) return;
    const kept = batch.groups.filter((group) => {
      const traceId = traceIdForSampling(group[0]!.event);
      if (traceId === undefined || isTraceInSample(traceId, rate)) {
        metrics.langfuseSampling.inc({ sampling_decision: "in" }, group.length);
        return true;
      }
      metrics.langfuseSampling.inc({ sampling_decision: "out" }, group.length);
      batch.drop("sampled", group.length);
      return false;
    });
    batch.groups = kept;
  },
  spans(batch, rates, { metrics }): void {
    const rate = rates.get(batch.context.scope?.projectId ?? "");
    if (rate === undefined) return;
    const total = batch.spanCount;
    const dropped = batch.retainByTraceId((traceId) => traceId === undefined || isTraceInSample(traceId, rate));
    metrics.langfuseSampling.inc({ sampling_decision: "in" }, total - dropped);
    metrics.langfuseSampling.inc({ sampling_decision: "out" }, dropped);
    batch.drop("sampled", dropped);
  },
});
