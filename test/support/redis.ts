import { randomBytes } from "node:crypto";
import { Queue, type Job } from "bullmq";
import { Redis } from "ioredis";

export const REDIS_URL = process.env.TEST_REDIS_URL ?? "redis://127.0.0.1:6379";

/**
 * A private key prefix per test file on the shared local Redis, so runs never see each other's
 * jobs; everything under it is deleted at the end.
 */
export function testRedis(url: string = REDIS_URL) {
  const keyPrefix = `lor-test-${randomBytes(4).toString("hex")}`;
  const client = new Redis(url, { maxRetriesPerRequest: 1 });
  // Fault tests stop this Redis on purpose; reconnection errors are expected then.
  client.on("error", () => {});
  const queues = new Map<string, Queue>();

  function queue(name = "ingestion-queue"): Queue {
    let found = queues.get(name);
    if (!found) {
      found = new Queue(name, { connection: client, prefix: keyPrefix });
      queues.set(name, found);
    }
    return found;
  }

  /** Jobs waiting or delayed on a queue, oldest first. */
  async function jobs(name = "ingestion-queue"): Promise<Job[]> {
    const list = await queue(name).getJobs(["waiting", "delayed", "prioritized"], 0, -1, true);
    return list.sort((a, b) => Number(a.id) - Number(b.id));
  }

  async function cleanup(): Promise<void> {
    await Promise.all([...queues.values()].map((found) => found.close()));
    let cursor = "0";
    do {
      const [next, keys] = await client.scan(cursor, "MATCH", `${keyPrefix}*`, "COUNT", 1000);
      cursor = next;
      if (keys.length > 0) await client.del(...keys);
    } while (cursor !== "0");
    client.disconnect();
  }

  return { keyPrefix, client, queue, jobs, cleanup };
}

export type TestRedis = ReturnType<typeof testRedis>;
