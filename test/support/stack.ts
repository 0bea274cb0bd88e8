import { pipelineYaml, startDaemon, type TestDaemon } from "./daemon.js";
import { startS3, type TestS3 } from "./s3.js";
import { testRedis, type TestRedis } from "./redis.js";

export type StoredEvent = { id: string; type: string; timestamp: string; body: Record<string, unknown> };

/**
 * What most end-to-end tests need: s3rver over HTTP, a private prefix on the local Redis, and
 * the daemon with the standard test pipeline (optionally edited) between them.
 */
export async function startStack(options: { configure?: (yaml: string) => string } = {}) {
  const s3 = await startS3();
  const redis = testRedis();
  let daemon: TestDaemon;
  try {
    const yaml = pipelineYaml({ s3Endpoint: s3.endpoint, keyPrefix: redis.keyPrefix });
    daemon = await startDaemon(options.configure ? options.configure(yaml) : yaml);
  } catch (error) {
    await redis.cleanup();
    await s3.stop();
    throw error;
  }

  /** Every event stored under a key prefix, object by object in key order. */
  async function eventsUnder(prefix: string): Promise<StoredEvent[]> {
    const keys = await s3.listKeys(prefix);
    return (await Promise.all(keys.map((key) => s3.getJson<StoredEvent[]>(key)))).flat();
  }

  async function stop(): Promise<void> {
    await daemon.stop();
    await redis.cleanup();
    await s3.stop();
  }

  return { s3, redis, daemon, eventsUnder, stop };
}

export type TestStack = Awaited<ReturnType<typeof startStack>>;
export type { TestS3, TestRedis, TestDaemon };
