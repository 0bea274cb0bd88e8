import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { execFileSync } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Cluster } from "ioredis";
import { pipelineYaml, startDaemon, TEST_KEYS, type TestDaemon } from "../support/daemon.js";
import { AckingClient } from "../support/delivery.js";
import { freePort, RedisServerProcess, waitFor } from "../support/redis-server.js";
import { startS3, type TestS3 } from "../support/s3.js";
import { shardIndex } from "../../src/exporters/bullmq/queue-naming.js";

/**
 * A real 3-master Redis Cluster started from the local redis-server: jobs spread over Langfuse's
 * sharded, hash-tagged queues (`{prefix:ingestion-queue-N}`), and the seen-trace keys work there.
 */
let folder: string;
let s3: TestS3;
let daemon: TestDaemon;
let cluster: Cluster;
const nodes: RedisServerProcess[] = [];
const ports: number[] = [];
const SHARDS = 4;

beforeAll(async () => {
  folder = await mkdtemp(join(tmpdir(), "lor-cluster-"));
  s3 = await startS3();
  for (let i = 0; i < 3; i += 1) {
    const port = await freePort();
    ports.push(port);
    const node = new RedisServerProcess(port, {
      args: ["--port", String(port), "--bind", "127.0.0.1", "--cluster-enabled", "yes", "--cluster-config-file", join(folder, `nodes-${port}.conf`), "--save", "", "--appendonly", "no"],
    });
    await node.start();
    nodes.push(node);
  }
  execFileSync("redis-cli", ["--cluster", "create", ...ports.map((port) => `127.0.0.1:${port}`), "--cluster-replicas", "0", "--cluster-yes"], { stdio: "ignore" });
  cluster = new Cluster(ports.map((port) => ({ host: "127.0.0.1", port })));
  await waitFor(async () => (await cluster.cluster("INFO")).includes("cluster_state:ok"), 15_000, "the cluster to be ready");

  const clusterRedis = `    redis:\n      key_prefix: lf\n      cluster_nodes: [${ports.map((port) => `"127.0.0.1:${port}"`).join(", ")}]\n    shard_count: ${SHARDS}\n`;
  // OTLP on the otlp receiver is converted (events pipeline); on the langfuse receiver it takes the raw path.
  const yaml = pipelineYaml({ s3Endpoint: s3.endpoint, keyPrefix: "lf", spoolDirectory: join(folder, "spool") })
    .replace(/    redis:\n      url: .*\n      key_prefix: lf\n/, clusterRedis)
    .replace("exporters:\n", `exporters:\n  langfuse_otel:\n${clusterRedis}`)
    .replace("      receivers: [otlp, langfuse]\n", "      receivers: [otlp]\n")
    .replace("  pipelines:\n", "  pipelines:\n    otel:\n      receivers: [langfuse]\n      processors: [auth, validate]\n      exporters: [s3, langfuse_otel]\n");
  daemon = await startDaemon(yaml);
});

afterAll(async () => {
  await daemon?.stop();
  cluster?.disconnect();
  for (const node of nodes) await node.stop();
  await s3?.stop();
  await rm(folder, { recursive: true, force: true });
});

describe("Redis Cluster", () => {
  it("enqueues on Langfuse's sharded, hash-tagged queues and keeps the seen-trace keys there", async () => {
    const client = new AckingClient(() => daemon.url("otlp"));
    for (let i = 0; i < 4; i += 1) expect(await client.send(5)).toBe(200);
    await Promise.all(daemon.service.pipelines.map((pipeline) => pipeline.spool?.idle()));

    let total = 0;
    const used: number[] = [];
    for (let shard = 0; shard < SHARDS; shard += 1) {
      const name = shard === 0 ? "ingestion-queue" : `ingestion-queue-${shard}`;
      const waiting = await cluster.llen(`{lf:${name}}:${name}:wait`);
      total += waiting;
      if (waiting > 0) used.push(shard);
    }
    // 4 traces × (5 observations + 1 trace) jobs, spread by sha256("<project>-<body id>").
    expect(total).toBe(24);
    expect(used.length).toBeGreaterThan(1);
    const spanId = [...client.acked][0]!;
    const expectedShard = shardIndex(`${TEST_KEYS.projectId}-${spanId}`, SHARDS);
    expect(used).toContain(expectedShard);

    // Langfuse's prefix is prepended raw (no separator); one key per trace, on whichever master owns its slot.
    const seen = (await Promise.all(cluster.nodes("master").map((node) => node.keys("lflangfuse:project:*:trace:*:seen")))).flat();
    expect(seen).toHaveLength(4);
  });

  it("puts raw-export jobs on the sharded otel-ingestion-queue that Langfuse picks from project and file key", async () => {
    const client = new AckingClient(() => `${daemon.url("langfuse")}/api/public/otel`);
    for (let i = 0; i < 8; i += 1) expect(await client.send(2)).toBe(200);
    await Promise.all(daemon.service.pipelines.map((pipeline) => pipeline.spool?.idle()));

    const placed: Array<{ shard: number; fileKey: string }> = [];
    for (let shard = 0; shard < SHARDS; shard += 1) {
      const name = shard === 0 ? "otel-ingestion-queue" : `otel-ingestion-queue-${shard}`;
      const ids = await cluster.lrange(`{lf:${name}}:${name}:wait`, 0, -1);
      for (const id of ids) {
        const data = JSON.parse((await cluster.hget(`{lf:${name}}:${name}:${id}`, "data"))!) as { payload: { data: { fileKey: string } } };
        placed.push({ shard, fileKey: data.payload.data.fileKey });
      }
    }
    expect(placed).toHaveLength(8);
    for (const { shard, fileKey } of placed) {
      expect(fileKey).toMatch(/^events\/otel\/project-test\//);
      expect(shard).toBe(shardIndex(`${TEST_KEYS.projectId}-${fileKey}`, SHARDS));
    }
    expect(new Set(placed.map((item) => item.shard)).size).toBeGreaterThan(1);
  });
});
