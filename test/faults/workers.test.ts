import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readdirSync, readFileSync } from "node:fs";
import { mkdtemp, readdir, rm } from "node:fs/promises";
import { request } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadConfigText } from "../../src/config/load.js";
import { Service } from "../../src/service.js";
import { basicAuth, pipelineYaml, testLogger, TEST_KEYS } from "../support/daemon.js";
import { DaemonProcess, writeEventsProcessConfig } from "../support/daemon-process.js";
import { AckingClient, checkDelivery } from "../support/delivery.js";
import { startFaultProxy } from "../support/fault-proxy.js";
import { testRedis, type TestRedis } from "../support/redis.js";
import { waitFor } from "../support/redis-server.js";
import { resourceSpans, span, toJson } from "../support/otlp.js";
import { startS3, type TestS3 } from "../support/s3.js";

/**
 * Each worker process has its own spool. When the daemon restarts with fewer workers, a left-over
 * worker spool is drained by a remaining worker, so nothing acknowledged by the old worker is lost.
 * `service.memory_limit` holds for all the daemon's processes together.
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

/** A daemon of two workers, as users run it, with this `memory_limit` (0: none). */
async function twoWorkerDaemon(name: string, memoryLimitBytes: number): Promise<{ daemon: DaemonProcess; url: string }> {
  const file = join(spool, `${name}.yaml`);
  const base = await writeEventsProcessConfig(file, {
    blob: { id: "file", yaml: `  file: { directory: ${join(spool, name, "blobs")}, prefix: events/ }\n` },
    keyPrefix: redis.keyPrefix,
    service: `  workers: 2
  memory_limit: ${memoryLimitBytes}
  telemetry: { health: { endpoint: 127.0.0.1:0 }, metrics: { endpoint: 127.0.0.1:0 } }
  spool: { directory: ${join(spool, name, "spool")}, fsync: false }
`,
  });
  const daemon = new DaemonProcess(file);
  await daemon.start();
  // The primary's own "daemon started" line comes once every worker is up.
  await waitFor(() => daemon.output.includes('"workers":2,"receivers"'), 20_000, "both workers to start");
  return { daemon, url: `${base}/v1/traces` };
}

/** The daemon's processes: the primary and its workers. */
function daemonProcesses(primary: number): { primary: number; workers: number[] } {
  const workers = readdirSync(`/proc/${primary}/task`).flatMap((task) => readFileSync(`/proc/${primary}/task/${task}/children`, "utf8").trim().split(/\s+/).filter(Boolean).map(Number));
  return { primary, workers };
}

function statusKiB(pid: number, field: "VmRSS" | "RssAnon"): number {
  return Number(new RegExp(`^${field}:\\s+(\\d+) kB$`, "m").exec(readFileSync(`/proc/${pid}/status`, "utf8"))![1]) * 1024;
}

/** One export on a new connection, so that consecutive calls reach the workers in turn (cluster's round-robin). */
function exportOnNewConnection(url: string): Promise<{ status: number; retryAfter: string | undefined }> {
  const body = toJson(resourceSpans([span()]));
  return new Promise((resolve, reject) => {
    const outgoing = request(url, { method: "POST", agent: false, headers: { "content-type": "application/json", authorization: basicAuth(), "content-length": body.length } }, (response) => {
      response.resume();
      response.on("end", () => resolve({ status: response.statusCode!, retryAfter: response.headers["retry-after"] }));
    });
    outgoing.on("error", reject);
    outgoing.end(body);
  });
}

describe("memory_limit with several workers", () => {
  it("refuses requests while all the processes together are above the limit, though each one is below it", async () => {
    // Measure an idle daemon of two workers first.
    const measured = await twoWorkerDaemon("memory-measure", 0);
    const { primary, workers } = daemonProcesses(measured.daemon.pid!);
    expect(workers).toHaveLength(2);
    const processes = [primary, ...workers];
    const sum = (pids: number[], field: "VmRSS" | "RssAnon") => pids.reduce((total, pid) => total + statusKiB(pid, field), 0);
    const largest = workers.reduce((a, b) => (statusKiB(a, "VmRSS") >= statusKiB(b, "VmRSS") ? a : b));
    const largestWorker = statusKiB(largest, "VmRSS");
    // However the total counts shared pages, it holds the other processes' own (anonymous) memory.
    const othersOwn = sum(processes.filter((pid) => pid !== largest), "RssAnon");
    const everyRss = sum(processes, "VmRSS");
    expect(await measured.daemon.stop("SIGTERM")).toBe(0);

    // Above every single process, below the daemon as a whole: refused, on both workers.
    const between = Math.round(largestWorker + othersOwn / 2);
    const limited = await twoWorkerDaemon("memory-between", between);
    try {
      // From the first request on: a worker waits for the primary's first report before it listens.
      const answers = await Promise.all(Array.from({ length: 6 }, () => exportOnNewConnection(limited.url)));
      expect(answers, `limit ${between} bytes`).toEqual(Array.from({ length: 6 }, () => ({ status: 429, retryAfter: "5" })));
    } finally {
      expect(await limited.daemon.stop("SIGTERM")).toBe(0);
    }

    // Above the sum of every process's resident memory: accepted.
    const roomy = await twoWorkerDaemon("memory-above", everyRss + 64 * 1024 ** 2);
    try {
      const answers = await Promise.all(Array.from({ length: 6 }, () => exportOnNewConnection(roomy.url)));
      expect(answers.map((answer) => answer.status)).toEqual([200, 200, 200, 200, 200, 200]);
    } finally {
      expect(await roomy.daemon.stop("SIGTERM")).toBe(0);
    }
  });
});
