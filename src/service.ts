import type { Logger } from "pino";
import type { ResolvedConfig } from "./config/resolve.js";
import type { Component, ComponentSettings, EventsExporter, Receiver } from "./pipeline/component.js";
import { EventsPipeline } from "./pipeline/events-pipeline.js";
import type { SeenTraceStore } from "./pipeline/export.js";
import { FanoutConsumer } from "./pipeline/fanout.js";
import type { PayloadConsumer } from "./pipeline/payload.js";
import { InMemorySeenTraceStore } from "./pipeline/seen-traces.js";
import type { ConversionOptions } from "./conversion/convert.js";

export interface ServiceOptions {
  logger: Logger;
  conversion?: ConversionOptions;
}

/**
 * The running daemon: components built from a resolved config and wired into pipelines.
 * Exporters are shared by the pipelines that list them, processors belong to one pipeline, and a
 * receiver feeds every pipeline that lists it. Started exporters first and stopped receivers
 * first, so every stage drains into a live consumer.
 */
export class Service {
  readonly receivers = new Map<string, Receiver>();
  readonly pipelines: EventsPipeline[] = [];
  readonly exporters = new Map<string, EventsExporter>();
  readonly #logger: Logger;
  readonly #shutdownTimeoutMs: number;
  #state: "new" | "running" | "stopping" | "stopped" = "new";

  constructor(config: ResolvedConfig, options: ServiceOptions) {
    this.#logger = options.logger;
    this.#shutdownTimeoutMs = config.shutdownTimeoutMs;
    const settings = (kind: string, id: ComponentSettings["id"]): ComponentSettings => ({
      id,
      logger: options.logger.child({ component: `${kind}/${id.text}` }),
    });

    const used = (kind: "exporters" | "receivers") => new Set(config.pipelines.flatMap((pipeline) => pipeline[kind]));
    for (const name of used("exporters")) {
      const { id, factory, config: componentConfig } = config.exporters.get(name)!;
      this.exporters.set(name, factory.create(settings("exporter", id), componentConfig as never));
    }

    const fallbackSeenTraces = new InMemorySeenTraceStore();
    const consumersByReceiver = new Map<string, PayloadConsumer[]>();
    for (const pipeline of config.pipelines) {
      const exporters = pipeline.exporters.map((name) => ({ id: name, exporter: this.exporters.get(name)! }));
      const seenTraces: SeenTraceStore = exporters.find(({ exporter }) => exporter.seenTraceStore)?.exporter.seenTraceStore?.() ?? fallbackSeenTraces;
      const processors = pipeline.processors.map((name) => {
        const { id, factory, config: componentConfig } = config.processors.get(name)!;
        return { id: name, processor: factory.create(settings("processor", id), componentConfig as never) };
      });
      const built = new EventsPipeline({
        id: pipeline.id,
        processors,
        exporters,
        seenTraces,
        logger: options.logger.child({ pipeline: pipeline.id }),
        conversion: options.conversion,
      });
      this.pipelines.push(built);
      for (const receiver of pipeline.receivers) {
        const list = consumersByReceiver.get(receiver) ?? [];
        list.push(built);
        consumersByReceiver.set(receiver, list);
      }
    }

    for (const [name, consumers] of consumersByReceiver) {
      const { id, factory, config: componentConfig } = config.receivers.get(name)!;
      this.receivers.set(name, factory.create(settings("receiver", id), componentConfig as never, new FanoutConsumer(consumers)));
    }
  }

  async start(): Promise<void> {
    if (this.#state !== "new") throw new Error(`service cannot start: it is ${this.#state}`);
    this.#state = "running";
    const started: Component[] = [];
    try {
      for (const component of [...this.exporters.values(), ...this.pipelines, ...this.receivers.values()]) {
        await component.start();
        started.push(component);
      }
    } catch (error) {
      // A port in use or a bad directory: undo what started, then report.
      for (const component of started.reverse()) await component.shutdown().catch(() => {});
      this.#state = "stopped";
      throw error;
    }
    this.#logger.info({ receivers: Object.fromEntries([...this.receivers].map(([name, receiver]) => [name, receiver.addresses()])) }, "daemon started");
  }

  /**
   * Receivers stop accepting and finish their in-flight requests, then processors and exporters
   * stop. Gives up waiting after the configured shutdown timeout.
   */
  async shutdown(): Promise<void> {
    if (this.#state === "stopping" || this.#state === "stopped") return;
    this.#state = "stopping";
    const stages: Component[][] = [[...this.receivers.values()], this.pipelines, [...this.exporters.values()]];
    const stopAll = async () => {
      for (const stage of stages) {
        const results = await Promise.allSettled(stage.map((component) => component.shutdown()));
        for (const result of results) {
          if (result.status === "rejected") this.#logger.warn({ err: result.reason }, "component shutdown failed");
        }
      }
    };
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<"timeout">((resolve) => {
      timer = setTimeout(() => resolve("timeout"), this.#shutdownTimeoutMs);
    });
    const outcome = await Promise.race([stopAll().then(() => "done" as const), deadline]);
    clearTimeout(timer);
    if (outcome === "timeout") this.#logger.warn({ timeoutMs: this.#shutdownTimeoutMs }, "shutdown timed out; stopping anyway");
    this.#state = "stopped";
    this.#logger.info("daemon stopped");
  }
}
