import { randomUUID } from "node:crypto";
import { Queue } from "bullmq";
import { z } from "zod";
import { durationMs, integer } from "../../config/units.js";
import type { ComponentSettings, EventsExporter, ExporterFactory } from "../../pipeline/component.js";
import { PermanentError, RetryableError } from "../../pipeline/errors.js";
import type { ExportFailure, ExportGroup, ExportRequest } from "../../pipeline/export.js";
import { jobDelayMs } from "./delay.js";
import { projectRoutingFields } from "../blob-settings.js";
import { bullPrefix, INGESTION_QUEUE, shardIndex, shardQueueName } from "./queue-naming.js";
import { createRedisClient, isReady, redisConfigSchema, type RedisClient } from "./redis.js";
import { RedisSeenTraceStore } from "./seen-traces.js";

export const bullmqConfigSchema = z.strictObject({
  ...projectRoutingFields,
  redis: redisConfigSchema.prefault({}),
  /** LANGFUSE_INGESTION_QUEUE_SHARD_COUNT; used only with Redis Cluster, as in Langfuse. */
  shard_count: integer({ min: 1, max: 1024 }).default(1),
  /** `auto` follows Langfuse (OTLP 0, API 5 s, longer around midnight UTC); a duration overrides it for every job. */
  delay: z.union([z.literal("auto"), durationMs], { error: "expected auto or a duration such as 0ms or 2s" }).default("auto"),
  /** LANGFUSE_INGESTION_QUEUE_DELAY_MS: the midnight delay, and the cap of the API delay. */
  ingestion_delay: durationMs.default(15_000),
  /** LANGFUSE_SKIP_S3_LIST_FOR_OBSERVATIONS_PROJECT_IDS. */
  skip_s3_list_project_ids: z.array(z.string().min(1)).default([]),
  /** Retry-After sent to clients while Redis is unreachable. */
  retry_after: durationMs.default(2_000),
});

export type BullmqConfig = z.output<typeof bullmqConfigSchema>;

/** Langfuse's defaultJobOptions for the ingestion queues. */
const DEFAULT_JOB_OPTIONS = {
  removeOnComplete: true,
  removeOnFail: 100_000,
  attempts: 6,
  backoff: { type: "exponential", delay: 5000 },
} as const;

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

class BullmqExporter implements EventsExporter {
  readonly role = "queue";
  readonly #config: BullmqConfig;
  readonly #settings: ComponentSettings;
  readonly #queues = new Map<string, Queue>();
  readonly #skipS3List: ReadonlySet<string>;
  readonly #cluster: boolean;
  #client: RedisClient | undefined;
  #lastErrorLog = 0;

  constructor(settings: ComponentSettings, config: BullmqConfig) {
    this.#settings = settings;
    this.#config = config;
    this.#skipS3List = new Set(config.skip_s3_list_project_ids);
    this.#cluster = config.redis.cluster_nodes !== undefined;
  }

  async start(): Promise<void> {
    this.#client = createRedisClient(this.#config.redis, (error) => this.#logConnectionError(error));
    // Connect in the background: a Redis that is down at start must not stop the daemon from starting.
    this.#client.connect().catch(() => {});
  }

  async shutdown(): Promise<void> {
    const queues = [...this.#queues.values()];
    this.#queues.clear();
    await Promise.allSettled(queues.map((queue) => queue.close()));
    const client = this.#client;
    this.#client = undefined;
    if (client) client.disconnect();
  }

  unreadyReason(): string | undefined {
    return this.#client !== undefined && isReady(this.#client) ? undefined : "Redis is not reachable";
  }

  seenTraceStore(): RedisSeenTraceStore {
    return new RedisSeenTraceStore(() => this.#client, this.#config.redis.key_prefix ?? "");
  }

  async exportGroups(request: ExportRequest): Promise<ExportFailure[]> {
    // With project routing, a group may reach here without any blob exporter having stored it.
    const unstored = request.groups.filter((group) => group.blob === undefined);
    if (unstored.length > 0) {
      const error = new PermanentError(`no blob exporter stores project ${request.context.scope.projectId}; a job would point at nothing`);
      const rest = await this.exportGroups({ ...request, groups: request.groups.filter((group) => group.blob !== undefined) });
      return [...unstored.map((group) => ({ group, error })), ...rest];
    }
    if (request.groups.length === 0) return [];
    const client = this.#client;
    if (client === undefined || !isReady(client)) {
      const error = new RetryableError("Redis is not reachable; jobs cannot be enqueued", this.#config.retry_after);
      return request.groups.map((group) => ({ group, error }));
    }
    const now = new Date();
    const override = this.#config.delay === "auto" ? undefined : this.#config.delay;
    const delay = jobDelayMs(request.context.source, now, this.#config.ingestion_delay, override);
    const byQueue = new Map<string, ExportGroup[]>();
    for (const group of request.groups) {
      const shard = this.#cluster ? shardIndex(`${request.context.scope.projectId}-${group.eventBodyId}`, this.#config.shard_count) : 0;
      const name = shardQueueName(INGESTION_QUEUE, shard);
      const list = byQueue.get(name);
      if (list) list.push(group);
      else byQueue.set(name, [group]);
    }
    const failures: ExportFailure[] = [];
    await Promise.all(
      [...byQueue].map(async ([queueName, groups]) => {
        const jobs = groups.map((group) => ({
          name: JOB_NAME,
          data: ingestionJobData(request, group, this.#skipS3List, now),
          opts: { delay },
        }));
        try {
          await this.#queue(queueName, client).addBulk(jobs);
        } catch (error) {
          const failure = new RetryableError(`enqueueing on ${queueName} failed: ${(error as Error).message}`, this.#config.retry_after, { cause: error });
          for (const group of groups) failures.push({ group, error: failure });
        }
      }),
    );
    return failures;
  }

  #queue(name: string, client: RedisClient): Queue {
    let queue = this.#queues.get(name);
    if (queue === undefined) {
      queue = new Queue(name, {
        connection: client,
        prefix: bullPrefix(name, this.#config.redis.key_prefix, this.#cluster),
        defaultJobOptions: DEFAULT_JOB_OPTIONS,
        skipVersionCheck: this.#config.redis.skip_version_check,
      });
      queue.on("error", (error) => this.#logConnectionError(error));
      this.#queues.set(name, queue);
    }
    return queue;
  }

  /** Connection errors repeat every reconnect attempt; one line per 10 s is enough. */
  #logConnectionError(error: Error): void {
    const now = Date.now();
    if (now - this.#lastErrorLog < 10_000) return;
    this.#lastErrorLog = now;
    this.#settings.logger.warn({ err: { message: error.message } }, "redis connection problem");
  }
}

export const bullmqExporterFactory: ExporterFactory<typeof bullmqConfigSchema> = {
  kind: "exporter",
  type: "bullmq",
  role: "queue",
  configSchema: bullmqConfigSchema,
  create: (settings, config) => new BullmqExporter(settings, config),
};
