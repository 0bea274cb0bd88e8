import { describe, expect, it } from "vitest";
import { OverloadedError } from "../../src/pipeline/errors.js";
import type { RequestContext } from "../../src/pipeline/payload.js";
import { createRateLimiter, rateLimitConfigSchema } from "../../src/processors/rate_limit/factory.js";
import { TokenBucket } from "../../src/processors/rate_limit/token-bucket.js";
import { grpcPeerAddress } from "../../src/receivers/request-context.js";

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
  const context = (projectId: string | undefined, clientAddress?: string): RequestContext => ({
    receiver: "test",
    transport: "http",
    source: "api",
    authorization: undefined,
    sdkName: "unknown",
    sdkVersion: "unknown",
    ingestionVersion: "",
    scope: projectId === undefined ? undefined : { projectId, publicKey: "pk", accessLevel: "project" },
    clientAddress,
  });

  it("limits each project by its own bucket, the default for unlisted ones, and refuses with a retry hint", async () => {
    let now = 0;
    const config = rateLimitConfigSchema.parse({ default: { events_per_second: 1, burst: 2 }, projects: { big: { events_per_second: "100" } } });
    const limiter = createRateLimiter(config, () => now);
    const run = async (projectId: string | undefined, count: number) => limiter.admit(context(projectId), count);

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
    limiter.admit(context("q"), 10_000);
  });

  it("limits each client address across projects, before the project's own budget is spent", async () => {
    let now = 0;
    const limiter = createRateLimiter(
      rateLimitConfigSchema.parse({ per_client_address: { events_per_second: 1, burst: 3 }, projects: { p: { events_per_second: 1, burst: 3 } } }),
      () => now,
    );
    const run = async (projectId: string, address: string, count: number) => limiter.admit(context(projectId, address), count);
    await run("p", "10.0.0.1", 2);
    await run("q", "10.0.0.1", 1);
    await expect(run("q", "10.0.0.1", 1)).rejects.toThrow("client 10.0.0.1 is over its rate limit; retry in 1 s");
    // the refused request did not spend project p's budget: 1 token left there
    await run("p", "10.0.0.2", 1);
    await expect(run("p", "10.0.0.3", 1)).rejects.toThrow("project p is over its rate limit");
    now = 3000;
    await run("q", "10.0.0.1", 3);
  });

  it("forgets idle client buckets once there are many, so addresses cannot grow memory without bound", async () => {
    let now = 0;
    const limiter = createRateLimiter(rateLimitConfigSchema.parse({ per_client_address: { events_per_second: 100, burst: 100 } }), () => now);
    for (let i = 0; i < 10_000; i++) limiter.admit(context(undefined, `a${i}`), 1);
    expect(limiter.bucketCount()).toBe(10_000);
    now = 1000; // every bucket has refilled: all idle
    limiter.admit(context(undefined, "new"), 1);
    expect(limiter.bucketCount()).toBe(1);
  });

  it("reads the address from grpc-js peer strings", () => {
    expect(grpcPeerAddress("127.0.0.1:50123")).toBe("127.0.0.1");
    expect(grpcPeerAddress("::1:50123")).toBe("::1");
    expect(grpcPeerAddress("ipv6:[2001:db8::1]:443")).toBe("2001:db8::1");
    expect(grpcPeerAddress("")).toBeUndefined();
  });

  it("rejects limits that are not positive", () => {
    expect(rateLimitConfigSchema.safeParse({ default: { events_per_second: 0 } }).success).toBe(false);
    expect(rateLimitConfigSchema.safeParse({ projects: { p: { events_per_second: 1, burst: 0.5 } } }).success).toBe(false);
  });
});
