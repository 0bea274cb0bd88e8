import { Queue } from "bullmq";
import type { ComponentSettings } from "../../pipeline/component.js";
import type { ExporterInstance } from "../../pipeline/define-exporter.js";
import { PermanentError, RetryableError } from "../../pipeline/errors.js";
import type { ExportFailure, ExportGroup, ExportRequest } from "../../pipeline/export.js";
import { slicesOf } from "../../pipeline/concurrency.js";
import { bullPrefix, shardIndex, shardQueueName } from "./queue-naming.js";
import { createRedisClient, isReady, type RedisClient, type RedisConfig } from "./redis.js";

/** Langfuse's defaultJobOptions for the ingestion and OTel ingestion queues. */
export const LANGFUSE_JOB_OPTIONS = {
  removeOnComplete: true,
  removeOnFail: 100_000,
  attempts: 6,
  backoff: { type: "exponential", delay: 5000 },
} as const;

/**
 * Jobs per `addBulk`: one call is one Redis transaction, built and sent in one synchronous block;
 * a request of 300,000 groups in one call would hold the event loop and Redis alike.
 */
export const JOBS_PER_ADD = 1000;

/**
 * One Redis connection (single node, Sentinel or Cluster) and the BullMQ queues opened on it, as
 * Langfuse names and prefixes them. Shared by the exporters that enqueue Langfuse jobs.
 */
export class LangfuseQueues {
  readonly cluster: boolean;
  readonly #queues = new Map<string, Queue>();
  #client: RedisClient | undefined;
  #lastErrorLog = 0;

  constructor(
    private readonly settings: ComponentSettings,
    readonly redis: RedisConfig,
  ) {
    this.cluster = redis.cluster_nodes !== undefined;
  }

  start(): void {
    this.#client = createRedisClient(this.redis, (error) => this.#logConnectionError(error));
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

  /** The client while it is connected; undefined while Redis is unreachable or before start. */
  get client(): RedisClient | undefined {
    return this.#client;
  }

  readyClient(): RedisClient | undefined {
    const client = this.#client;
    return client !== undefined && isReady(client) ? client : undefined;
  }

  unreadyReason(): string | undefined {
    return this.readyClient() === undefined ? "Redis is not reachable" : undefined;
  }

  queue(name: string, client: RedisClient): Queue {
    let queue = this.#queues.get(name);
    if (queue === undefined) {
      queue = new Queue(name, {
        connection: client,
        prefix: bullPrefix(name, this.redis.key_prefix, this.cluster),
        defaultJobOptions: LANGFUSE_JOB_OPTIONS,
        skipVersionCheck: this.redis.skip_version_check,
      });
      queue.on("error", (error) => this.#logConnectionError(error));
      this.#queues.set(name, queue);
    }
    return queue;
  }

  /**
   * One job per group, on the shard of `baseName` that Langfuse would pick for the group's
   * sharding key (only with Redis Cluster, as in Langfuse), in `addBulk` calls of at most
   * JOBS_PER_ADD jobs, one after the other per queue. Returns the groups whose jobs could not be
   * added, as retryable failures.
   */
  async enqueue(
    client: RedisClient,
    groups: readonly ExportGroup[],
    target: { baseName: string; shardCount: number; shardingKey: (group: ExportGroup) => string },
    job: (group: ExportGroup) => { name: string; data: unknown; opts?: { delay?: number } },
    retryAfterMs: number,
  ): Promise<ExportFailure[]> {
    const byQueue = new Map<string, ExportGroup[]>();
    for (const group of groups) {
      const shard = this.cluster ? shardIndex(target.shardingKey(group), target.shardCount) : 0;
      const name = shardQueueName(target.baseName, shard);
      const list = byQueue.get(name);
      if (list) list.push(group);
      else byQueue.set(name, [group]);
    }
    const failures: ExportFailure[] = [];
    await Promise.all(
      [...byQueue].map(async ([queueName, queued]) => {
        for (const chunk of slicesOf(queued, JOBS_PER_ADD)) {
          try {
            await this.queue(queueName, client).addBulk(chunk.map(job));
          } catch (error) {
            const failure = new RetryableError(`enqueueing on ${queueName} failed: ${(error as Error).message}`, retryAfterMs, { cause: error });
            for (const group of chunk) failures.push({ group, error: failure });
          }
        }
      }),
    );
    return failures;
  }

  /** Connection errors repeat every reconnect attempt; one line per 10 s is enough. */
  #logConnectionError(error: Error): void {
    const now = Date.now();
    if (now - this.#lastErrorLog < 10_000) return;
    this.#lastErrorLog = now;
    this.settings.logger.warn({ err: { message: error.message } }, "redis connection problem");
  }
}

/**
 * What every exporter of Langfuse jobs shares: one Redis connection opened at start, and the rules
 * before any job is added. A group no blob exporter stored (project routing) or of a kind the
 * exporter does not enqueue fails for good; while Redis is unreachable every group fails, retryably.
 * Subclasses only say how their jobs look (`enqueueStored`).
 */
export abstract class LangfuseQueueExporter implements ExporterInstance {
  protected readonly queues: LangfuseQueues;

  constructor(
    settings: ComponentSettings,
    redis: RedisConfig,
    private readonly retryAfterMs: number,
  ) {
    this.queues = new LangfuseQueues(settings, redis);
  }

  async exportGroups(request: ExportRequest): Promise<ExportFailure[]> {
    const failures: ExportFailure[] = [];
    const stored: ExportGroup[] = [];
    for (const group of request.groups) {
      const refusal = this.refusal(group);
      if (refusal !== undefined) failures.push({ group, error: new PermanentError(refusal) });
      else if (group.blob === undefined) {
        failures.push({ group, error: new PermanentError(`no blob exporter stores project ${request.context.scope.projectId}; a job would point at nothing`) });
      } else stored.push(group);
    }
    if (stored.length === 0) return failures;
    const client = this.queues.readyClient();
    if (client === undefined) {
      const error = new RetryableError("Redis is not reachable; jobs cannot be enqueued", this.retryAfterMs);
      return [...failures, ...stored.map((group) => ({ group, error }))];
    }
    return [...failures, ...(await this.enqueueStored(request, stored, client))];
  }

  /** Why this exporter can never enqueue the group, if it cannot. */
  protected refusal(_group: ExportGroup): string | undefined {
    return undefined;
  }

  /** Enqueues the jobs of groups that are stored, with Redis reachable; returns the failures. */
  protected abstract enqueueStored(request: ExportRequest, groups: ExportGroup[], client: RedisClient): Promise<ExportFailure[]>;

  async start(): Promise<void> {
    this.queues.start();
  }

  async shutdown(): Promise<void> {
    await this.queues.shutdown();
  }

  unreadyReason(): string | undefined {
    return this.queues.unreadyReason();
  }
}
