import type { Logger } from "pino";
import type { z } from "zod";
import type { EventBatch } from "./batch.js";
import type { SpanBatch } from "./span-batch.js";
import type { PayloadConsumer, RequestContext } from "./payload.js";
import type { ExportRequest, ExportFailure, SeenTraceStore } from "./export.js";

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
 * Where a processor or exporter cannot go, with the reason shown to the user. Absent: it works in
 * every pipeline type.
 */
export type UnsupportedPipelines = Partial<Record<PipelineType, string>>;

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

export interface ComponentSettings {
  id: ComponentId;
  logger: Logger;
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
  create(settings: ComponentSettings, config: z.output<Schema>, consumer: PayloadConsumer): Receiver;
}

/**
 * What a processor needs before it, or gives to those after it. The pipeline checks these when
 * it is built, so a chain that cannot work is refused by `validate` with the reason.
 */
export type ProcessorCapability = "validated_events" | "project_scope";

export interface EventsProcessor extends Component {
  /**
   * For processors that decide who may send (`auth`): refuses a request from its context alone,
   * before its body is read. The same check runs again in `process`/`processSpans`, which set the scope.
   */
  authenticate?(context: RequestContext): Promise<void>;
  /** Works on converted events (events pipelines). */
  process(batch: EventBatch): void | Promise<void>;
  /** Works on raw spans (otel pipelines); present exactly when the factory does not list `otel` as unsupported. */
  processSpans?(batch: SpanBatch): void | Promise<void>;
}

export interface ProcessorFactory<Schema extends z.ZodType = z.ZodType> extends FactoryBase<Schema> {
  readonly kind: "processor";
  readonly provides: readonly ProcessorCapability[];
  /** Capabilities that an earlier processor must provide, with the reason shown to the user. */
  readonly requires: ReadonlyArray<{ capability: ProcessorCapability; reason: string }>;
  readonly unsupportedIn?: UnsupportedPipelines;
  create(settings: ComponentSettings, config: z.output<Schema>): EventsProcessor;
}

/**
 * `blob` exporters store each group as an object (S3, local files); `queue` exporters enqueue a
 * job that points at the object written by the nearest blob exporter before them.
 */
export type ExporterRole = "blob" | "queue";

export interface EventsExporter extends Component {
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
  readonly unsupportedIn?: UnsupportedPipelines;
  create(settings: ComponentSettings, config: z.output<Schema>): EventsExporter;
}

export type AnyFactory = ReceiverFactory | ProcessorFactory | ExporterFactory;
