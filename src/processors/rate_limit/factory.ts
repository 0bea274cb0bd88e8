import { z } from "zod";
import { numeric } from "../../config/units.js";
import { defineProcessor } from "../../pipeline/define-processor.js";
import type { RequestContext } from "../../pipeline/payload.js";
import { OverloadedError } from "../../pipeline/errors.js";
import { TokenBucket } from "./token-bucket.js";

const limitSchema = z.strictObject({
  events_per_second: numeric.pipe(z.number().positive()).describe("Sustained events (spans, in an otel pipeline) per second."),
  burst: numeric
    .pipe(z.number().int().positive())
    .optional()
    .describe("Events allowed at once after a quiet spell; when absent, one second's worth."),
});
type Limit = z.output<typeof limitSchema>;

export const rateLimitConfigSchema = z
  .strictObject({
    default: limitSchema.optional().describe("The limit of every project not listed under `projects`; when absent, those projects are not limited."),
    projects: z
      .record(z.string().min(1).describe("project id"), limitSchema)
      .default({})
      .describe("Project id → its own limit."),
    per_client_address: limitSchema
      .optional()
      .describe(
        "The limit of each client IP address (as the socket sees it; X-Forwarded-For is not trusted), checked first, across projects and transports; idle address buckets are forgotten once there are 10,000. When absent, addresses are not limited.",
      ),
  })
  .describe(
    "Per-project (and optionally per-client-address) token buckets, so one noisy project or client cannot fill the spool every project shares; not in Langfuse. A request over a limit is refused whole with 429 / RESOURCE_EXHAUSTED and a Retry-After (gRPC RetryInfo) saying when the bucket will hold enough again; nothing of it is stored. Cost is the events the request carries when it reaches `rate_limit` (spans in an otel pipeline); a request larger than the burst is admitted once the bucket is full, and its debt delays what follows. Buckets live in each process: with `workers: N`, each worker enforces the limits on its own.",
  );

export type RateLimitConfig = z.output<typeof rateLimitConfigSchema>;

/**
 * Per-project and per-client-address rate limits, so one noisy project or client cannot fill the
 * spool that all share. A request over a limit is refused whole with 429 / RESOURCE_EXHAUSTED and
 * a Retry-After: nothing of it is stored, and the client, which still holds it, sends it again
 * later. Counted in events as they reach this processor, so place it after sample to limit what
 * is kept. In an otel pipeline the unit is spans. The buckets live in one process; with
 * `workers: N` each worker enforces the limits.
 */
export const rateLimitProcessorFactory = defineProcessor({
  type: "rate_limit",
  configSchema: rateLimitConfigSchema,
  requires: [{ capability: "project_scope", reason: "limits are per project, and the project is known only after auth" }],
  setup: (settings, config) => createRateLimiter(config, () => performance.now(), () => settings.metrics.refusals.inc({ reason: "rate_limit" })),
  events: (batch, limiter) => limiter.admit(batch.context, batch.eventCount),
  spans: (batch, limiter) => limiter.admit(batch.context, batch.spanCount),
});

/** Buckets past this count are swept of the idle (full) ones, so client addresses cannot grow memory without bound. */
const SWEEP_ABOVE = 10_000;

class Buckets {
  readonly #buckets = new Map<string, TokenBucket>();

  constructor(
    private readonly limitFor: (key: string) => Limit | undefined,
    private readonly clock: () => number,
  ) {}

  get size(): number {
    return this.#buckets.size;
  }

  /** 0 when `cost` is admitted under `key`'s limit (or it has none), else the ms to wait. */
  take(key: string, cost: number): number {
    const now = this.clock();
    let bucket = this.#buckets.get(key);
    if (bucket === undefined) {
      const limit = this.limitFor(key);
      if (limit === undefined) return 0;
      if (this.#buckets.size >= SWEEP_ABOVE) this.#sweep(now);
      bucket = new TokenBucket(limit.events_per_second, limit.burst ?? Math.max(1, Math.ceil(limit.events_per_second)), now);
      this.#buckets.set(key, bucket);
    }
    return bucket.take(cost, now);
  }

  /** A full bucket is the same as a new one: forgetting it changes nothing. */
  #sweep(now: number): void {
    for (const [key, bucket] of this.#buckets) if (bucket.isFullAt(now)) this.#buckets.delete(key);
  }
}

export interface RateLimiter {
  /** Takes `cost` events from the request's client-address and project buckets, or throws OverloadedError. */
  admit(context: RequestContext, cost: number): void;
  bucketCount(): number;
}

/** The limiter behind the processor, with the clock (milliseconds) injectable for tests. */
export function createRateLimiter(config: RateLimitConfig, clock: () => number, onRefusal: () => void = () => {}): RateLimiter {
  const projects = new Buckets((projectId) => config.projects[projectId] ?? config.default, clock);
  const addresses = new Buckets(() => config.per_client_address, clock);
  const refuse = (what: string, waitMs: number): never => {
    onRefusal();
    throw new OverloadedError(`${what} is over its rate limit; retry in ${Math.ceil(waitMs / 1000)} s`, waitMs);
  };
  const admit = (context: RequestContext, cost: number): void => {
    if (cost === 0) return;
    // Address first: a flood from one client is refused before it spends its project's budget.
    const address = context.clientAddress;
    if (address !== undefined) {
      const waitMs = addresses.take(address, cost);
      if (waitMs > 0) refuse(`client ${address}`, waitMs);
    }
    const projectId = context.scope?.projectId;
    if (projectId !== undefined) {
      const waitMs = projects.take(projectId, cost);
      if (waitMs > 0) refuse(`project ${projectId}`, waitMs);
    }
  };
  return { admit, bucketCount: () => projects.size + addresses.size };
}
