import { Queue } from "bullmq";
import { afterAll, describe, expect, it, vi } from "vitest";
import { bullmqConfigSchema, bullmqExporterFactory } from "../../src/exporters/bullmq/factory.js";
import { RedisSeenTraceStore } from "../../src/exporters/bullmq/seen-traces.js";
import type { ExportRequest } from "../../src/pipeline/export.js";
import { exportContext, spanGroups } from "../support/export-groups.js";
import { waitFor } from "../support/redis-server.js";
import { REDIS_URL, testRedis } from "../support/redis.js";
import { testLogger } from "../support/daemon.js";
import { metrics } from "../../src/telemetry/metrics.js";

/**
 * A request of thousands of groups reaches Redis a slice at a time: jobs in `addBulk` calls of at
 * most 1,000, seen-trace claims at most 1,000 commands in flight. Everything still lands.
 */
const redis = testRedis();
afterAll(() => redis.cleanup());

function storedGroups(count: number): ExportRequest {
  const groups = spanGroups(count);
  for (const group of groups) group.blob = { bucketPrefix: "events/p1/observation/", fileKey: group.firstEventId };
  return { context: exportContext(), groups };
}

describe("exporters bound what they send to Redis at once", () => {
  it("bullmq enqueues 2,500 jobs in addBulk calls of at most 1,000", async () => {
    const addBulk = vi.spyOn(Queue.prototype, "addBulk");
    const exporter = bullmqExporterFactory.create({ id: "bullmq" as never, logger: testLogger(), metrics }, bullmqConfigSchema.parse({ redis: { url: REDIS_URL, key_prefix: redis.keyPrefix } }));
    await exporter.start();
    try {
      await waitFor(() => exporter.unreadyReason?.() === undefined, 10_000, "Redis");
      expect(await exporter.exportGroups(storedGroups(2500))).toEqual([]);
      expect(addBulk.mock.calls.map(([jobs]) => jobs.length)).toEqual([1000, 1000, 500]);
      expect(await redis.queue().getJobCountByTypes("waiting", "delayed", "prioritized")).toBe(2500);
    } finally {
      addBulk.mockRestore();
      await exporter.shutdown();
    }
  });

  it("seen-trace claims keep at most 1,000 commands in flight, and every trace is claimed once", async () => {
    let inFlight = 0;
    let most = 0;
    const set = redis.client.set.bind(redis.client) as (...args: unknown[]) => Promise<unknown>;
    const counting = new Proxy(redis.client, {
      get(target, property, receiver) {
        if (property !== "set") return Reflect.get(target, property, receiver);
        return async (...args: unknown[]) => {
          inFlight += 1;
          most = Math.max(most, inFlight);
          try {
            return await set(...args);
          } finally {
            inFlight -= 1;
          }
        };
      },
    });
    const store = new RedisSeenTraceStore(() => counting, `${redis.keyPrefix}:`);
    const traceIds = Array.from({ length: 2500 }, (_, index) => `trace-${index}`);
    const first = await store.claim("p1", traceIds);
    expect(first.claimed).toHaveLength(2500);
    expect(most).toBe(1000);
    const second = await store.claim("p1", traceIds);
    expect(second.alreadySeen.size).toBe(2500);
    await store.release("p1", traceIds);
    expect((await store.claim("p1", traceIds)).claimed).toHaveLength(2500);
  });
});
