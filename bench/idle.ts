/**
 * Idle memory: the events-path daemon with a number of workers, no traffic at all. Resident
 * memory per process once every process has started, and again after `settings.idleMs`: what a
 * container holds before its first request, and what it settles to while nothing arrives.
 */
import { startDaemon } from "./daemon.js";
import type { DaemonMemory } from "./memory.js";
import { onCleanup, sleep } from "./procs.js";
import type { BenchRedis } from "./redis.js";
import { uniquePrefix } from "./redis.js";
import { settings } from "./settings.js";

export interface IdleResult {
  workers: number;
  atStart: DaemonMemory;
  afterIdle: DaemonMemory;
}

export async function measureIdle(workers: number, redis: BenchRedis): Promise<IdleResult> {
  const keyPrefix = uniquePrefix(`idle-${workers}`);
  const forgetKeys = onCleanup(`delete Redis keys ${keyPrefix}*`, async () => {
    await redis.deletePrefix(keyPrefix);
  });
  // Nothing is exported while idle and the S3 exporter opens no connection before its first PUT,
  // so no S3 target is needed.
  const daemon = await startDaemon({ s3Endpoint: "http://127.0.0.1:9", redisUrl: settings.redisUrl, keyPrefix, workers, path: "events" });
  try {
    const atStart = daemon.memory();
    // The measurement is this stretch of idleness itself, not a wait for something to happen.
    await sleep(settings.idleMs);
    return { workers, atStart, afterIdle: daemon.memory() };
  } finally {
    await daemon.stop();
    await forgetKeys();
  }
}
