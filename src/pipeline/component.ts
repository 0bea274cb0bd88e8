import type { Logger } from "pino";
import type { z } from "zod";
import type { EventBatch } from "./batch.js";
import type { SpanBatch } from "./span-batch.js";
import type { PayloadConsumer, RequestContext } from "./payload.js";
import type { ExportRequest, ExportFailure, SeenTraceStore } from "./export.js";
import type { BufferPools } from "./buffer-pool.js";
import type { ByteBudget } from "./byte-budget.js";
import type { DaemonMetrics } from "../telemetry/metrics.js";

/**
 * The component model, after the OpenTelemetry Collector's: every receiver, processor and exporter
 * comes from a factory with a typed config (zod schema with defaults, strict about unknown keys),
 * and every instance has the same tiny lifecycle. `start` returns quickly; `shutdown` is
 * idempotent, safe without `start`, stops accepting work and finishes what is in flight.
 */
export interface Component {
  start(): Promise<void>;
  shutdown(): Promise<void>;
}

export type ComponentKind = "receiver" | "processor" | "exporter";

/**
 * What a pipeline carries, like the Collector's signal types. `events` pipelines convert OTLP spans
 * to Langfuse ingestion events and take native ingestion batches; `otel` pipelines carry the raw
 * OTLP resource spans that Langfuse's worker converts itself (Langfuse v3.108+ and v4).
 */
export type PipelineType = "events" | "otel";

export const PIPELINE_TYPES: readonly PipelineType[] = ["events", "otel"];

/**
 * The pipeline types a component definition has a function for: `events` for converted Langfuse
 * events, `spans` for raw OTLP spans (otel pipelines). Nothing else decides where it may go.
 */
export function pipelineTypesOf(definition: { events?: unknown; spans?: unknown }): PipelineType[] {
  const types: PipelineType[] = [];
  if (definition.events) types.push("events");
  if (definition.spans) types.push("otel");
  return types;
}

/** What each pipeline type carries, for messages about components that cannot work on it. */
export const PIPELINE_CARRIES: Record<PipelineType, string> = {
  events: "Langfuse ingestion events",
  otel: "raw OTLP resource spans",
};

/** `type` or `type/name`, as written in the config. */
export interface ComponentId {
  readonly type: string;
  readonly name: string | undefined;
  readonly text: string;
}

export function parseComponentId(text: string): ComponentId | undefined {
  const match = /^([a-z][a-z0-9_]*)(?:\/([A-Za-z0-9_.-]+))?$/.exec(text);
  if (!match) return undefined;
  return { type: match[1]!, name: match[2], text };
}

/**
 * What the service hands every component: who it is, where it logs, and the daemon's metrics (a
 * component counts through these, never through a module-level global).
 */
export interface ComponentSettings {
  id: ComponentId;
  logger: Logger;
  metrics: DaemonMetrics;
}

/** A processor belongs to one pipeline: its counts carry the pipeline's id. */
export interface ProcessorSettings extends ComponentSettings {
  pipeline: string;
}

/** Receivers read request bodies into the core's buffer pools, within the core's request budget. */
export interface ReceiverSettings extends ComponentSettings {
  buffers: BufferPools;
  requestBudget: ByteBudget;
}

interface FactoryBase<Schema extends z.ZodType> {
  readonly type: string;
  /** Parses the user's YAML block: applies defaults, rejects unknown keys, validates values. */
  readonly configSchema: Schema;
}

export interface Receiver extends Component {
  /** Where the receiver listens once started (for logs and tests that use port 0). */
  addresses(): string[];
}

export interface ReceiverFactory<Schema extends z.ZodType = z.ZodType> extends FactoryBase<Schema> {
  readonly kind: "receiver";
  create(settings: ReceiverSettings, config: z.output<Schema>, consumer: PayloadConsumer): Receiver;
}

/**
 * What a processor needs before it, or gives to those after it. The pipeline checks these when
 * it is built, so a chain that cannot work is refused by `validate` with the reason.
 */
export type ProcessorCapability = "validated_events" | "project_scope";

/**
 * Whether a processor works on a request as the client sent it. In an events pipeline, an OTLP
 * request's spans pass through the processors listed up to the last one that `requires` this,
 * and are converted to events after it; every processor listed before such a one must `allow`
 * it. Redaction and filtering need it: their rules name span attributes, which conversion turns
 * into input, output and metadata, and what is converted (and logged, and refused) should
 * already be clean. Native ingestion batches are events from the start and meet every processor
 * as events.
 */
export type BeforeConversion = "required" | "allowed";

/** A processor instance, as defineProcessor builds it (src/pipeline/define-processor.ts). */
export interface Processor extends Component {
  /** See BeforeConversion; undefined: works on events only, in events pipelines. */
  readonly beforeConversion?: BeforeConversion;
  /**
   * For processors that decide who may send (`auth`): refuses a request from its context alone,
   * before its body is read. The same check runs again in `process`/`processSpans`, which set the scope.
   */
  authenticate?(context: RequestContext): Promise<void>;
  /** Works on converted events (events pipelines); counts what passed and what left. */
  process(batch: EventBatch): Promise<void>;
  /** Works on raw spans (otel pipelines); counts what passed and what left. */
  processSpans(batch: SpanBatch): Promise<void>;
}

export interface ProcessorFactory<Schema extends z.ZodType = z.ZodType> extends FactoryBase<Schema> {
  readonly kind: "processor";
  readonly provides: readonly ProcessorCapability[];
  /** Capabilities that an earlier processor must provide, with the reason shown to the user. */
  readonly requires: ReadonlyArray<{ capability: ProcessorCapability; reason: string }>;
  /** The pipeline types it has a function for, and so the only ones it may be listed in. */
  readonly pipelineTypes: readonly PipelineType[];
  /** See BeforeConversion. */
  readonly beforeConversion?: BeforeConversion;
  create(settings: ProcessorSettings, config: z.output<Schema>): Processor;
}

/**
 * `blob` exporters store each group as an object (S3, local files); `queue` exporters enqueue a
 * job that points at the object written by the nearest blob exporter before them.
 */
export type ExporterRole = "blob" | "queue";

/** An exporter instance, as defineExporter builds it (src/pipeline/define-exporter.ts). */
export interface Exporter extends Component {
  readonly role: ExporterRole;
  /** Exports every group it can; returns the groups that failed. Never rejects for a single group. */
  exportGroups(request: ExportRequest): Promise<ExportFailure[]>;
  /** Why the exporter cannot export right now (backend unreachable), if it knows. */
  unreadyReason?(): string | undefined;
  /** Exporters that reach Langfuse's Redis share the "seen trace" memory through it. */
  seenTraceStore?(): SeenTraceStore;
}

export interface ExporterFactory<Schema extends z.ZodType = z.ZodType> extends FactoryBase<Schema> {
  readonly kind: "exporter";
  readonly role: ExporterRole;
  /** The pipeline types it has a function for, and so the only ones it may be listed in. */
  readonly pipelineTypes: readonly PipelineType[];
  create(settings: ComponentSettings, config: z.output<Schema>): Exporter;
}

export type AnyFactory = ReceiverFactory | ProcessorFactory | ExporterFactory;
