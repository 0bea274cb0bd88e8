import type { Logger } from "pino";
import { convertResourceSpans, type ConversionOptions } from "../conversion/convert.js";
import type { IngestionEvent } from "../model/events.js";
import { EventBatch, type EventRecord } from "./batch.js";
import type { Component, EventsProcessor } from "./component.js";
import { PermanentError } from "./errors.js";
import { prepareExportGroups, runExporterChain, summariseFailures, type NamedExporter } from "./exporter-chain.js";
import type { SeenTraceStore } from "./export.js";
import type { ConsumeResult, ItemRejection, PayloadConsumer, ProjectScope, RequestContext, TracePayload } from "./payload.js";
import { dropShallowTracesOfSeenTraces } from "./seen-traces.js";
import { Spool, type SpoolOptions } from "../spool/spool.js";
import { metrics } from "../telemetry/metrics.js";
import { readdir } from "node:fs/promises";
import { dirname, join } from "node:path";

export interface NamedProcessor {
  id: string;
  processor: EventsProcessor;
}

export interface EventsPipelineParts {
  id: string;
  processors: NamedProcessor[];
  exporters: NamedExporter[];
  seenTraces: SeenTraceStore;
  logger: Logger;
  conversion?: ConversionOptions;
  /** With a spool, requests are acknowledged once durable on disk and exported in the background. */
  spool?: SpoolOptions;
  worker?: { index: number; count: number };
}

/**
 * An `events` pipeline: OTLP spans are converted to Langfuse ingestion events (native batches
 * already are events), the processors run in the order the config lists them, and the exporters
 * write each group's blob and job.
 */
export class EventsPipeline implements PayloadConsumer, Component {
  readonly id: string;
  readonly #parts: EventsPipelineParts;
  #spool: Spool | undefined;
  /** Swapped whole by `replaceProcessors`; each request keeps the list it started with. */
  #processors: NamedProcessor[];
  #adoption: Promise<void> | undefined;
  readonly #adopted = new Set<Spool>();

  constructor(parts: EventsPipelineParts) {
    this.id = parts.id;
    this.#parts = parts;
    this.#processors = parts.processors;
  }

  get spool(): Spool | undefined {
    return this.#spool;
  }

  /**
   * Runs after the exporters have started (the service starts them) and before any receiver:
   * the spool's leftovers from the last run start exporting before new data arrives.
   */
  async start(): Promise<void> {
    if (this.#parts.spool) {
      this.#spool = await Spool.open(this.#parts.spool, this.#parts.exporters, this.#parts.logger.child({ spool: this.#parts.spool.directory }));
      this.#spool.start();
      this.#adoption = this.#adoptOrphanedSpools(this.#parts.spool);
    }
    for (const { processor } of this.#processors) await processor.start();
  }

  /** Exports what is spooled until `deadline` (epoch ms); the rest stays on disk for the next start. */
  async shutdown(deadline: number = Date.now()): Promise<void> {
    for (const { processor } of this.#processors) await processor.shutdown();
    await this.#adoption;
    await Promise.all([this.#spool?.shutdown(deadline), ...[...this.#adopted].map((spool) => spool.shutdown(deadline))]);
  }

  /**
   * Spools of worker processes that no longer exist (the daemon now runs fewer workers) are
   * drained by the worker with the same index modulo the worker count, then released.
   */
  async #adoptOrphanedSpools(own: SpoolOptions): Promise<void> {
    const { index, count } = this.#parts.worker ?? { index: 0, count: 1 };
    const root = dirname(own.directory);
    const entries = await readdir(root).catch(() => [] as string[]);
    for (const name of entries) {
      const match = /^worker-(\d+)$/.exec(name);
      const other = match ? Number(match[1]) : Number.NaN;
      if (!(other >= count && other % count === index)) continue;
      try {
        const spool = await Spool.open({ ...own, directory: join(root, name) }, this.#parts.exporters, this.#parts.logger.child({ spool: join(root, name), adopted: true }));
        this.#adopted.add(spool);
        spool.start();
        void spool.idle().then(async () => {
          if (!this.#adopted.delete(spool)) return;
          await spool.shutdown(Date.now());
        });
      } catch (error) {
        this.#parts.logger.warn({ err: error, directory: join(root, name) }, "could not adopt a left-over spool");
      }
    }
  }

  admit(): void {
    this.#spool?.admit();
  }

  /**
   * Why this pipeline cannot take data now, if it cannot: with a spool, only a full spool matters
   * (it holds data while backends are away); without one, every exporter must reach its backend.
   */
  unreadyReason(): string | undefined {
    if (this.#spool) {
      const full = this.#spool.fullReason();
      return full === undefined ? undefined : `${this.id}: ${full}`;
    }
    for (const { id, exporter } of this.#parts.exporters) {
      const reason = exporter.unreadyReason?.();
      if (reason !== undefined) return `${this.id}: ${id}: ${reason}`;
    }
    return undefined;
  }

  /**
   * Live reload of the processor chain: the new chain serves every request that starts from now
   * on; requests already running finish with the old one. Listeners, spool and exporters stay.
   */
  async replaceProcessors(processors: NamedProcessor[]): Promise<void> {
    for (const { processor } of processors) await processor.start();
    const previous = this.#processors;
    this.#processors = processors;
    for (const { processor } of previous) await processor.shutdown();
  }

  async consume(payload: TracePayload, requestContext: RequestContext): Promise<ConsumeResult> {
    // Each pipeline resolves its own scope; the receiver's context stays untouched.
    const context: RequestContext = { ...requestContext };
    const { records, itemCount, rejections } = this.#toRecords(payload);
    const batch = new EventBatch(context, records);
    batch.rejections.push(...rejections);

    for (const { id, processor } of this.#processors) {
      const before = { events: batch.eventCount, rejections: batch.rejections.length, drops: new Map(batch.drops) };
      await processor.process(batch);
      this.#countProcessor(id, batch, before);
    }

    // Langfuse counts a request's events once its credentials are accepted, valid or not.
    metrics.langfuseIngestionEvents.inc({ source: context.source }, records.length);
    metrics.langfuseEventDistribution.observe({ source: context.source }, records.length);
    const scope = context.scope;
    if (scope === undefined) {
      // The pipeline builder refuses chains without auth; reaching this is a bug, not bad input.
      throw new PermanentError(`pipeline ${this.id} has no project scope after its processors`);
    }
    const claimed = await dropShallowTracesOfSeenTraces(batch, this.#parts.seenTraces);
    const groups = prepareExportGroups(batch);
    try {
      if (this.#spool) {
        const { authorization: _secret, ...rest } = context;
        await this.#spool.append({ context: { ...rest, authorization: undefined, scope }, groups });
      } else {
        const failures = await runExporterChain({ context: context as RequestContext & { scope: ProjectScope }, groups }, this.#parts.exporters);
        if (failures.length > 0) throw summariseFailures(failures, groups.length);
      }
    } catch (error) {
      await this.#parts.seenTraces.release(scope.projectId, claimed);
      this.#parts.logger.warn({ err: error }, "request not accepted");
      throw error;
    }
    return { itemCount, rejections: batch.rejections, ignored: batch.ignored, projectId: scope.projectId };
  }

  /** What one processor passed on and what it dropped, by reason. */
  #countProcessor(processor: string, batch: EventBatch, before: { events: number; rejections: number; drops: Map<string, number> }): void {
    const pipeline = this.id;
    const passed = batch.eventCount;
    metrics.processorEvents.inc({ pipeline, processor, outcome: "passed", reason: "" }, passed);
    for (const rejection of batch.rejections.slice(before.rejections)) {
      metrics.processorEvents.inc({ pipeline, processor, outcome: "dropped", reason: rejection.status === 401 ? "auth" : "validation" });
    }
    for (const [reason, count] of batch.drops) {
      const delta = count - (before.drops.get(reason) ?? 0);
      if (delta > 0) metrics.processorEvents.inc({ pipeline, processor, outcome: "dropped", reason: reason === "sampled" ? "sampling" : reason }, delta);
    }
  }

  #toRecords(payload: TracePayload): { records: EventRecord[]; itemCount: number; rejections: ItemRejection[] } {
    if (payload.kind === "ingestion") {
      const records = payload.events.map((event, origin) => ({ event: event as IngestionEvent, origin }));
      return { records, itemCount: payload.events.length, rejections: [] };
    }
    const converted = convertResourceSpans(payload.resourceSpans, this.#parts.conversion);
    const records = converted.events.map(({ event, spanIndex, shallowTrace }) => ({ event, origin: spanIndex, shallowTrace }));
    const rejections = converted.rejectedSpans.map(
      ({ spanIndex, reason }): ItemRejection => ({ origin: spanIndex, status: 400, message: "Invalid span", error: reason }),
    );
    return { records, itemCount: converted.spanCount, rejections };
  }
}
