import { join } from "node:path";
import type { Logger } from "pino";
import type { ResolvedConfig, SpoolConfig } from "./config/resolve.js";
import type { ConversionOptions } from "./conversion/convert.js";
import { createBufferPools, type BufferPools } from "./pipeline/buffer-pool.js";
import { ByteBudget } from "./pipeline/byte-budget.js";
import type { Component, ComponentSettings, Exporter, ProcessorSettings, Receiver } from "./pipeline/component.js";
import { EventsPipeline } from "./pipeline/events-pipeline.js";
import type { SeenTraceStore } from "./pipeline/export.js";
import type { NamedExporter } from "./pipeline/exporter-chain.js";
import { FanoutConsumer, type TypedConsumer } from "./pipeline/fanout.js";
import { OtelPipeline } from "./pipeline/otel-pipeline.js";
import type { Pipeline } from "./pipeline/pipeline.js";
import { InMemorySeenTraceStore } from "./pipeline/seen-traces.js";
import type { SpoolOptions } from "./spool/spool.js";
import { HealthServer } from "./telemetry/health.js";
import { memoryGuard } from "./memory-guard.js";
import { MetricsServer } from "./telemetry/metrics-server.js";
import { metrics } from "./telemetry/metrics.js";

export interface ServiceOptions {
  logger: Logger;
  conversion?: ConversionOptions;
  /** This process's place among the daemon's worker processes (each has its own spool). */
  worker?: { index: number; count: number };
  /** Workers leave `/metrics` to the primary, which aggregates them. */
  serveMetrics?: boolean;
  /**
   * The resident memory `service.memory_limit` is compared with: this process's by default; a
   * worker's is the whole daemon's (src/daemon-memory.ts).
   */
  residentBytes?: () => number;
}

/**
 * The running daemon: components built from a resolved config and wired into pipelines.
 * Exporters are shared by the pipelines that list them, processors belong to one pipeline, and a
 * receiver feeds every pipeline that lists it. Started exporters first and stopped receivers
 * first, so every stage drains into a live consumer.
 */
export class Service {
  readonly receivers = new Map<string, Receiver>();
  readonly pipelines: Pipeline[] = [];
  readonly exporters = new Map<string, Exporter>();
  /** Owned here and handed to the receivers and pipelines that borrow from them. */
  readonly buffers: BufferPools = createBufferPools();
  /** Request bodies in flight, across every receiver of this process. */
  readonly requestBudget: ByteBudget;
  /** Each pipeline's exporters in order, with their project routing. */
  readonly #pipelineExporters = new Map<string, NamedExporter[]>();
  readonly health: HealthServer;
  readonly metricsServer: MetricsServer | undefined;
  readonly #logger: Logger;
  readonly #shutdownTimeoutMs: number;
  #config: ResolvedConfig;
  readonly #processorSettings: (pipeline: string, id: ComponentSettings["id"]) => ProcessorSettings;
  #state: "new" | "running" | "stopping" | "stopped" = "new";

  constructor(config: ResolvedConfig, options: ServiceOptions) {
    this.#logger = options.logger;
    this.#shutdownTimeoutMs = config.shutdownTimeoutMs;
    this.#config = config;
    this.health = new HealthServer(config.health, (error) => options.logger.error({ err: error }, "health check failed unexpectedly"));
    this.metricsServer =
      config.metrics.enabled && options.serveMetrics !== false
        ? new MetricsServer(config.metrics, "process", (error) => options.logger.error({ err: error }, "metrics scrape failed unexpectedly"))
        : undefined;
    const settings = (kind: string, id: ComponentSettings["id"]): ComponentSettings => ({
      id,
      logger: options.logger.child({ component: `${kind}/${id.text}` }),
      metrics,
    });
    this.#processorSettings = (pipeline, id) => ({ ...settings("processor", id), pipeline });
    this.requestBudget = new ByteBudget(config.maxInflightRequestBytes);

    const used = (kind: "exporters" | "receivers") => new Set(config.pipelines.flatMap((pipeline) => pipeline[kind]));
    for (const name of used("exporters")) {
      const { id, factory, config: componentConfig } = config.exporters.get(name)!;
      this.exporters.set(name, factory.create(settings("exporter", id), componentConfig as never));
    }

    const fallbackSeenTraces = new InMemorySeenTraceStore();
    const consumersByReceiver = new Map<string, TypedConsumer[]>();
    for (const pipeline of config.pipelines) {
      const exporters = pipeline.exporters.map((name): NamedExporter => {
        const projects = (config.exporters.get(name)!.config as { projects?: string[] }).projects;
        return { id: name, exporter: this.exporters.get(name)!, projects: projects ? new Set(projects) : undefined };
      });
      this.#pipelineExporters.set(pipeline.id, exporters);
      const seenTraces: SeenTraceStore = exporters.find(({ exporter }) => exporter.seenTraceStore)?.exporter.seenTraceStore?.() ?? fallbackSeenTraces;
      const processors = pipeline.processors.map((name) => {
        const { id, factory, config: componentConfig } = config.processors.get(name)!;
        return { id: name, processor: factory.create(this.#processorSettings(pipeline.id, id), componentConfig as never) };
      });
      const parts = {
        id: pipeline.id,
        processors,
        exporters,
        logger: options.logger.child({ pipeline: pipeline.id }),
        spool: config.spool.enabled
          ? { ...spoolOptions(config.spool, pipeline.id, options.worker?.index ?? 0), batch: pipeline.batch, pipeline: pipeline.id }
          : undefined,
        worker: options.worker ?? { index: 0, count: 1 },
        buffers: this.buffers,
      };
      const built: Pipeline = pipeline.type === "otel" ? new OtelPipeline(parts) : new EventsPipeline({ ...parts, seenTraces, conversion: options.conversion });
      this.pipelines.push(built);
      for (const receiver of pipeline.receivers) {
        const list = consumersByReceiver.get(receiver) ?? [];
        list.push({ type: built.type, consumer: built });
        consumersByReceiver.set(receiver, list);
      }
    }

    const admitProcess = memoryGuard(config.memoryLimitBytes, options.residentBytes ?? process.memoryUsage.rss);
    for (const [name, consumers] of consumersByReceiver) {
      const { id, factory, config: componentConfig } = config.receivers.get(name)!;
      const receiverSettings = { ...settings("receiver", id), buffers: this.buffers, requestBudget: this.requestBudget };
      this.receivers.set(name, factory.create(receiverSettings, componentConfig as never, new FanoutConsumer(consumers, admitProcess)));
    }
  }

  /** A pipeline's exporters in order, with their project routing (dead-letter replay uses them too). */
  exportersOf(pipelineId: string): NamedExporter[] {
    return this.#pipelineExporters.get(pipelineId) ?? [];
  }

  async start(): Promise<void> {
    if (this.#state !== "new") throw new Error(`service cannot start: it is ${this.#state}`);
    this.#state = "running";
    const started: Component[] = [];
    try {
      await this.health.listen();
      await this.metricsServer?.listen();
      for (const component of [...this.exporters.values(), ...this.pipelines, ...this.receivers.values()]) {
        await component.start();
        started.push(component);
      }
    } catch (error) {
      // A port in use or a bad directory: undo what started, then report.
      for (const component of started.reverse()) await component.shutdown().catch(() => {});
      await this.health.close().catch(() => {});
      await this.metricsServer?.close().catch(() => {});
      this.#state = "stopped";
      throw error;
    }
    this.health.setReadinessCheck(() => {
      for (const pipeline of this.pipelines) {
        const reason = pipeline.unreadyReason();
        if (reason !== undefined) return reason;
      }
      return undefined;
    });
    this.health.setReady(true);
    this.#logger.info(
      {
        receivers: Object.fromEntries([...this.receivers].map(([name, receiver]) => [name, receiver.addresses()])),
        health: `http://${this.health.address()}`,
        metrics: this.metricsServer ? `http://${this.metricsServer.address()}/metrics` : undefined,
      },
      "daemon started",
    );
  }

  /**
   * Live reload: every pipeline gets the processor chain of `next` (order and settings) for the
   * requests that start from now on, without closing a listener or touching the spool. Changes
   * elsewhere (receivers, exporters, pipelines' receivers and exporters, service settings) need
   * a restart; they are returned so the caller can say so, and the rest is applied anyway.
   */
  async reload(next: ResolvedConfig): Promise<{ restartNeeded: string[] }> {
    const current = this.#config;
    const restartNeeded = structuralDifferences(current, next);
    for (const pipeline of this.pipelines) {
      const wanted = next.pipelines.find((candidate) => candidate.id === pipeline.id);
      if (wanted === undefined) continue;
      const processors = wanted.processors.map((name) => {
        const { id, factory, config: componentConfig } = next.processors.get(name)!;
        return { id: name, processor: factory.create(this.#processorSettings(pipeline.id, id), componentConfig as never) };
      });
      await pipeline.replaceProcessors(processors);
    }
    this.#config = next;
    this.#logger.info({ processors: Object.fromEntries(next.pipelines.map((pipeline) => [pipeline.id, pipeline.processors])), restartNeeded }, "configuration reloaded");
    return { restartNeeded };
  }

  /**
   * Receivers stop accepting and finish their in-flight requests (which land in the spool), the
   * spool exports what it can until shortly before the deadline and keeps the rest on disk, then
   * the exporters close. The whole stop fits in `shutdown_timeout`.
   */
  async shutdown(): Promise<void> {
    if (this.#state === "stopping" || this.#state === "stopped") return;
    this.#state = "stopping";
    // Not ready at once: Kubernetes stops routing new connections while in-flight ones finish.
    this.health.setReady(false, "shutting down");
    const deadline = Date.now() + this.#shutdownTimeoutMs;
    // Leave time after the spool drain for closing files and connections.
    const drainDeadline = deadline - Math.min(2_000, this.#shutdownTimeoutMs / 5);
    const settle = async (label: string, work: Array<Promise<void>>) => {
      for (const result of await Promise.allSettled(work)) {
        if (result.status === "rejected") this.#logger.warn({ err: result.reason }, `${label} shutdown failed`);
      }
    };
    const stopAll = async () => {
      await settle("receiver", [...this.receivers.values()].map((receiver) => receiver.shutdown()));
      await settle("pipeline", this.pipelines.map((pipeline) => pipeline.shutdown(drainDeadline)));
      await settle("exporter", [...this.exporters.values()].map((exporter) => exporter.shutdown()));
    };
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<"timeout">((resolve) => {
      timer = setTimeout(() => resolve("timeout"), this.#shutdownTimeoutMs);
    });
    const outcome = await Promise.race([stopAll().then(() => "done" as const), timeout]);
    clearTimeout(timer);
    if (outcome === "timeout") this.#logger.warn({ timeoutMs: this.#shutdownTimeoutMs }, "shutdown timed out; stopping anyway");
    await this.health.close();
    await this.metricsServer?.close();
    this.#state = "stopped";
    this.#logger.info("daemon stopped");
  }
}

/** `<spool directory>/<pipeline>`: holds one `worker-<n>` spool per worker process. */
export function pipelineSpoolRoot(config: SpoolConfig, pipelineId: string): string {
  return join(config.directory, pipelineId.replaceAll("/", "_"));
}

export function spoolOptions(config: SpoolConfig, pipelineId: string, workerIndex: number): SpoolOptions {
  return {
    directory: join(pipelineSpoolRoot(config, pipelineId), `worker-${workerIndex}`),
    maxBytes: config.max_bytes,
    segmentBytes: config.segment_bytes,
    fsync: config.fsync,
    exportConcurrency: config.export_concurrency,
    memoryWindowBytes: config.memory_window,
    retry: {
      initialIntervalMs: config.retry.initial_interval,
      maxIntervalMs: config.retry.max_interval,
      multiplier: config.retry.multiplier,
      maxElapsedMs: config.retry.max_elapsed_time,
    },
    retryAfterMs: config.retry_after,
  };
}

/** What a live reload cannot apply: everything but the processor chains. */
function structuralDifferences(current: ResolvedConfig, next: ResolvedConfig): string[] {
  const componentConfigs = (map: ReadonlyMap<string, { config: unknown }>) => JSON.stringify([...map].map(([name, component]) => [name, component.config]).sort());
  const pipelineShape = (config: ResolvedConfig) =>
    JSON.stringify(config.pipelines.map((pipeline) => [pipeline.id, pipeline.receivers, pipeline.exporters, pipeline.batch ?? null]));
  const service = (config: ResolvedConfig) =>
    JSON.stringify([config.logs, config.shutdownTimeoutMs, config.memoryLimitBytes, config.maxInflightRequestBytes, config.spool, config.health, config.metrics, config.workers, config.heapGrowthPercent]);
  const differences: string[] = [];
  if (componentConfigs(current.receivers) !== componentConfigs(next.receivers)) differences.push("receivers");
  if (componentConfigs(current.exporters) !== componentConfigs(next.exporters)) differences.push("exporters");
  if (pipelineShape(current) !== pipelineShape(next)) differences.push("pipelines (receivers, exporters or batch settings)");
  if (service(current) !== service(next)) differences.push("service settings");
  return differences;
}
