import { z } from "zod";
import { HEAP_GROWING_PERCENT } from "../heap-growth.js";
import { DEFAULT_INFLIGHT_REQUEST_BYTES } from "../pipeline/byte-budget.js";
import type { ComponentRegistry } from "../components.js";
import {
  parseComponentId,
  PIPELINE_CARRIES,
  PIPELINE_TYPES,
  type ComponentId,
  type ExporterFactory,
  type PipelineType,
  type ProcessorFactory,
  type ProcessorCapability,
  type ReceiverFactory,
} from "../pipeline/component.js";
import type { ConfigProblem } from "./problems.js";
import { didYouMean } from "./suggest.js";
import { byteSize, durationMs, flag, integer, numeric } from "./units.js";
import { zodProblems } from "./zod-problems.js";
import { healthConfigSchema, type HealthConfig } from "../telemetry/health.js";
import { metricsConfigSchema, type MetricsConfig } from "../telemetry/metrics-server.js";

const batchSchema = z
  .strictObject({
    flush_at: integer({ min: 1, max: 100_000 }).default(1000).describe("Most events per export, like the Langfuse SDKs' `flushAt`."),
    flush_interval: durationMs.default(1000).describe("Longest a spooled request waits for others to join its export, like the SDKs' `flushInterval`."),
  })
  .describe(
    "Batching where the pipeline exports, as the Collector's exporters batch in their sending queue: groups of the same entity from different requests (a trace's create and its later updates) become one object and one job, and jobs go out in one `addBulk` (of up to 1,000 jobs). It works on the spool, after each request is durable, so it never delays an answer, only the export (by up to `flush_interval`); up to `spool.export_concurrency` flushes are in memory at once. `events` pipelines with the spool only.",
  );

const pipelineSchema = z.strictObject({
  receivers: z.array(z.string()).min(1, "list at least one receiver").describe("Receivers that feed this pipeline; a receiver may feed several pipelines."),
  processors: z.array(z.string()).default([]).describe("Processors, in the order they run (`auth` and `validate` are required; see the order rules)."),
  exporters: z
    .array(z.string())
    .min(1, "list at least one exporter")
    .describe("Exporters, in the order they run; each gets a group only after every one before it succeeded, so a queue exporter needs a blob exporter before it."),
  batch: batchSchema.optional(),
});

/** What a configuration that still lists the removed `batch` processor is told. */
const BATCH_MOVED =
  "the batch processor was removed: batching belongs to where the pipeline exports now; drop it from the processors and set `batch: { flush_at, flush_interval }` on the pipeline (service.pipelines.<pipeline>.batch)";

const sectionSchema = z.preprocess((value) => value ?? {}, z.record(z.string(), z.unknown()));

const spoolSchema = z.strictObject({
  enabled: flag.default(true).describe("Off: requests are answered only after the export itself (no disk needed, nothing survives a crash)."),
  directory: z
    .string()
    .min(1)
    .default("./data/spool")
    .describe("Holds `<pipeline>/worker-<n>` per pipeline and worker process; a lock file keeps two processes off one spool."),
  max_bytes: byteSize.default(1024 ** 3).describe("Unexported data per pipeline above which new requests are refused with 429."),
  segment_bytes: byteSize.default(16 * 1024 ** 2).describe("Size of the log's segment files."),
  fsync: flag.default(true).describe("fdatasync before acknowledging; `false` survives a process crash but not a machine crash."),
  export_concurrency: integer({ min: 1, max: 256 }).default(4).describe("Records exported in parallel."),
  memory_window: byteSize.default(16 * 1024 ** 2).describe("Records kept in memory as well, so the usual export never reads the disk."),
  retry: z
    .strictObject({
      initial_interval: durationMs.default(500).describe("Wait before the first retry of a failed export; each further wait is `multiplier` times longer, up to `max_interval`, with ±50 % jitter."),
      max_interval: durationMs.default(30_000).describe("Longest wait between retries."),
      multiplier: numeric.pipe(z.number().min(1).max(10)).default(2).describe("Growth of the wait from one retry to the next."),
      max_elapsed_time: durationMs.default(0).describe("`0`: retry as long as the spool holds the data; otherwise dead-letter after this long."),
    })
    .prefault({}),
  retry_after: durationMs.default(5_000).describe("`Retry-After` sent to clients while the spool is full."),
});

export type SpoolConfig = z.output<typeof spoolSchema>;

/** The `service` section of a configuration. */
export const serviceConfigSchema = z.strictObject({
  pipelines: z
    .record(z.string().describe("pipeline id"), pipelineSchema)
    .refine((pipelines) => Object.keys(pipelines).length > 0, "define at least one pipeline")
    .describe("Pipelines by id: `events` or `events/<name>` (spans converted here into Langfuse events), `otel` or `otel/<name>` (raw spans, converted by Langfuse's worker)."),
  telemetry: z
    .strictObject({
      logs: z
        .strictObject({
          level: z
            .enum(["trace", "debug", "info", "warn", "error", "fatal", "silent"])
            .default("info")
            .describe("The `LOG_LEVEL` environment variable overrides it."),
          format: z.enum(["json", "pretty"]).default("json").describe("`json` for log collectors, `pretty` for people at a terminal."),
        })
        .prefault({}),
      health: healthConfigSchema.prefault({}),
      metrics: metricsConfigSchema.prefault({}),
    })
    .prefault({}),
  shutdown_timeout: durationMs.default(25_000).describe("Budget for a graceful stop; Kubernetes sends SIGKILL 30 s after SIGTERM by default."),
  memory_limit: z
    .union([z.literal(0), z.literal("0"), byteSize])
    .default(0)
    .describe(
      "Refuse new requests with 429 while the daemon's resident memory is above this (about 80 % of the container's limit); `0` turns it off. It covers every process of the daemon, as the container's limit does: with several workers the primary measures itself and each worker every 100 ms (each process's own pages from `/proc/<pid>/status`, plus the pages of node's code and libraries they share counted once) and sends the workers the total, which each compares before reading a request (a worker starts listening once the first total has arrived); where `/proc` cannot be read (not Linux), each worker compares its own, after waiting 2 s for a total.",
    ),
  max_inflight_request_bytes: byteSize
    .refine((bytes) => bytes >= 1024 * 1024, "expected at least 1MiB")
    .default(DEFAULT_INFLIGHT_REQUEST_BYTES)
    .describe(
      "Request bodies being read, decompressed and handled at once, per process, across every receiver (HTTP and gRPC), at least 1MiB: a request whose next bytes do not fit gets 429 / RESOURCE_EXHAUSTED with a retry delay, one that alone would need more gets 413. Keep it at least twice the largest body limit: a compressed body is held inflated and then joined.",
    ),
  workers: z
    .union([z.literal("auto"), integer({ min: 1, max: 64 })], { error: "expected auto or a number of workers from 1 to 64" })
    .default("auto")
    .describe(
      "Processes that share the listeners, each with its own spool and its own copy of the pipeline in memory. `auto`: the container's CPU quota (cgroup v2 `cpu.max`, or v1 `cpu.cfs_quota_us` / `cpu.cfs_period_us`) rounded up and capped at the usable cores; 1 without a quota.",
    ),
  heap_growth_percent: integer({ min: 10, max: 400 })
    .default(HEAP_GROWING_PERCENT)
    .describe("How far V8's old generation grows past its live data before the next full collection: more memory, less GC time. Read at start; a `--heap-growing-percent` given to node itself wins."),
  spool: spoolSchema.prefault({}),
  reload: z
    .strictObject({
      poll_interval: durationMs
        .default(2_000)
        .describe("How often the config file is checked for changes (a Kubernetes ConfigMap update swaps a symlink, which file-change events miss); `0` leaves reloads to SIGHUP."),
    })
    .prefault({}),
});

const rootSchema = z.strictObject({
  receivers: sectionSchema,
  processors: sectionSchema,
  exporters: sectionSchema,
  service: serviceConfigSchema,
});

export interface ResolvedComponent<F> {
  id: ComponentId;
  factory: F;
  config: unknown;
}

export interface ResolvedPipeline {
  id: string;
  type: PipelineType;
  receivers: string[];
  processors: string[];
  exporters: string[];
  /** Requests merged before export (the spool's batch policy), when the pipeline asks for it. */
  batch?: { flushAtEvents: number; flushIntervalMs: number };
}

export interface ResolvedConfig {
  receivers: Map<string, ResolvedComponent<ReceiverFactory>>;
  processors: Map<string, ResolvedComponent<ProcessorFactory>>;
  exporters: Map<string, ResolvedComponent<ExporterFactory>>;
  pipelines: ResolvedPipeline[];
  logs: { level: string; format: "json" | "pretty" };
  shutdownTimeoutMs: number;
  memoryLimitBytes: number;
  maxInflightRequestBytes: number;
  spool: SpoolConfig;
  health: HealthConfig;
  metrics: MetricsConfig;
  workers: "auto" | number;
  heapGrowthPercent: number;
  reloadPollIntervalMs: number;
}

type Section = "receivers" | "processors" | "exporters";

function resolveSection<F extends ReceiverFactory | ProcessorFactory | ExporterFactory>(
  section: Section,
  entries: Record<string, unknown>,
  factories: ReadonlyMap<string, F>,
  problems: ConfigProblem[],
): Map<string, ResolvedComponent<F>> {
  const resolved = new Map<string, ResolvedComponent<F>>();
  for (const [text, raw] of Object.entries(entries)) {
    const id = parseComponentId(text);
    if (id === undefined) {
      problems.push({ path: [section, text], message: `"${text}" is not a component id: write type or type/name (lower_snake_case type)`, atKey: true });
      continue;
    }
    const factory = factories.get(id.type);
    if (factory === undefined && section === "processors" && id.type === "batch") {
      problems.push({ path: [section, text], message: BATCH_MOVED, atKey: true });
      continue;
    }
    if (factory === undefined) {
      const known = [...factories.keys()];
      problems.push({
        path: [section, text],
        message: `unknown ${section.slice(0, -1)} type "${id.type}"${didYouMean(id.type, known)}; known: ${known.join(", ")}`,
        atKey: true,
      });
      continue;
    }
    const parsed = factory.configSchema.safeParse(raw ?? {});
    if (!parsed.success) {
      problems.push(...zodProblems(parsed.error, factory.configSchema, [section, text]));
      continue;
    }
    resolved.set(text, { id, factory, config: parsed.data });
  }
  return resolved;
}

const CAPABILITY_PROVIDER: Record<ProcessorCapability, { processor: string; why: Record<PipelineType, string> }> = {
  validated_events: {
    processor: "validate",
    why: {
      events: "Langfuse's worker reads only events in the normalised form validate produces",
      otel: "Langfuse's worker fails on spans without usable ids, and validate refuses such exports as Langfuse does",
    },
  },
  project_scope: {
    processor: "auth",
    why: {
      events: "object keys and queue jobs are per project, and auth resolves the project from the request's key",
      otel: "object keys and queue jobs are per project, and auth resolves the project from the request's key",
    },
  },
};

/**
 * Processors and exporters that have no function for what this pipeline type carries. For an
 * exporter, the message names the exporters of the same role that do.
 */
function checkPipelineType(
  pipeline: ResolvedPipeline,
  kind: "processors" | "exporters",
  components: ReadonlyMap<string, ResolvedComponent<ProcessorFactory | ExporterFactory>>,
  registry: ComponentRegistry,
  problems: ConfigProblem[],
): void {
  pipeline[kind].forEach((reference, index) => {
    const factory = components.get(reference)?.factory;
    if (factory === undefined || factory.pipelineTypes.includes(pipeline.type)) return;
    const where = factory.pipelineTypes.map((type) => `${type} pipelines (${PIPELINE_CARRIES[type]})`).join(" and ");
    let message = `${reference} cannot be used in an ${pipeline.type} pipeline, which carries ${PIPELINE_CARRIES[pipeline.type]}: it works in ${where} only`;
    if (factory.kind === "exporter") {
      const instead = [...registry.exporters.values()].filter((other) => other.role === factory.role && other.pipelineTypes.includes(pipeline.type)).map((other) => other.type);
      if (instead.length > 0) message += `; ${factory.role} exporters for ${pipeline.type} pipelines: ${instead.join(", ")}`;
    }
    problems.push({ path: ["service", "pipelines", pipeline.id, kind, index], message });
  });
}

function checkReferences(
  pipelineId: string,
  kind: Section,
  list: string[],
  defined: ReadonlyMap<string, unknown>,
  declared: Record<string, unknown>,
  problems: ConfigProblem[],
): void {
  const seen = new Set<string>();
  list.forEach((reference, index) => {
    const path = ["service", "pipelines", pipelineId, kind, index];
    if (seen.has(reference)) problems.push({ path, message: `${reference} is listed twice` });
    seen.add(reference);
    // A reference to the removed batch processor is told where its settings went (checkBatching).
    if (!defined.has(reference) && !(reference in declared) && !(kind === "processors" && parseComponentId(reference)?.type === "batch")) {
      problems.push({ path, message: `references ${kind.slice(0, -1)} "${reference}", which is not configured under ${kind}${didYouMean(reference, Object.keys(declared))}` });
    }
  });
}

/** The processor order rules: what each processor needs must come from one listed before it. */
function checkProcessorOrder(pipeline: ResolvedPipeline, processors: ReadonlyMap<string, ResolvedComponent<ProcessorFactory>>, problems: ConfigProblem[]): void {
  const provided = new Set<ProcessorCapability>();
  pipeline.processors.forEach((reference, index) => {
    const component = processors.get(reference);
    if (component === undefined) return;
    for (const requirement of component.factory.requires) {
      if (!provided.has(requirement.capability)) {
        const provider = CAPABILITY_PROVIDER[requirement.capability].processor;
        problems.push({
          path: ["service", "pipelines", pipeline.id, "processors", index],
          message: `${reference} must come after ${provider}: ${requirement.reason}`,
        });
      }
    }
    for (const capability of component.factory.provides) provided.add(capability);
    if (pipeline.type === "events" && component.factory.beforeConversion === "required") {
      pipeline.processors.slice(0, index).forEach((earlier) => {
        const factory = processors.get(earlier)?.factory;
        if (factory === undefined || factory.beforeConversion !== undefined) return;
        problems.push({
          path: ["service", "pipelines", pipeline.id, "processors", index],
          message: `${reference} must come before ${earlier}: in an events pipeline ${reference} works on an OTLP request's spans, before they are converted to events, and ${earlier} works on the events`,
        });
      });
    }
  });
  for (const [capability, { processor, why }] of Object.entries(CAPABILITY_PROVIDER) as Array<[ProcessorCapability, (typeof CAPABILITY_PROVIDER)[ProcessorCapability]]>) {
    if (!provided.has(capability)) {
      problems.push({ path: ["service", "pipelines", pipeline.id, "processors"], message: `an ${pipeline.type} pipeline needs the ${processor} processor: ${why[pipeline.type]}` });
    }
  }
}

/** Batching merges Langfuse events on the spool: events pipelines with the spool on only. */
function checkBatching(pipeline: ResolvedPipeline, spoolEnabled: boolean, problems: ConfigProblem[]): void {
  pipeline.processors.forEach((reference, index) => {
    if (parseComponentId(reference)?.type === "batch") problems.push({ path: ["service", "pipelines", pipeline.id, "processors", index], message: BATCH_MOVED });
  });
  if (pipeline.batch === undefined) return;
  const path = ["service", "pipelines", pipeline.id, "batch"];
  if (pipeline.type === "otel") {
    problems.push({ path, message: "batch merges Langfuse entities across requests; an otel pipeline stores each request's spans as one object" });
  }
  if (!spoolEnabled) {
    problems.push({ path, message: "batch needs the spool (service.spool.enabled): it merges requests after they are durable, so it never delays an answer" });
  }
}

/** A queue exporter's jobs point at blobs, so a blob exporter must run before it for each group. */
function checkExporterOrder(pipeline: ResolvedPipeline, exporters: ReadonlyMap<string, ResolvedComponent<ExporterFactory>>, problems: ConfigProblem[]): void {
  let blobSeen = false;
  pipeline.exporters.forEach((reference, index) => {
    const component = exporters.get(reference);
    if (component === undefined) return;
    if (component.factory.role === "blob") blobSeen = true;
    else if (!blobSeen) {
      problems.push({
        path: ["service", "pipelines", pipeline.id, "exporters", index],
        message: `${reference} enqueues jobs that point at stored blobs: list a blob exporter (s3, azure_blob or file) before it`,
      });
    }
  });
}

/**
 * Checks a whole configuration without starting anything and returns every problem found, the
 * dry run behind `validate` and the first step of `run`.
 */
export function resolveConfig(raw: unknown, registry: ComponentRegistry): { config?: ResolvedConfig; problems: ConfigProblem[] } {
  const problems: ConfigProblem[] = [];
  const root = rootSchema.safeParse(raw ?? {});
  if (!root.success) {
    problems.push(...zodProblems(root.error, rootSchema, []));
    // Still check the components that can be read, so one run lists as much as possible.
  }
  const value = (raw ?? {}) as Record<string, Record<string, unknown> | undefined>;
  const asSection = (section: Section) => {
    const entries = value[section];
    return entries !== null && typeof entries === "object" && !Array.isArray(entries) ? entries : {};
  };
  const receivers = resolveSection("receivers", asSection("receivers"), registry.receivers, problems);
  const processors = resolveSection("processors", asSection("processors"), registry.processors, problems);
  const exporters = resolveSection("exporters", asSection("exporters"), registry.exporters, problems);
  if (!root.success) return { problems };

  const pipelines: ResolvedPipeline[] = [];
  for (const [pipelineId, lists] of Object.entries(root.data.service.pipelines)) {
    const type = pipelineId.split("/")[0]! as PipelineType;
    if (!PIPELINE_TYPES.includes(type) || parseComponentId(pipelineId) === undefined) {
      problems.push({
        path: ["service", "pipelines", pipelineId],
        message: `unknown pipeline type "${type}"${didYouMean(type, PIPELINE_TYPES)}; write ${PIPELINE_TYPES.map((known) => `${known}, ${known}/<name>`).join(", ").replace(/, ([^,]+)$/, " or $1")}`,
        atKey: true,
      });
      continue;
    }
    const { batch, ...components } = lists;
    const pipeline: ResolvedPipeline = { id: pipelineId, type, ...components };
    if (batch !== undefined) pipeline.batch = { flushAtEvents: batch.flush_at, flushIntervalMs: batch.flush_interval };
    checkBatching(pipeline, root.data.service.spool.enabled, problems);
    checkReferences(pipelineId, "receivers", pipeline.receivers, receivers, root.data.receivers, problems);
    checkReferences(pipelineId, "processors", pipeline.processors, processors, root.data.processors, problems);
    checkReferences(pipelineId, "exporters", pipeline.exporters, exporters, root.data.exporters, problems);
    checkPipelineType(pipeline, "processors", processors, registry, problems);
    checkPipelineType(pipeline, "exporters", exporters, registry, problems);
    // Order rules only make sense once every listed component is known and valid.
    if (pipeline.processors.every((name) => processors.has(name))) {
      checkProcessorOrder(pipeline, processors, problems);
    }
    if (pipeline.exporters.every((name) => exporters.has(name))) checkExporterOrder(pipeline, exporters, problems);
    pipelines.push(pipeline);
  }
  if (problems.length > 0) return { problems };
  return {
    config: {
      receivers,
      processors,
      exporters,
      pipelines,
      logs: root.data.service.telemetry.logs,
      shutdownTimeoutMs: root.data.service.shutdown_timeout,
      memoryLimitBytes: Number(root.data.service.memory_limit),
      maxInflightRequestBytes: root.data.service.max_inflight_request_bytes,
      spool: root.data.service.spool,
      health: root.data.service.telemetry.health,
      metrics: root.data.service.telemetry.metrics,
      workers: root.data.service.workers,
      heapGrowthPercent: root.data.service.heap_growth_percent,
      reloadPollIntervalMs: root.data.service.reload.poll_interval,
    },
    problems,
  };
}
