import { afterEach, describe, expect, it } from "vitest";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pipelineYaml, startDaemon, TEST_KEYS, type TestDaemon } from "../support/daemon.js";
import { AckingClient, checkDelivery, sendThroughThrottlingAndHangs } from "../support/delivery.js";
import { startFaultProxy } from "../support/fault-proxy.js";
import { freePort, RedisServerProcess } from "../support/redis-server.js";
import { testRedis } from "../support/redis.js";
import { SegmentLog } from "../../src/spool/segment-log.js";
import { startS3 } from "../support/s3.js";

/**
 * With the spool, a backend outage never loses acknowledged data: requests keep being accepted
 * while Redis or S3 is away, and everything lands once it is back.
 */
const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function setUp(options: { spoolMaxBytes?: string; memoryLimit?: string; shutdownTimeout?: string } = {}) {
  const s3 = await startS3();
  cleanups.push(() => s3.stop());
  const proxy = await startFaultProxy(s3.endpoint);
  cleanups.push(() => proxy.stop());
  const redisServer = new RedisServerProcess(await freePort());
  await redisServer.start();
  cleanups.push(() => redisServer.stop());
  const redis = testRedis(redisServer.url);
  cleanups.push(() => redis.cleanup());
  const spoolDirectory = await mkdtemp(join(tmpdir(), "lor-fault-spool-"));
  cleanups.push(() => rm(spoolDirectory, { recursive: true, force: true }));
  let yaml = pipelineYaml({ s3Endpoint: proxy.endpoint, keyPrefix: redis.keyPrefix, spoolDirectory })
    .replace(/url: redis:\/\/127\.0\.0\.1:\d+/, `url: ${redisServer.url}`)
    .replace("max_attempts: 1", "max_attempts: 1\n    request_timeout: 300ms");
  if (options.spoolMaxBytes) yaml = yaml.replace("    fsync: false", `    fsync: false\n    max_bytes: ${options.spoolMaxBytes}\n    retry_after: 1s`);
  if (options.shutdownTimeout) yaml = yaml.replace("shutdown_timeout: 10s", `shutdown_timeout: ${options.shutdownTimeout}`);
  if (options.memoryLimit) yaml = yaml.replace("  shutdown_timeout: 10s", `  shutdown_timeout: 10s\n  memory_limit: ${options.memoryLimit}`);
  const daemon: TestDaemon = await startDaemon(yaml);
  cleanups.push(() => daemon.stop());
  const client = new AckingClient(() => daemon.url("otlp"));
  const exported = () => Promise.all(daemon.service.pipelines.map((pipeline) => pipeline.spool?.idle()));
  return { s3, proxy, redisServer, redis, daemon, client, exported, spoolDirectory };
}

describe("backend outages with the spool", () => {
  it("Redis stopped mid-stream and restarted: every acknowledged span lands, no job points at a missing blob", async () => {
    const { s3, redisServer, redis, client, exported } = await setUp();
    for (let i = 0; i < 5; i += 1) expect(await client.send()).toBe(200);
    await redisServer.stop();
    const outageStarted = Date.now();
    for (let i = 0; i < 5; i += 1) expect(await client.send()).toBe(200);
    await redisServer.start();
    const outage = Date.now() - outageStarted;
    await exported();
    const recovered = Date.now() - outageStarted - outage;

    const result = await checkDelivery(s3, redis, client.acked, TEST_KEYS.projectId);
    expect(client.acked.size).toBe(50);
    expect(result.missing).toEqual([]);
    expect(result.dangling).toEqual([]);
    // Every span's observation job and each trace's job: 10 traces × (5 + 1).
    expect(result.jobs).toBeGreaterThanOrEqual(60);
    console.log(`redis outage: ${outage} ms down, exported ${recovered} ms after Redis was back`);
  });

  it("S3 answering SlowDown, then timing out, then recovering: nothing acknowledged is lost", async () => {
    const { s3, proxy, redis, client, exported } = await setUp();
    const faults = await sendThroughThrottlingAndHangs(proxy, client, exported);
    expect(faults.slowedDown).toBeGreaterThan(0);
    expect(faults.held).toBeGreaterThan(0);
    const result = await checkDelivery(s3, redis, client.acked, TEST_KEYS.projectId);
    expect(client.acked.size).toBe(40);
    expect(result.missing).toEqual([]);
    expect(result.dangling).toEqual([]);
  });

  it("a full spool refuses with 429 and Retry-After; what it accepted lands once S3 is back", async () => {
    const { s3, proxy, redis, client, exported, daemon } = await setUp({ spoolMaxBytes: "8KiB" });
    proxy.setMode("slowdown");
    let refused = 0;
    for (let i = 0; i < 20 && refused === 0; i += 1) if ((await client.send()) === 429) refused += 1;
    expect(refused).toBe(1);
    expect(client.refusals[0]).toEqual({ status: 429, retryAfter: "1" });
    // A full spool makes the daemon not ready, so a load balancer sends data elsewhere.
    const notReady = await fetch(`http://${daemon.service.health.address()}/readyz`);
    expect(notReady.status).toBe(503);
    expect(((await notReady.json()) as { reason: string }).reason).toMatch(/^events: the spool is full/);
    const acceptedBeforeFull = client.acked.size;
    expect(acceptedBeforeFull).toBeGreaterThan(0);
    proxy.setMode("pass");
    await exported();
    // Room again: ready, and the next request is accepted.
    expect((await fetch(`http://${daemon.service.health.address()}/readyz`)).status).toBe(200);
    expect(await client.send()).toBe(200);
    await exported();
    const result = await checkDelivery(s3, redis, client.acked, TEST_KEYS.projectId);
    expect(result.missing).toEqual([]);
    expect(result.dangling).toEqual([]);
  });

  it("on shutdown with S3 hanging: not ready at once, stops by the deadline, and keeps the record in the spool", async () => {
    const { proxy, daemon, client, spoolDirectory } = await setUp({ shutdownTimeout: "2s" });
    const ready = () => fetch(`http://${daemon.service.health.address()}/readyz`);
    expect((await ready()).status).toBe(200);
    proxy.setMode("hang");
    expect(await client.send(2)).toBe(200);
    const stopping = daemon.service.shutdown();
    const during = await ready();
    expect(during.status).toBe(503);
    expect(await during.json()).toEqual({ status: "not ready", reason: "shutting down" });
    const startedAt = Date.now();
    await stopping;
    expect(Date.now() - startedAt).toBeLessThan(2_500);
    const { log, recovered } = await SegmentLog.open({ directory: join(spoolDirectory, "events", "worker-0"), segmentBytes: 1024 * 1024, fsync: false });
    expect(recovered.pending).toHaveLength(1);
    await log.close();
  });

  it("refuses with 429 while the process is above its memory limit", async () => {
    const { client } = await setUp({ memoryLimit: "1MiB" });
    expect(await client.send()).toBe(429);
    expect(client.refusals[0]!.retryAfter).toBe("5");
    expect(client.acked.size).toBe(0);
  });
});
