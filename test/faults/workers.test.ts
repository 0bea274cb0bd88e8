import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { mkdtemp, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadConfigText } from "../../src/config/load.js";
import { Service } from "../../src/service.js";
import { pipelineYaml, testLogger, TEST_KEYS } from "../support/daemon.js";
import { AckingClient, checkDelivery } from "../support/delivery.js";
import { startFaultProxy } from "../support/fault-proxy.js";
import { testRedis, type TestRedis } from "../support/redis.js";
import { waitFor } from "../support/redis-server.js";
import { startS3, type TestS3 } from "../support/s3.js";

/**
 * Each worker process has its own spool. When the daemon restarts with fewer workers, a left-over
 * worker spool is drained by a remaining worker, so nothing acknowledged by the old worker is lost.
 */
let s3: TestS3;
let redis: TestRedis;
let spool: string;

beforeAll(async () => {
  s3 = await startS3();
  redis = testRedis();
  spool = await mkdtemp(join(tmpdir(), "lor-workers-"));
});

afterAll(async () => {
  await redis?.cleanup();
  await s3?.stop();
  await rm(spool, { recursive: true, force: true });
});

function service(s3Endpoint: string, worker: { index: number; count: number }) {
  const config = loadConfigText(pipelineYaml({ s3Endpoint, keyPrefix: redis.keyPrefix, spoolDirectory: spool }));
  return new Service(config, { logger: testLogger(), worker });
}

describe("worker spools", () => {
  it("a worker that no longer exists leaves its spool to a remaining worker, which exports it", async () => {
    const proxy = await startFaultProxy(s3.endpoint);
    try {
      // Worker 1 of 2 accepts data while S3 throttles, then stops with it still spooled.
      proxy.setMode("slowdown");
      const second = service(proxy.endpoint, { index: 1, count: 2 });
      await second.start();
      const client = new AckingClient(() => second.receivers.get("otlp")!.addresses().find((address) => address.startsWith("http://"))!);
      for (let i = 0; i < 3; i += 1) expect(await client.send(4)).toBe(200);
      await second.shutdown();
      expect(await readdir(join(spool, "events"))).toEqual(["worker-1"]);

      // The daemon comes back with one worker: worker 0 adopts worker-1's spool.
      proxy.setMode("pass");
      const only = service(proxy.endpoint, { index: 0, count: 1 });
      await only.start();
      await waitFor(async () => (await checkDelivery(s3, redis, client.acked, TEST_KEYS.projectId)).missing.length === 0, 15_000, "the adopted spool to be exported");
      expect((await checkDelivery(s3, redis, client.acked, TEST_KEYS.projectId)).dangling).toEqual([]);
      await only.shutdown();
      expect((await readdir(join(spool, "events"))).sort()).toEqual(["worker-0", "worker-1"]);
    } finally {
      await proxy.stop();
    }
  });
});
