import { readdir } from "node:fs/promises";
import { dirname, join } from "node:path";
import type { Logger } from "pino";
import { Spool, type SpoolOptions } from "../spool/spool.js";
import type { Component, PipelineType, Processor } from "./component.js";
import type { BufferPools } from "./buffer-pool.js";
import { releaseBodies, type ExportGroup } from "./export.js";
import { runExporterChain, summariseFailures, type NamedExporter } from "./exporter-chain.js";
import type { PayloadConsumer, ProjectScope, RequestContext } from "./payload.js";

export interface NamedProcessor {
  id: string;
  processor: Processor;
}

export interface PipelineParts {
  id: string;
  processors: NamedProcessor[];
  exporters: NamedExporter[];
  logger: Logger;
  /** With a spool, requests are acknowledged once durable on disk and exported in the background. */
  spool?: SpoolOptions;
  /** The daemon's buffer pools: the raw path borrows the text it stores from `storedJson`. */
  buffers?: BufferPools;
  worker?: { index: number; count: number };
}

/** What the service needs of every pipeline type. */
export interface Pipeline extends PayloadConsumer, Component {
  readonly id: string;
  readonly type: PipelineType;
  readonly spool: Spool | undefined;
  shutdown(deadline?: number): Promise<void>;
  unreadyReason(): string | undefined;
  replaceProcessors(processors: NamedProcessor[]): Promise<void>;
}

/**
 * What every pipeline type shares: the processor chain (swappable by a live reload), and the
 * delivery of export groups, through the spool when there is one (acknowledged once durable) or
 * straight through the exporter chain.
 */
export abstract class PipelineBase implements Pipeline {
  abstract readonly type: PipelineType;
  readonly id: string;
  protected readonly parts: PipelineParts;
  #spool: Spool | undefined;
  /** Swapped whole by `replaceProcessors`; each request keeps the list it started with. */
  #processors: NamedProcessor[];
  #adoption: Promise<void> | undefined;
  readonly #adopted = new Set<Spool>();

  constructor(parts: PipelineParts) {
    this.id = parts.id;
    this.parts = parts;
    this.#processors = parts.processors;
  }

  abstract consume(...args: Parameters<PayloadConsumer["consume"]>): ReturnType<PayloadConsumer["consume"]>;

  get spool(): Spool | undefined {
    return this.#spool;
  }

  protected get processors(): NamedProcessor[] {
    return this.#processors;
  }

  /**
   * Runs after the exporters have started (the service starts them) and before any receiver:
   * the spool's leftovers from the last run start exporting before new data arrives.
   */
  async start(): Promise<void> {
    if (this.parts.spool) {
      this.#spool = await Spool.open(this.parts.spool, this.parts.exporters, this.parts.logger.child({ spool: this.parts.spool.directory }));
      this.#spool.start();
      this.#adoption = this.#adoptOrphanedSpools(this.parts.spool);
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
    const { index, count } = this.parts.worker ?? { index: 0, count: 1 };
    const root = dirname(own.directory);
    const entries = await readdir(root).catch(() => [] as string[]);
    for (const name of entries) {
      const match = /^worker-(\d+)$/.exec(name);
      const other = match ? Number(match[1]) : Number.NaN;
      if (!(other >= count && other % count === index)) continue;
      try {
        const spool = await Spool.open({ ...own, directory: join(root, name) }, this.parts.exporters, this.parts.logger.child({ spool: join(root, name), adopted: true }));
        this.#adopted.add(spool);
        spool.start();
        void spool.idle().then(async () => {
          if (!this.#adopted.delete(spool)) return;
          await spool.shutdown(Date.now());
        });
      } catch (error) {
        this.parts.logger.warn({ err: error, directory: join(root, name) }, "could not adopt a left-over spool");
      }
    }
  }

  admit(): void {
    this.#spool?.admit();
  }

  async authenticate(context: RequestContext): Promise<void> {
    for (const { processor } of this.#processors) await processor.authenticate?.(context);
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
    for (const { id, exporter } of this.parts.exporters) {
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

  /** Makes the groups durable (spool) or exports them now; rejects when the request cannot be accepted. */
  protected async deliver(context: RequestContext & { scope: ProjectScope }, groups: ExportGroup[]): Promise<void> {
    if (this.#spool) {
      const { authorization: _secret, ...rest } = context;
      await this.#spool.append({ context: { ...rest, authorization: undefined }, groups });
      return;
    }
    const failures = await runExporterChain({ context, groups }, this.parts.exporters);
    // Every exporter has settled: nothing reads the bodies any more.
    releaseBodies(groups);
    if (failures.length > 0) throw summariseFailures(failures, groups.length);
  }
}
