import { randomUUID } from "node:crypto";
import { z } from "zod";
import { durationMs, flag, integer } from "../../config/units.js";
import type { ComponentSettings } from "../../pipeline/component.js";
import { defineExporter } from "../../pipeline/define-exporter.js";
import type { ExportFailure, ExportGroup, ExportRequest } from "../../pipeline/export.js";
import { projectRoutingFields } from "../blob-settings.js";
import { OTEL_INGESTION_QUEUE } from "../bullmq/queue-naming.js";
import { LangfuseQueueExporter } from "../bullmq/queues.js";
import { redisConfigSchema, type RedisClient } from "../bullmq/redis.js";

export const langfuseOtelConfigSchema = z
  .strictObject({
    ...projectRoutingFields,
    redis: redisConfigSchema.prefault({}).describe("The connection to Langfuse's Redis, as for `bullmq` (a YAML anchor can share it)."),
    shard_count: integer({ min: 1, max: 1024 })
      .default(1)
      .describe("LANGFUSE_OTEL_INGESTION_QUEUE_SHARD_COUNT; used only with `redis.cluster_nodes`; the shard is picked from `<projectId>-<fileKey>` as Langfuse does."),
    mark_otel_projects: flag
      .default(false)
      .describe(
        "LANGFUSE_SKIP_FINAL_FOR_OTEL_PROJECTS: mark each project that sends spans as an OTel user (`langfuse:project:<id>:otel:active`, one day), as Langfuse's endpoint does with that setting, which lets Langfuse skip FINAL in its queries.",
      ),
    retry_after: durationMs.default(2_000).describe("`Retry-After` sent to clients while Redis is unreachable."),
  })
  .describe(
    "Langfuse's `otel-ingestion-queue` on Redis: one `otel-ingestion-job` per stored export, pointing at the object of the nearest blob exporter before it, no delay, Langfuse's queue defaults.",
  );

export type LangfuseOtelConfig = z.output<typeof langfuseOtelConfigSchema>;

const JOB_NAME = "otel-ingestion-job";
const OTEL_USER_TTL_SECONDS = 86_400;

/** The absolute key of the stored export, as the job names it. */
function absoluteKey(group: ExportGroup): string {
  return `${group.blob!.bucketPrefix}${group.blob!.fileKey}.json`;
}

/** The job data Langfuse's OTel worker reads (`OtelIngestionEvent` in its queue contract). */
export function otelIngestionJobData(request: ExportRequest, group: ExportGroup, now: Date) {
  const { scope, sdkName, sdkVersion, ingestionVersion, propagatedHeaders } = request.context;
  const authScope: Record<string, unknown> = { projectId: scope.projectId, accessLevel: "project" };
  if (scope.orgId !== undefined) authScope.orgId = scope.orgId;
  return {
    id: randomUUID(),
    timestamp: now,
    name: JOB_NAME,
    payload: {
      data: { fileKey: absoluteKey(group), publicKey: scope.publicKey },
      authCheck: { validKey: true, scope: authScope },
      ...(propagatedHeaders !== undefined ? { propagatedHeaders } : {}),
      sdkName,
      sdkVersion,
      ingestionVersion,
    },
  };
}

/**
 * The queue half of Langfuse's OTel path: for each raw export stored by the blob exporter before
 * it (s3, azure_blob or file), one `otel-ingestion-job` on `otel-ingestion-queue`, so Langfuse's worker
 * downloads the spans and converts them itself. No delay, Langfuse's job options.
 */
class LangfuseOtelExporter extends LangfuseQueueExporter {
  readonly #config: LangfuseOtelConfig;
  readonly #settings: ComponentSettings;

  constructor(settings: ComponentSettings, config: LangfuseOtelConfig) {
    super(settings, config.redis, config.retry_after);
    this.#settings = settings;
    this.#config = config;
  }

  protected override refusal(group: ExportGroup): string | undefined {
    return group.entityType === "otel" ? undefined : `langfuse_otel enqueues raw OTLP exports only, not ${group.entityType} events`;
  }

  protected async enqueueStored(request: ExportRequest, groups: ExportGroup[], client: RedisClient): Promise<ExportFailure[]> {
    const { projectId } = request.context.scope;
    const now = new Date();
    const failures = await this.queues.enqueue(
      client,
      groups,
      { baseName: OTEL_INGESTION_QUEUE, shardCount: this.#config.shard_count, shardingKey: (group) => `${projectId}-${absoluteKey(group)}` },
      (group) => ({ name: JOB_NAME, data: otelIngestionJobData(request, group, now) }),
      this.#config.retry_after,
    );
    if (this.#config.mark_otel_projects) {
      // A hint for Langfuse's queries, never worth failing an export for (Langfuse swallows it too).
      const key = `${this.#config.redis.key_prefix ?? ""}langfuse:project:${projectId}:otel:active`;
      await client.set(key, "1", "EX", OTEL_USER_TTL_SECONDS).catch((error: Error) => {
        this.#settings.logger.debug({ err: { message: error.message } }, "could not mark the project as an OTel user");
      });
    }
    return failures;
  }
}

export const langfuseOtelExporterFactory = defineExporter({
  type: "langfuse_otel",
  role: "queue",
  configSchema: langfuseOtelConfigSchema,
  setup: (settings, config) => new LangfuseOtelExporter(settings, config),
  /** `otel-ingestion-job`s for raw spans; converted events get `ingestion-job`s from bullmq. */
  spans: (request, queue) => queue.exportGroups(request),
});
