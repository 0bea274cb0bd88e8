import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readFileSync } from "node:fs";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Redis } from "ioredis";
import { makeCertificates } from "../support/certificates.js";
import { pipelineYaml, startDaemon, type TestDaemon } from "../support/daemon.js";
import { AckingClient } from "../support/delivery.js";
import { answers, freePort, RedisServerProcess } from "../support/redis-server.js";
import { startS3, type TestS3 } from "../support/s3.js";

/** The bullmq exporter over TLS (with a client certificate) and through Redis Sentinel. */
let folder: string;
let s3: TestS3;
const cleanups: Array<() => Promise<void>> = [];

beforeAll(async () => {
  folder = await mkdtemp(join(tmpdir(), "lor-redis-tls-"));
  s3 = await startS3();
});

afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
  await s3?.stop();
  await rm(folder, { recursive: true, force: true });
});

async function waitingJobs(client: Redis, keyPrefix: string): Promise<number> {
  return client.llen(`${keyPrefix}:ingestion-queue:wait`);
}

async function daemonWithRedis(redisBlock: string): Promise<TestDaemon> {
  const yaml = pipelineYaml({ s3Endpoint: s3.endpoint, keyPrefix: "unused", spoolDirectory: join(folder, `spool-${cleanups.length}`) }).replace(
    /    redis:\n      url: .*\n      key_prefix: unused\n/,
    redisBlock,
  );
  const daemon = await startDaemon(yaml);
  cleanups.push(() => daemon.stop());
  return daemon;
}

const exported = (daemon: TestDaemon) => Promise.all(daemon.service.pipelines.map((pipeline) => pipeline.spool?.idle()));

describe("bullmq exporter connections", () => {
  it("enqueues over TLS with a client certificate (mutual TLS)", async () => {
    const certs = makeCertificates(folder);
    const port = await freePort();
    const tls = { ca: readFileSync(certs.ca), cert: readFileSync(certs.clientCert), key: readFileSync(certs.clientKey) };
    const server = new RedisServerProcess(port, {
      args: ["--port", "0", "--tls-port", String(port), "--bind", "127.0.0.1", "--tls-cert-file", certs.serverCert, "--tls-key-file", certs.serverKey, "--tls-ca-cert-file", certs.ca, "--tls-auth-clients", "yes", "--save", "", "--appendonly", "no"],
      ready: answers({ host: "127.0.0.1", port, tls }),
    });
    await server.start();
    cleanups.push(() => server.stop());

    const daemon = await daemonWithRedis(`    redis:
      url: rediss://127.0.0.1:${port}
      key_prefix: tls
      tls: { ca_file: ${certs.ca}, cert_file: ${certs.clientCert}, key_file: ${certs.clientKey} }
`);
    const client = new AckingClient(() => daemon.url("otlp"));
    expect(await client.send(2)).toBe(200);
    await exported(daemon);
    const reader = new Redis({ host: "127.0.0.1", port, tls });
    expect(await waitingJobs(reader, "tls")).toBe(3);
    reader.disconnect();
  });

  it("finds the master through Redis Sentinel", async () => {
    const masterPort = await freePort();
    const master = new RedisServerProcess(masterPort);
    await master.start();
    cleanups.push(() => master.stop());
    const sentinelPort = await freePort();
    const sentinelConfig = join(folder, "sentinel.conf");
    await writeFile(sentinelConfig, `port ${sentinelPort}\nbind 127.0.0.1\nsentinel monitor mymaster 127.0.0.1 ${masterPort} 1\nsentinel down-after-milliseconds mymaster 5000\n`);
    const sentinel = new RedisServerProcess(sentinelPort, {
      args: [sentinelConfig, "--sentinel"],
      ready: answers({ host: "127.0.0.1", port: sentinelPort }, async (client) => {
        const reply = (await client.call("SENTINEL", "get-master-addr-by-name", "mymaster")) as string[] | null;
        return reply?.[1] === String(masterPort);
      }),
    });
    await sentinel.start();
    cleanups.push(() => sentinel.stop());

    const daemon = await daemonWithRedis(`    redis:
      key_prefix: sentinel
      sentinel: { nodes: ["127.0.0.1:${sentinelPort}"], master_name: mymaster }
`);
    const client = new AckingClient(() => daemon.url("otlp"));
    expect(await client.send(2)).toBe(200);
    await exported(daemon);
    const reader = new Redis(master.url);
    expect(await waitingJobs(reader, "sentinel")).toBe(3);
    reader.disconnect();
  });
});
