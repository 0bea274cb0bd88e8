import { z } from "zod";
import { numeric } from "../../config/units.js";
import type { EventBatch } from "../../pipeline/batch.js";
import type { EventsProcessor, ProcessorFactory } from "../../pipeline/component.js";
import { OverloadedError } from "../../pipeline/errors.js";
import { metrics } from "../../telemetry/metrics.js";
import { TokenBucket } from "./token-bucket.js";

const limitSchema = z.strictObject({
  /** Sustained events per second. */
  events_per_second: numeric.pipe(z.number().positive()),
  /** Events a project may send at once after a quiet spell. Default: one second's worth. */
  burst: numeric.pipe(z.number().int().positive()).optional(),
});

export const rateLimitConfigSchema = z.strictObject({
  /** The limit of every project not listed under `projects`. Absent: those projects are not limited. */
  default: limitSchema.optional(),
  /** Project id → its own limit. */
  projects: z.record(z.string().min(1), limitSchema).default({}),
});

export type RateLimitConfig = z.output<typeof rateLimitConfigSchema>;

/**
 * Per-project rate limit, so one noisy project cannot fill the spool that all projects share.
 * A request over the limit is refused whole with 429 / RESOURCE_EXHAUSTED and a Retry-After:
 * nothing of it is stored, and the client, which still holds it, sends it again later. Counted
 * in events as they reach this processor, so place it after sample to limit what is kept.
 * The buckets live in one process; with `workers: N` each worker enforces the limit on its own.
 */
export const rateLimitProcessorFactory: ProcessorFactory<typeof rateLimitConfigSchema> = {
  kind: "processor",
  type: "rate_limit",
  configSchema: rateLimitConfigSchema,
  provides: [],
  requires: [{ capability: "project_scope", reason: "limits are per project, and the project is known only after auth" }],
  create: (_settings, config) => createRateLimiter(config, () => performance.now()),
};

/** The processor, with the clock (milliseconds) injectable for tests. */
export function createRateLimiter(config: RateLimitConfig, clock: () => number): EventsProcessor {
  const buckets = new Map<string, TokenBucket>();
  const bucketFor = (projectId: string): TokenBucket | undefined => {
    let bucket = buckets.get(projectId);
    if (bucket !== undefined) return bucket;
    const limit = config.projects[projectId] ?? config.default;
    if (limit === undefined) return undefined;
    bucket = new TokenBucket(limit.events_per_second, limit.burst ?? Math.max(1, Math.ceil(limit.events_per_second)), clock());
    buckets.set(projectId, bucket);
    return bucket;
  };
  return {
    start: async () => {},
    shutdown: async () => {},
    process(batch: EventBatch): void {
      const projectId = batch.context.scope?.projectId;
      const cost = batch.eventCount;
      if (projectId === undefined || cost === 0) return;
      const waitMs = bucketFor(projectId)?.take(cost, clock()) ?? 0;
      if (waitMs === 0) return;
      metrics.refusals.inc({ reason: "rate_limit" });
      throw new OverloadedError(`project ${projectId} is over its rate limit; retry in ${Math.ceil(waitMs / 1000)} s`, waitMs);
    },
  };
}
