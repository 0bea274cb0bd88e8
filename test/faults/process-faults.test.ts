import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { TEST_KEYS } from "../support/daemon.js";
import { DaemonProcess } from "../support/daemon-process.js";
import { AckingClient, checkDelivery } from "../support/delivery.js";
import { startFaultProxy } from "../support/fault-proxy.js";
import { freePort, waitFor } from "../support/redis-server.js";
import { testRedis, type TestRedis } from "../support/redis.js";
import { startS3, type TestS3 } from "../support/s3.js";

/**
 * The daemon process dies (SIGKILL) or is stopped (SIGTERM) while clients are sending: whatever
 * it acknowledged is exported, by the same process or by the next one on the same spool.
 */
let s3: TestS3;
let redis: TestRedis;
let folder: string;

beforeAll(async () => {
  s3 = await startS3();
  redis = testRedis();
  folder = await mkdtemp(join(tmpdir(), "lor-process-faults-"));
});

afterAll(async () => {
  await redis?.cleanup();
  await s3?.stop();
  await rm(folder, { recursive: true, force: true });
});

async function writeConfig(name: string, s3Endpoint: string): Promise<{ file: string; url: string }> {
  const port = await freePort();
  const file = join(folder, `${name}.yaml`);
  await writeFile(
    file,
    `receivers:
  otlp:
    http: { endpoint: 127.0.0.1:${port} }
processors:
  validate: {}
  auth: { keys: [{ public_key: ${TEST_KEYS.publicKey}, secret_key: ${TEST_KEYS.secretKey}, project_id: ${TEST_KEYS.projectId} }] }
  group: {}
exporters:
  s3:
    bucket: langfuse
    prefix: events/
    endpoint: ${s3Endpoint}
    force_path_style: true
    access_key_id: S3RVER
    secret_access_key: S3RVER
    max_attempts: 1
    request_timeout: 1s
  bullmq:
    redis: { url: redis://127.0.0.1:6379, key_prefix: ${redis.keyPrefix} }
service:
  # Several processes, so a kill and a stop reach a primary and its workers.
  workers: 2
  shutdown_timeout: 8s
  telemetry: { logs: { level: info }, health: { endpoint: 127.0.0.1:0 }, metrics: { endpoint: 127.0.0.1:0 } }
  spool:
    directory: ${join(folder, name, "spool")}
    retry: { initial_interval: 50ms, max_interval: 500ms }
  pipelines:
    events: { receivers: [otlp], processors: [validate, auth, group], exporters: [s3, bullmq] }
`,
  );
  return { file, url: `http://127.0.0.1:${port}` };
}

/** Several clients sending at once until told to stop. */
function load(client: AckingClient, senders = 4) {
  let running = true;
  const done = Promise.all(
    Array.from({ length: senders }, async () => {
      while (running) if ((await client.send(3)) === 0) return;
    }),
  );
  return {
    stop: async () => {
      running = false;
      await done;
    },
  };
}

describe("the daemon process under faults", () => {
  it("SIGKILL mid-stream: the next process on the same spool exports everything acknowledged", async () => {
    const proxy = await startFaultProxy(s3.endpoint);
    try {
      const { file, url } = await writeConfig("sigkill", proxy.endpoint);
      const client = new AckingClient(() => url);
      const daemon = new DaemonProcess(file);
      await daemon.start();
      // S3 throttles, so acknowledged data piles up in the spool, then the process is killed.
      proxy.setMode("slowdown");
      const traffic = load(client);
      await waitFor(() => client.acked.size >= 120, 20_000, "120 acknowledged spans");
      expect(await daemon.stop("SIGKILL")).toBeNull();
      await traffic.stop();
      const acknowledged = new Set(client.acked);
      expect((await checkDelivery(s3, redis, acknowledged, TEST_KEYS.projectId)).missing.length).toBeGreaterThan(0);

      proxy.setMode("pass");
      const restarted = new DaemonProcess(file);
      const restartedAt = Date.now();
      await restarted.start();
      // Each worker logs its own start: the one whose spool holds the records may come second.
      await waitFor(() => restarted.output.includes("exporting them first"), 10_000, "the restarted daemon to find the spooled records");
      await waitFor(async () => (await checkDelivery(s3, redis, acknowledged, TEST_KEYS.projectId)).missing.length === 0, 30_000, "the spool to be replayed");
      console.log(`sigkill: ${acknowledged.size} acknowledged spans exported ${Date.now() - restartedAt} ms after the restart`);
      expect((await checkDelivery(s3, redis, acknowledged, TEST_KEYS.projectId)).dangling).toEqual([]);
      expect(await restarted.stop("SIGTERM")).toBe(0);
    } finally {
      await proxy.stop();
    }
  });

  it("SIGTERM under load: stops within the deadline with exit code 0, and nothing acknowledged is lost", async () => {
    const { file, url } = await writeConfig("sigterm", s3.endpoint);
    const client = new AckingClient(() => url);
    const daemon = new DaemonProcess(file);
    await daemon.start();
    const traffic = load(client);
    await waitFor(() => client.acked.size >= 60, 20_000, "60 acknowledged spans");
    const stoppingAt = Date.now();
    // On failure, the daemon's own account of its stop.
    expect(await daemon.stop("SIGTERM"), daemon.output).toBe(0);
    const stopMs = Date.now() - stoppingAt;
    await traffic.stop();
    expect(stopMs).toBeLessThan(8_000);
    expect(daemon.output).toContain('"msg":"daemon stopped"');
    const result = await checkDelivery(s3, redis, client.acked, TEST_KEYS.projectId);
    console.log(`sigterm: stopped in ${stopMs} ms with ${client.acked.size} acknowledged spans`);
    expect(result.missing).toEqual([]);
    expect(result.dangling).toEqual([]);
  });
});
