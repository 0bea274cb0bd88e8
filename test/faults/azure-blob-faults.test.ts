import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { execFile } from "node:child_process";
import { mkdtemp, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { promisify } from "node:util";
import { AZURITE_ACCOUNT, AZURITE_KEY, azureBlobYaml, startAzurite, type TestAzurite } from "../support/azurite.js";
import { pipelineYaml, startDaemon, TEST_KEYS, type TestDaemon } from "../support/daemon.js";
import { DaemonProcess, writeEventsProcessConfig } from "../support/daemon-process.js";
import { AckingClient, checkDelivery, sendThroughThrottlingAndHangs } from "../support/delivery.js";
import { AZURE_SERVER_BUSY, startFaultProxy } from "../support/fault-proxy.js";
import { waitFor } from "../support/redis-server.js";
import { testRedis, type TestRedis } from "../support/redis.js";

const run = promisify(execFile);
const CLI = resolve(import.meta.dirname, "../../dist/src/cli.js");

/**
 * The S3 exporter's fault tests, for azure_blob on Azurite: an outage of the store, throttling
 * (503 ServerBusy, which Azurite never sends, from a proxy in front of it), the daemon killed with
 * data in its spool, and permanent failures (a missing container, a wrong key) that go to the
 * dead letters and are replayed once fixed. Every acknowledged span must land, and no job may point
 * at a missing blob.
 */
let azurite: TestAzurite;
let redis: TestRedis;
let folder: string;
const cleanups: Array<() => Promise<void>> = [];

beforeAll(async () => {
  azurite = await startAzurite();
  redis = testRedis();
  folder = await mkdtemp(join(tmpdir(), "lor-azure-faults-"));
});

afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

afterAll(async () => {
  await redis?.cleanup();
  await azurite?.destroy();
  await rm(folder, { recursive: true, force: true });
});

/**
 * The standard test pipeline with azure_blob in place of s3, in process, with the spool in `name`;
 * `yaml` is the config as given, `configure` edits what the daemon runs with.
 */
async function daemonFor(
  name: string,
  endpoint: string,
  options: { container?: string; configure?: (yaml: string) => string } = {},
): Promise<{ daemon: TestDaemon; yaml: string; client: AckingClient; exported: () => Promise<unknown> }> {
  const blob = azureBlobYaml(endpoint, { extra: "    request_timeout: 300ms\n", container: options.container });
  const yaml = pipelineYaml({ blob: { id: "azure_blob", yaml: blob }, keyPrefix: redis.keyPrefix, spoolDirectory: join(folder, name, "spool") });
  const daemon = await startDaemon(options.configure ? options.configure(yaml) : yaml);
  cleanups.push(() => daemon.stop());
  return { daemon, yaml, client: new AckingClient(() => daemon.url("otlp")), exported: () => Promise.all(daemon.service.pipelines.map((pipeline) => pipeline.spool?.idle())) };
}

describe("azure_blob under backend faults, with the spool", () => {
  it("Azurite stopped mid-stream and started again: requests are acknowledged meanwhile, and every one lands", async () => {
    const { client, exported } = await daemonFor("outage", azurite.endpoint);
    for (let i = 0; i < 5; i += 1) expect(await client.send()).toBe(200);
    await exported();
    await azurite.stop();
    try {
      for (let i = 0; i < 5; i += 1) expect(await client.send()).toBe(200);
    } finally {
      await azurite.start();
    }
    await exported();
    const result = await checkDelivery(azurite, redis, client.acked, TEST_KEYS.projectId);
    expect(client.acked.size).toBe(50);
    expect(result.missing).toEqual([]);
    expect(result.dangling).toEqual([]);
    expect(result.jobs).toBeGreaterThanOrEqual(60);
  });

  it("503 ServerBusy, then no answer at all, then recovery: retried through the spool, nothing acknowledged is lost", async () => {
    const proxy = await startFaultProxy(azurite.endpoint.replace(/\/devstoreaccount1$/, ""), AZURE_SERVER_BUSY);
    cleanups.push(() => proxy.stop());
    const { client, exported } = await daemonFor("throttled", `${proxy.endpoint}/${AZURITE_ACCOUNT}`);
    const faults = await sendThroughThrottlingAndHangs(proxy, client, exported);
    expect(faults.slowedDown).toBeGreaterThan(0);
    expect(faults.held).toBeGreaterThan(0);
    const result = await checkDelivery(azurite, redis, client.acked, TEST_KEYS.projectId);
    expect(client.acked.size).toBe(40);
    expect(result.missing).toEqual([]);
    expect(result.dangling).toEqual([]);
  });

  it("SIGKILL with data in the spool: the next process on the same spool exports everything acknowledged", async () => {
    const proxy = await startFaultProxy(azurite.endpoint.replace(/\/devstoreaccount1$/, ""), AZURE_SERVER_BUSY);
    cleanups.push(() => proxy.stop());
    const file = join(folder, "sigkill.yaml");
    const url = await writeEventsProcessConfig(file, {
      blob: { id: "azure_blob", yaml: azureBlobYaml(`${proxy.endpoint}/${AZURITE_ACCOUNT}`, { extra: "    request_timeout: 1s\n" }) },
      keyPrefix: redis.keyPrefix,
      service: `  workers: 2
  shutdown_timeout: 8s
  telemetry: { logs: { level: info }, health: { endpoint: 127.0.0.1:0 }, metrics: { endpoint: 127.0.0.1:0 } }
  spool: { directory: ${join(folder, "sigkill", "spool")}, retry: { initial_interval: 50ms, max_interval: 500ms } }
`,
    });
    const client = new AckingClient(() => url);
    const daemon = new DaemonProcess(file);
    await daemon.start();
    proxy.setMode("slowdown");
    let sending = true;
    const traffic = Promise.all(Array.from({ length: 4 }, async () => {
      while (sending) if ((await client.send(3)) === 0) return;
    }));
    await waitFor(() => client.acked.size >= 60, 20_000, "60 acknowledged spans");
    expect(await daemon.stop("SIGKILL")).toBeNull();
    sending = false;
    await traffic;
    const acknowledged = new Set(client.acked);
    expect((await checkDelivery(azurite, redis, acknowledged, TEST_KEYS.projectId)).missing.length).toBeGreaterThan(0);

    proxy.setMode("pass");
    const restarted = new DaemonProcess(file);
    await restarted.start();
    await waitFor(async () => (await checkDelivery(azurite, redis, acknowledged, TEST_KEYS.projectId)).missing.length === 0, 30_000, "the spool to be replayed");
    expect((await checkDelivery(azurite, redis, acknowledged, TEST_KEYS.projectId)).dangling).toEqual([]);
    expect(await restarted.stop("SIGTERM")).toBe(0);
  });
});

describe("azure_blob dead letters", () => {
  /** Sends, waits for the export, and returns the config file the CLI works on and the dead-letter folder. */
  async function deadLettered(name: string, container: string, configure?: (yaml: string) => string) {
    const { daemon, yaml, client, exported } = await daemonFor(name, azurite.endpoint, { container, configure });
    const file = join(folder, `${name}.yaml`);
    await writeFile(file, configure ? configure(yaml) : yaml);
    const jobsBefore = (await redis.jobs()).length;
    expect(await client.send(2)).toBe(200);
    await exported();
    await daemon.stop();
    expect((await redis.jobs()).length).toBe(jobsBefore);
    const deadLetters = join(folder, name, "spool", "events", "worker-0", "dead-letter");
    expect((await readdir(deadLetters)).filter((entry) => entry.endsWith(".json"))).toHaveLength(1);
    return { file, yaml, deadLetters, client, jobsBefore };
  }

  async function replayed(file: string, deadLetters: string, client: AckingClient, jobsBefore: number, container: string) {
    const replay = await run(process.execPath, [CLI, "dead-letters", "--replay", "--config", file]);
    expect(replay.stdout).toBe("replayed 1 dead-letter file, 0 still failing\n");
    expect((await readdir(deadLetters)).filter((entry) => entry.endsWith(".json"))).toEqual([]);
    expect((await redis.jobs()).length).toBe(jobsBefore + 3);
    for (const spanId of client.acked) expect(await azurite.listKeys(`events/${TEST_KEYS.projectId}/observation/${spanId}/`, container)).toHaveLength(1);
  }

  it("a missing container: dead-lettered with the reason, listed, and replayed once the container exists", async () => {
    const { file, deadLetters, client, jobsBefore } = await deadLettered("missing-container", "late-container");
    const listing = await run(process.execPath, [CLI, "dead-letters", "--config", file]);
    expect(listing.stdout).toMatch(/^events: 1 dead-letter file in .*\n {2}\S+\.json {2}3 groups {2}azure_blob: Azure ContainerNotFound \(HTTP 404\): .*container "late-container" does not exist/);
    await azurite.client().getContainerClient("late-container").create();
    await replayed(file, deadLetters, client, jobsBefore, "late-container");
  });

  it("a wrong account key: dead-lettered, and replayed with the key corrected", async () => {
    const wrongKey = Buffer.from("not the key").toString("base64");
    await azurite.client().getContainerClient("keyed").create();
    const { file, yaml, deadLetters, client, jobsBefore } = await deadLettered("wrong-key", "keyed", (text) => text.replace(`account_key: ${AZURITE_KEY}`, `account_key: ${wrongKey}`));
    const listing = await run(process.execPath, [CLI, "dead-letters", "--config", file]);
    expect(listing.stdout).toMatch(/azure_blob: Azure (AuthenticationFailed|AuthorizationFailure) \(HTTP 403\)/);
    expect(listing.stdout).not.toContain(wrongKey);
    // The operator fixes the key in the config; the replay reads it.
    await writeFile(file, yaml);
    await replayed(file, deadLetters, client, jobsBefore, "keyed");
  });
});
