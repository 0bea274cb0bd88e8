import { describe, expect, it } from "vitest";
import { EventBatch, type EventRecord } from "../../src/pipeline/batch.js";
import { OverloadedError } from "../../src/pipeline/errors.js";
import type { RequestContext } from "../../src/pipeline/payload.js";
import { createRateLimiter, rateLimitConfigSchema } from "../../src/processors/rate_limit/factory.js";
import { TokenBucket } from "../../src/processors/rate_limit/token-bucket.js";

describe("token bucket", () => {
  it("admits up to the burst at once, then at the sustained rate", () => {
    const bucket = new TokenBucket(10, 20, 0);
    expect(bucket.take(20, 0)).toBe(0);
    expect(bucket.take(1, 0)).toBe(100); // one token takes 100 ms at 10/s
    expect(bucket.take(1, 99)).toBe(1);
    expect(bucket.take(1, 100)).toBe(0);
    // idle time refills only up to the burst
    expect(bucket.take(20, 60_000)).toBe(0);
    expect(bucket.take(1, 60_000)).toBeGreaterThan(0);
  });

  it("lets a request larger than the burst through once full, and its debt delays the next", () => {
    const bucket = new TokenBucket(10, 5, 0);
    expect(bucket.take(25, 0)).toBe(0); // balance now -20
    expect(bucket.take(1, 0)).toBe(2100); // back to +1 takes 21 tokens = 2.1 s
    expect(bucket.take(1, 2100)).toBe(0);
  });
});

describe("rate_limit processor", () => {
  const context = (projectId: string | undefined): RequestContext => ({
    receiver: "test",
    transport: "http",
    source: "api",
    authorization: undefined,
    sdkName: "unknown",
    sdkVersion: "unknown",
    ingestionVersion: "",
    scope: projectId === undefined ? undefined : { projectId, publicKey: "pk", accessLevel: "project" },
  });
  const events = (count: number): EventRecord[] =>
    Array.from({ length: count }, (_, i) => ({ origin: i, event: { id: `e${i}`, type: "span-create", timestamp: "2024-01-01T00:00:00.000Z", body: { id: `s${i}` } } }));

  it("limits each project by its own bucket, the default for unlisted ones, and refuses with a retry hint", async () => {
    let now = 0;
    const config = rateLimitConfigSchema.parse({ default: { events_per_second: 1, burst: 2 }, projects: { big: { events_per_second: "100" } } });
    const limiter = createRateLimiter(config, () => now);
    const run = async (projectId: string | undefined, count: number) => limiter.process(new EventBatch(context(projectId), events(count)));

    await run("small", 2);
    const refusal = await run("small", 1).then(
      () => undefined,
      (error: unknown) => error,
    );
    expect(refusal).toBeInstanceOf(OverloadedError);
    expect((refusal as OverloadedError).retryAfterMs).toBe(1000);
    expect((refusal as OverloadedError).message).toBe("project small is over its rate limit; retry in 1 s");
    // another project is not affected; burst defaults to one second's worth
    await run("other", 2);
    await run("big", 100);
    await expect(run("big", 1)).rejects.toBeInstanceOf(OverloadedError);
    // no project scope (auth not configured before it): nothing to limit by
    await run(undefined, 1000);
    now = 1000;
    await run("small", 1);
  });

  it("leaves unlisted projects alone when there is no default", async () => {
    const limiter = createRateLimiter(rateLimitConfigSchema.parse({ projects: { p: { events_per_second: 1 } } }), () => 0);
    await limiter.process(new EventBatch(context("q"), events(10_000)));
  });

  it("rejects limits that are not positive", () => {
    expect(rateLimitConfigSchema.safeParse({ default: { events_per_second: 0 } }).success).toBe(false);
    expect(rateLimitConfigSchema.safeParse({ projects: { p: { events_per_second: 1, burst: 0.5 } } }).success).toBe(false);
  });
});
