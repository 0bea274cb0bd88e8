import type { z } from "zod";
import type { EventBatch } from "./batch.js";
import { pipelineTypesOf, type BeforeConversion, type Processor, type ProcessorCapability, type ProcessorFactory, type ProcessorSettings } from "./component.js";
import type { RequestContext } from "./payload.js";
import type { SpanBatch } from "./span-batch.js";

/**
 * A processor as its author writes it: the type, the config schema, the order rules, and one
 * function per kind of data it works on. It works exactly in the pipeline types it has a function
 * for: `events` (converted Langfuse events, events pipelines) and `spans` (raw OTLP spans, otel
 * pipelines). Everything else a processor needs is the helper's: lifecycle defaults, the count of
 * what passed and what left it (by reason), and its logger and metrics through `settings`.
 *
 * `setup` builds one instance's state (token buckets, a key store) from its settings and config;
 * without it the state is the config. Each pipeline, and each live reload, gets a new instance.
 */
export interface ProcessorDefinition<Schema extends z.ZodType, State> {
  type: string;
  configSchema: Schema;
  provides?: readonly ProcessorCapability[];
  requires?: ReadonlyArray<{ capability: ProcessorCapability; reason: string }>;
  /** See BeforeConversion (src/pipeline/component.ts); such a processor needs a `spans` function. */
  beforeConversion?: BeforeConversion;
  setup?: (settings: ProcessorSettings, config: z.output<Schema>) => State;
  start?: (state: State) => Promise<void>;
  shutdown?: (state: State) => Promise<void>;
  /** Refuses a request from its context alone, before its body is read (see Processor.authenticate). */
  authenticate?: (context: RequestContext, state: State) => Promise<void>;
  events?: (batch: EventBatch, state: State, settings: ProcessorSettings) => void | Promise<void>;
  spans?: (batch: SpanBatch, state: State, settings: ProcessorSettings) => void | Promise<void>;
}

/** How a batch's own counters read a drop reason in the processor metric. */
function dropReason(reason: string): string {
  return reason === "sampled" ? "sampling" : reason;
}

export function defineProcessor<Schema extends z.ZodType, State = z.output<Schema>>(definition: ProcessorDefinition<Schema, State>): ProcessorFactory<Schema> {
  return {
    kind: "processor",
    type: definition.type,
    configSchema: definition.configSchema,
    provides: definition.provides ?? [],
    requires: definition.requires ?? [],
    pipelineTypes: pipelineTypesOf(definition),
    beforeConversion: definition.beforeConversion,
    create(settings, config): Processor {
      const state = definition.setup ? definition.setup(settings, config) : (config as unknown as State);
      const labels = { pipeline: settings.pipeline, processor: settings.id.text };
      const counted = settings.metrics.processorEvents;
      const unsupported = (what: string) => () => Promise.reject(new Error(`${definition.type} has no function for ${what}; validate should have refused this pipeline`));
      const { events, spans, authenticate } = definition;
      const processor: Processor = {
        beforeConversion: definition.beforeConversion,
        start: async () => definition.start?.(state),
        shutdown: async () => definition.shutdown?.(state),
        process: events
          ? async (batch) => {
              const rejectionsBefore = batch.rejections.length;
              const dropsBefore = new Map(batch.drops);
              await events(batch, state, settings);
              counted.inc({ ...labels, outcome: "passed", reason: "" }, batch.eventCount);
              for (const rejection of batch.rejections.slice(rejectionsBefore)) {
                counted.inc({ ...labels, outcome: "dropped", reason: rejection.status === 401 ? "auth" : "validation" });
              }
              for (const [reason, count] of batch.drops) {
                const left = count - (dropsBefore.get(reason) ?? 0);
                if (left > 0) counted.inc({ ...labels, outcome: "dropped", reason: dropReason(reason) }, left);
              }
            }
          : unsupported("Langfuse events"),
        processSpans: spans
          ? async (batch) => {
              const dropsBefore = new Map(batch.drops);
              await spans(batch, state, settings);
              counted.inc({ ...labels, outcome: "passed", reason: "" }, batch.spanCount);
              for (const [reason, count] of batch.drops) {
                const left = count - (dropsBefore.get(reason) ?? 0);
                if (left > 0) counted.inc({ ...labels, outcome: "dropped", reason: dropReason(reason) }, left);
              }
            }
          : unsupported("raw spans"),
      };
      if (authenticate) processor.authenticate = (context) => authenticate(context, state);
      return processor;
    },
  };
}
