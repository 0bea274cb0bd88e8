import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Logger } from "pino";
import { pipelineYaml, startDaemon, type TestDaemon } from "./daemon.js";
import { startS3, type TestS3 } from "./s3.js";
import { testRedis, type TestRedis } from "./redis.js";

export type StoredEvent = { id: string; type: string; timestamp: string; body: Record<string, unknown> };

/**
 * What most end-to-end tests need: s3rver over HTTP, a private prefix on the local Redis, and
 * the daemon with the standard test pipeline (optionally edited) between them.
 */
export async function startStack(options: { configure?: (yaml: string) => string; spool?: boolean; logger?: Logger } = {}) {
  const s3 = await startS3();
  const redis = testRedis();
  const spoolDirectory = await mkdtemp(join(tmpdir(), "lor-spool-"));
  let daemon: TestDaemon;
  try {
    const yaml = pipelineYaml({ s3Endpoint: s3.endpoint, keyPrefix: redis.keyPrefix, spoolDirectory: options.spool === false ? false : spoolDirectory });
    daemon = await startDaemon(options.configure ? options.configure(yaml) : yaml, { logger: options.logger });
  } catch (error) {
    await redis.cleanup();
    await s3.stop();
    throw error;
  }

  /** Waits until everything the daemon acknowledged has left its spool (exported or dead-lettered). */
  async function exported(): Promise<void> {
    await Promise.all(daemon.service.pipelines.map((pipeline) => pipeline.spool?.idle()));
  }

  // Reads go through these so a test sees everything the daemon acknowledged before the read:
  // with the spool, exports happen after the answer.
  const settledS3: TestS3 = {
    ...s3,
    listKeys: async (prefix) => (await exported(), s3.listKeys(prefix)),
    getObject: async (key) => (await exported(), s3.getObject(key)),
    getJson: async <T,>(key: string) => (await exported(), s3.getJson<T>(key)),
  };
  const settledRedis: TestRedis = { ...redis, jobs: async (name) => (await exported(), redis.jobs(name)) };

  /** Every event stored under a key prefix, object by object in key order. */
  async function eventsUnder(prefix: string): Promise<StoredEvent[]> {
    const keys = await settledS3.listKeys(prefix);
    return (await Promise.all(keys.map((key) => s3.getJson<StoredEvent[]>(key)))).flat();
  }

  async function stop(): Promise<void> {
    await daemon.stop();
    await redis.cleanup();
    await s3.stop();
    await rm(spoolDirectory, { recursive: true, force: true });
  }

  return { s3: settledS3, redis: settledRedis, daemon, spoolDirectory, eventsUnder, exported, stop };
}

export type TestStack = Awaited<ReturnType<typeof startStack>>;
export type { TestS3, TestRedis, TestDaemon };

/**
 * The standard stack with an `otel` pipeline (the raw path: S3 + langfuse_otel) taking OTLP from
 * both receivers, with the processors given; native batches still take the events pipeline.
 */
export function startRawPathStack(processors: readonly string[] = ["validate", "auth"]): Promise<TestStack> {
  return startStack({
    configure: (yaml) => {
      const keyPrefix = /key_prefix: (\S+)/.exec(yaml)![1]!;
      return yaml
        .replace("exporters:\n", `exporters:\n  langfuse_otel:\n    redis: { url: ${process.env.TEST_REDIS_URL ?? "redis://127.0.0.1:6379"}, key_prefix: ${keyPrefix} }\n`)
        .replace("  pipelines:\n", `  pipelines:\n    otel:\n      receivers: [otlp, langfuse]\n      processors: [${processors.join(", ")}]\n      exporters: [s3, langfuse_otel]\n`);
    },
  });
}

