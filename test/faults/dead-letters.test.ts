import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { execFile } from "node:child_process";
import { mkdtemp, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { promisify } from "node:util";
import { CreateBucketCommand, ListObjectsV2Command } from "@aws-sdk/client-s3";
import { pipelineYaml, startDaemon, TEST_KEYS, type TestDaemon } from "../support/daemon.js";
import { AckingClient } from "../support/delivery.js";
import { testRedis, type TestRedis } from "../support/redis.js";
import { startS3, type TestS3 } from "../support/s3.js";

const run = promisify(execFile);
const CLI = resolve(import.meta.dirname, "../../dist/src/cli.js");

/**
 * A permanent failure (the bucket does not exist) moves the groups to the dead letters instead of
 * retrying forever; the CLI lists them with the reason and, once the bucket exists, replays them.
 */
let s3: TestS3;
let redis: TestRedis;
let daemon: TestDaemon;
let folder: string;
let configFile: string;

beforeAll(async () => {
  s3 = await startS3();
  redis = testRedis();
  folder = await mkdtemp(join(tmpdir(), "lor-dead-letters-"));
  const yaml = pipelineYaml({ s3Endpoint: s3.endpoint, keyPrefix: redis.keyPrefix, spoolDirectory: join(folder, "spool"), bucket: "late-bucket" });
  configFile = join(folder, "pipeline.yaml");
  await writeFile(configFile, yaml);
  daemon = await startDaemon(yaml);
});

afterAll(async () => {
  await daemon?.stop();
  await redis?.cleanup();
  await s3?.stop();
  await rm(folder, { recursive: true, force: true });
});

describe("dead letters", () => {
  it("keeps permanently failing groups on disk, lists them, and replays them once the cause is fixed", async () => {
    const client = new AckingClient(() => daemon.url("otlp"));
    expect(await client.send(2)).toBe(200);
    await Promise.all(daemon.service.pipelines.map((pipeline) => pipeline.spool?.idle()));
    expect(await redis.jobs()).toEqual([]);

    const deadLetterFolder = join(folder, "spool", "events", "worker-0", "dead-letter");
    expect((await readdir(deadLetterFolder)).filter((name) => name.endsWith(".json"))).toHaveLength(1);
    const listing = await run(process.execPath, [CLI, "dead-letters", "--config", configFile]);
    expect(listing.stdout).toMatch(/^events: 1 dead-letter file in .*\n {2}\S+\.json {2}3 groups {2}s3: S3 NoSuchBucket \(HTTP 404\)/);

    await s3.client.send(new CreateBucketCommand({ Bucket: "late-bucket" }));
    const replay = await run(process.execPath, [CLI, "dead-letters", "--replay", "--config", configFile]);
    expect(replay.stdout).toBe("replayed 1 dead-letter file, 0 still failing\n");
    expect((await readdir(deadLetterFolder)).filter((name) => name.endsWith(".json"))).toEqual([]);

    const jobs = await redis.jobs();
    expect(jobs).toHaveLength(3);
    for (const spanId of client.acked) {
      const keys = await s3.client.send(new ListObjectsV2Command({ Bucket: "late-bucket", Prefix: `events/${TEST_KEYS.projectId}/observation/${spanId}/` }));
      expect(keys.Contents ?? []).toHaveLength(1);
    }
  });
});
