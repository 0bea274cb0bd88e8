import { describe, expect, it } from "vitest";
import { compareIngestionOrder, type IngestionEvent } from "../../src/model/events.js";
import { eventObjectKey, safeFileStem, safeKeySegment } from "../../src/model/blob-keys.js";
import { langfuseSecretKeyHash } from "../../src/processors/auth/credentials.js";
import { isTraceInSample } from "../../src/processors/sample/decision.js";
import { bullPrefix, shardIndex, shardQueueName } from "../../src/exporters/bullmq/queue-naming.js";
import { jobDelayMs } from "../../src/exporters/bullmq/delay.js";

describe("safe key segment (Langfuse contract §1.7)", () => {
  it("keeps short ids without forbidden characters unchanged", () => {
    expect(safeKeySegment("a_b")).toBe("a_b");
    expect(safeKeySegment("0af7651916cd43dd8448eb211c80319c")).toBe("0af7651916cd43dd8448eb211c80319c");
    // DEL (0x7f) is not forbidden, nor are dots.
    expect(safeKeySegment("a\x7fb..c")).toBe("a\x7fb..c");
  });

  it("replaces / and appends a hash of the original: the contract's test vector", () => {
    expect(safeKeySegment("a/b")).toBe("a_b_c14cddc033f64b9d");
  });

  it("replaces backslashes and control characters", () => {
    const result = safeKeySegment("x\\y\nz\r");
    expect(result).toMatch(/^x_y_z__[0-9a-f]{16}$/);
  });

  it("cuts oversized ids to max-17 bytes plus the hash, never splitting a code point", () => {
    const long = "é".repeat(100); // 200 UTF-8 bytes
    const result = safeKeySegment(long, 64);
    expect(Buffer.byteLength(result)).toBeLessThanOrEqual(64);
    const [kept, hash] = [result.slice(0, -17), result.slice(-16)];
    expect(kept).toBe("é".repeat(23)); // 47 bytes allowed → 23 whole characters
    expect(result[result.length - 17]).toBe("_");
    expect(hash).toMatch(/^[0-9a-f]{16}$/);
    expect(safeKeySegment("x".repeat(64), 64)).toBe("x".repeat(64));
    expect(safeKeySegment("x".repeat(65), 64)).toHaveLength(64);
  });

  it("keeps different ids apart after sanitising", () => {
    expect(safeKeySegment("a/b")).not.toBe(safeKeySegment("a\\b"));
  });

  it("leaves room for .json in file stems", () => {
    expect(safeFileStem("x".repeat(2043))).toBe("x".repeat(2043));
    expect(safeFileStem("x".repeat(2044))).toHaveLength(2043);
  });

  it("builds Langfuse's object key: prefix, project, entity, body id, first event id", () => {
    expect(eventObjectKey("events/", "p1", "trace", "t/1", "e1")).toEqual({
      bucketPrefix: "events/p1/trace/t_1_" + safeKeySegment("t/1").slice(-16) + "/",
      fileKey: "e1",
      objectKey: "events/p1/trace/t_1_" + safeKeySegment("t/1").slice(-16) + "/e1.json",
    });
    expect(eventObjectKey("", "p1", "observation", "s1", "e2").objectKey).toBe("p1/observation/s1/e2.json");
  });
});

describe("Langfuse's fast secret-key hash", () => {
  it("matches the contract's test vector", () => {
    expect(langfuseSecretKeyHash("sk-lf-00000000-0000-0000-0000-000000000000", "mysalt")).toBe(
      "e7d3deaa623836d31724f16a460f3f1e14a4bc30932d44debcbb7d4853344601",
    );
  });
});

describe("sampling decision", () => {
  it("matches the contract's vector: sha256('abc123') → 0.4243…", () => {
    expect(isTraceInSample("abc123", 0.5)).toBe(true);
    expect(isTraceInSample("abc123", 0.4)).toBe(false);
    expect(isTraceInSample("abc123", 0.4244)).toBe(true);
    expect(isTraceInSample("abc123", 0.4243)).toBe(false);
  });

  it("drops everything at 0, keeps everything at 1, keeps on an invalid rate", () => {
    expect(isTraceInSample("anything", 0)).toBe(false);
    expect(isTraceInSample("anything", 1)).toBe(true);
    expect(isTraceInSample("abc123", 1.5)).toBe(true);
    expect(isTraceInSample("abc123", Number.NaN)).toBe(true);
  });

  it("keeps roughly the rate of many traces", () => {
    let kept = 0;
    for (let i = 0; i < 10_000; i += 1) if (isTraceInSample(`trace-${i}`, 0.25)) kept += 1;
    expect(kept).toBeGreaterThan(2300);
    expect(kept).toBeLessThan(2700);
  });
});

describe("sort order", () => {
  const event = (id: string, type: string, timestamp: string): IngestionEvent => ({ id, type, timestamp, body: {} });

  it("puts creates before updates, each by timestamp, and is stable", () => {
    const events = [
      event("u2", "span-update", "2024-01-01T00:00:02.000Z"),
      event("c3", "trace-create", "2024-01-01T00:00:03.000Z"),
      event("u1", "generation-update", "2024-01-01T00:00:01.000Z"),
      event("c1", "span-create", "2024-01-01T00:00:01.000Z"),
      event("c1b", "score-create", "2024-01-01T00:00:01.000Z"),
      event("o1", "observation-update", "2024-01-01T00:00:00.000Z"),
      event("c0", "event-create", "2024-01-01T00:00:00.500+00:00"),
    ];
    expect(events.sort(compareIngestionOrder).map((item) => item.id)).toEqual(["c0", "c1", "c1b", "c3", "o1", "u1", "u2"]);
  });

  it("compares instants, not strings, and sorts unparsable timestamps last", () => {
    const events = [event("b", "span-create", "bad"), event("a", "span-create", "2024-01-01T01:00:00+02:00"), event("c", "span-create", "2024-01-01T00:00:00Z")];
    expect(events.sort(compareIngestionOrder).map((item) => item.id)).toEqual(["a", "c", "b"]);
  });
});

describe("queue naming and shards", () => {
  it("names shard 0 without a suffix", () => {
    expect(shardQueueName("ingestion-queue", 0)).toBe("ingestion-queue");
    expect(shardQueueName("ingestion-queue", 3)).toBe("ingestion-queue-3");
  });

  it("picks the shard from the first 32 bits of sha256 of the key", () => {
    expect(shardIndex("p1-t1", 1)).toBe(0);
    // sha256("abc123") starts 6ca13d52 = 1822506322
    expect(shardIndex("abc123", 7)).toBe(1822506322 % 7);
    expect(shardIndex("abc123", 100)).toBe(22);
  });

  it("uses the key prefix (default bull), hash-tagged per queue in cluster mode", () => {
    expect(bullPrefix("ingestion-queue", undefined, false)).toBe("bull");
    expect(bullPrefix("ingestion-queue", "lf", false)).toBe("lf");
    expect(bullPrefix("ingestion-queue-2", "lf", true)).toBe("{lf:ingestion-queue-2}");
    expect(bullPrefix("ingestion-queue", undefined, true)).toBe("{ingestion-queue}");
  });
});

describe("job delay", () => {
  const at = (time: string) => new Date(`2026-01-01T${time}Z`);

  it("never delays OTLP-derived jobs, even around midnight", () => {
    expect(jobDelayMs("otel", at("12:00:00"), 15_000, undefined)).toBe(0);
    expect(jobDelayMs("otel", at("23:50:00"), 15_000, undefined)).toBe(0);
  });

  it("delays API jobs by min(5 s, delay), the full delay from 23:45 to 00:15:59 UTC", () => {
    expect(jobDelayMs("api", at("12:00:00"), 15_000, undefined)).toBe(5000);
    expect(jobDelayMs("api", at("12:00:00"), 2_000, undefined)).toBe(2000);
    expect(jobDelayMs("api", at("23:44:59"), 15_000, undefined)).toBe(5000);
    expect(jobDelayMs("api", at("23:45:00"), 15_000, undefined)).toBe(15_000);
    expect(jobDelayMs("api", at("00:15:59"), 15_000, undefined)).toBe(15_000);
    expect(jobDelayMs("api", at("00:16:00"), 15_000, undefined)).toBe(5000);
  });

  it("lets an explicit delay override everything", () => {
    expect(jobDelayMs("api", at("23:50:00"), 15_000, 0)).toBe(0);
    expect(jobDelayMs("otel", at("12:00:00"), 15_000, 250)).toBe(250);
  });
});
