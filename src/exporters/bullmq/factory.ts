import { randomUUID } from "node:crypto";
import { z } from "zod";
import { durationMs, integer } from "../../config/units.js";
import type { ComponentSettings } from "../../pipeline/component.js";
import { defineExporter } from "../../pipeline/define-exporter.js";
import type { ExportFailure, ExportGroup, ExportRequest } from "../../pipeline/export.js";
import { jobDelayMs } from "./delay.js";
import { projectRoutingFields } from "../blob-settings.js";
import { INGESTION_QUEUE } from "./queue-naming.js";
import { LangfuseQueueExporter } from "./queues.js";
import { redisConfigSchema, type RedisClient } from "./redis.js";
import { RedisSeenTraceStore } from "./seen-traces.js";

export const bullmqConfigSchema = z
  .strictObject({
    ...projectRoutingFields,
    redis: redisConfigSchema.prefault({}).describe("The connection to Langfuse's Redis: a single node, TLS, Sentinel or Cluster."),
    shard_count: integer({ min: 1, max: 1024 })
      .default(1)
      .describe("LANGFUSE_INGESTION_QUEUE_SHARD_COUNT; used only with `redis.cluster_nodes`, as in Langfuse."),
    delay: z
      .union([z.literal("auto"), durationMs], { error: "expected auto or a duration such as 0ms or 2s" })
      .default("auto")
      .describe("`auto` follows Langfuse (OTLP 0; API 5 s, or `ingestion_delay` from 23:45 to 00:15 UTC); a duration overrides it for every job."),
    ingestion_delay: durationMs.default(15_000).describe("LANGFUSE_INGESTION_QUEUE_DELAY_MS: the midnight delay, and the cap of the API delay."),
    skip_s3_list_project_ids: z.array(z.string().min(1)).default([]).describe("LANGFUSE_SKIP_S3_LIST_FOR_OBSERVATIONS_PROJECT_IDS."),
    retry_after: durationMs.default(2_000).describe("`Retry-After` sent to clients while Redis is unreachable."),
  })
  .describe(
    "Langfuse's `ingestion-queue` on Redis: one `ingestion-job` per group, pointing at the object of the nearest blob exporter before it, with Langfuse's queue defaults. Jobs go out in `addBulk` calls of at most 1,000 (one Redis transaction each), and seen-trace claims at most 1,000 commands at a time.",
  );

export type BullmqConfig = z.output<typeof bullmqConfigSchema>;

const JOB_NAME = "ingestion-job";

/** The job data Langfuse's ingestion worker reads (`IngestionEvent` in its queue contract). */
export function ingestionJobData(request: ExportRequest, group: ExportGroup, skipS3ListProjects: ReadonlySet<string>, now: Date) {
  const { scope, source, sdkName, sdkVersion } = request.context;
  const blob = group.blob!;
  const skipS3List =
    group.entityType === "dataset_run_item" ||
    (group.entityType === "observation" && (source === "otel" || skipS3ListProjects.has(scope.projectId)));
  const authScope: Record<string, unknown> = { projectId: scope.projectId, accessLevel: scope.accessLevel };
  if (scope.orgId !== undefined) authScope.orgId = scope.orgId;
  if (source === "api") authScope.publicKey = scope.publicKey;
  return {
    id: randomUUID(),
    timestamp: now,
    name: JOB_NAME,
    payload: {
      data: {
        type: group.firstEventType,
        eventBodyId: group.eventBodyId,
        fileKey: blob.fileKey,
        skipS3List,
        bucketPrefix: blob.bucketPrefix,
        ingestionApiKey: scope.publicKey,
        ingestionSdkName: sdkName,
        ingestionSdkVersion: sdkVersion,
      },
      authCheck: { validKey: true, scope: authScope },
    },
  };
}

class BullmqExporter extends LangfuseQueueExporter {
  readonly #config: BullmqConfig;
  readonly #skipS3List: ReadonlySet<string>;

  constructor(settings: ComponentSettings, config: BullmqConfig) {
    super(settings, config.redis, config.retry_after);
    this.#config = config;
    this.#skipS3List = new Set(config.skip_s3_list_project_ids);
  }

  seenTraceStore(): RedisSeenTraceStore {
    return new RedisSeenTraceStore(() => this.queues.client, this.#config.redis.key_prefix ?? "");
  }

  protected async enqueueStored(request: ExportRequest, groups: ExportGroup[], client: RedisClient): Promise<ExportFailure[]> {
    const now = new Date();
    const override = this.#config.delay === "auto" ? undefined : this.#config.delay;
    const delay = jobDelayMs(request.context.source, now, this.#config.ingestion_delay, override);
    const { projectId } = request.context.scope;
    return this.queues.enqueue(
      client,
      groups,
      { baseName: INGESTION_QUEUE, shardCount: this.#config.shard_count, shardingKey: (group) => `${projectId}-${group.eventBodyId}` },
      (group) => ({ name: JOB_NAME, data: ingestionJobData(request, group, this.#skipS3List, now), opts: { delay } }),
      this.#config.retry_after,
    );
  }
}

export const bullmqExporterFactory = defineExporter({
  type: "bullmq",
  role: "queue",
  configSchema: bullmqConfigSchema,
  setup: (settings, config) => new BullmqExporter(settings, config),
  /** `ingestion-job`s for converted events; raw spans get `otel-ingestion-job`s from langfuse_otel. */
  events: (request, queue) => queue.exportGroups(request),
});
