import { randomBytes } from "node:crypto";
import type { IncomingMessage } from "node:http";
import { Readable } from "node:stream";
import { gzipSync } from "node:zlib";
import { describe, expect, it } from "vitest";
import { ByteBudget } from "../../../src/pipeline/byte-budget.js";
import { readRequestBody } from "../../../src/receivers/http/body.js";
import { BufferPool } from "../../../src/pipeline/buffer-pool.js";

const KB = 1024;
const MAX = 1024 * KB;
const pool = () => new BufferPool({ minBytes: 64 * KB, maxBytes: 1024 * KB, maxFreeBytes: 512 * KB });

describe("BufferPool", () => {
  it("hands out buffers of exactly the asked size, only within its range", () => {
    const bodies = pool();
    expect(bodies.take(100 * KB)!.length).toBe(100 * KB);
    expect(bodies.take(64 * KB - 1)).toBeUndefined();
    expect(bodies.take(1024 * KB + 1)).toBeUndefined();
    expect(bodies.take(Number.NaN)).toBeUndefined();
  });

  it("reuses a given-back buffer for the next body that fits, zero-filled", () => {
    const bodies = pool();
    const first = bodies.take(100 * KB)!;
    first.fill(0xab);
    bodies.give(first);
    // Zeroed at once: a late reader of the old body sees zeros, never the next request's bytes.
    expect(first.every((byte) => byte === 0)).toBe(true);
    const second = bodies.take(90 * KB)!;
    expect(second.buffer).toBe(first.buffer);
    expect(bodies.freeBytes).toBe(0);
    // A body larger than every free buffer gets a new one.
    bodies.give(second);
    expect(bodies.take(200 * KB)!.buffer).not.toBe(first.buffer);
  });

  it("picks the smallest free buffer that fits", () => {
    const bodies = pool();
    const large = bodies.take(300 * KB)!;
    const small = bodies.take(100 * KB)!;
    bodies.give(large);
    bodies.give(small);
    expect(bodies.take(70 * KB)!.buffer).toBe(small.buffer);
    expect(bodies.take(70 * KB)!.buffer).toBe(large.buffer);
  });

  it("ignores buffers it did not hand out and buffers given back twice", () => {
    const bodies = pool();
    const foreign = Buffer.alloc(128 * KB, 1);
    bodies.give(foreign);
    expect(bodies.freeBytes).toBe(0);
    expect(foreign[0]).toBe(1);
    const body = bodies.take(100 * KB)!;
    bodies.give(body);
    const kept = bodies.freeBytes;
    bodies.give(body);
    expect(bodies.freeBytes).toBe(kept);
    // Handed out once, so only one taker gets it.
    expect(bodies.take(100 * KB)!.buffer).toBe(body.buffer);
    expect(bodies.take(100 * KB)!.buffer).not.toBe(body.buffer);
  });

  it("keeps at most maxFreeBytes, dropping the smallest free buffers for a larger one", () => {
    const bodies = pool();
    const taken = [bodies.take(128 * KB)!, bodies.take(128 * KB)!, bodies.take(128 * KB)!, bodies.take(128 * KB)!, bodies.take(256 * KB)!];
    for (const body of taken.slice(0, 4)) bodies.give(body);
    expect(bodies.freeBytes).toBe(512 * KB);
    bodies.give(taken[4]!);
    expect(bodies.freeBytes).toBe(512 * KB);
    expect(bodies.take(200 * KB)!.buffer).toBe(taken[4]!.buffer);
    // A buffer larger than the whole allowance is never kept.
    const huge = bodies.take(1000 * KB)!;
    bodies.give(huge);
    expect(bodies.take(1000 * KB)!.buffer).not.toBe(huge.buffer);
  });
});

describe("free buffers after a burst", () => {
  it("are dropped once the pool has been idle, and only then", () => {
    const bodies = new BufferPool({ minBytes: 64 * KB, maxBytes: MAX, maxFreeBytes: 4 * 1024 * KB, idleMs: 5_000 });
    const taken = [bodies.take(512 * KB)!, bodies.take(512 * KB)!];
    for (const body of taken) bodies.give(body);
    expect(bodies.freeBytes).toBe(1024 * KB);
    expect(bodies.releaseIfIdle(Date.now() + 1_000)).toBe(false);
    expect(bodies.freeBytes).toBe(1024 * KB);
    expect(bodies.releaseIfIdle(Date.now() + 5_000)).toBe(true);
    expect(bodies.freeBytes).toBe(0);
    // A new take allocates afresh.
    expect(bodies.take(512 * KB)!.buffer).not.toBe(taken[0]!.buffer);
  });
});

describe("readRequestBody with a pool", () => {
  const lease = () => new ByteBudget(1024 * 1024 * 1024).open();
  /** A request stream with the given headers that delivers `parts` (pure logic: the parser's work is not under test here). */
  function requestOf(headers: Record<string, string>, parts: Buffer[]): IncomingMessage {
    const stream = Readable.from(parts) as unknown as IncomingMessage;
    Object.assign(stream, { headers });
    return stream;
  }

  it("reads a multi-chunk body into a pooled buffer, which a later body reuses", async () => {
    const bodies = pool();
    const data = randomBytes(150 * KB);
    const first = await readRequestBody(requestOf({ "content-length": String(data.length) }, [data.subarray(0, 64 * KB), data.subarray(64 * KB)]), MAX, lease(), bodies);
    expect(first.equals(data)).toBe(true);
    bodies.give(first);
    const next = randomBytes(140 * KB);
    const second = await readRequestBody(requestOf({ "content-length": String(next.length) }, [next]), MAX, lease(), bodies);
    expect(second.buffer).toBe(first.buffer);
    expect(second.equals(next)).toBe(true);
  });

  it("keeps every byte when more arrives than Content-Length declared", async () => {
    const data = randomBytes(200 * KB);
    const body = await readRequestBody(requestOf({ "content-length": String(100 * KB) }, [data.subarray(0, 80 * KB), data.subarray(80 * KB)]), MAX, lease(), pool());
    expect(body.equals(data)).toBe(true);
  });

  it("gives a compressed body's raw bytes back once inflated", async () => {
    const bodies = pool();
    const data = randomBytes(100 * KB);
    const compressed = gzipSync(data);
    const body = await readRequestBody(requestOf({ "content-length": String(compressed.length), "content-encoding": "gzip" }, [compressed]), MAX, lease(), bodies);
    expect(body.equals(data)).toBe(true);
    expect(bodies.freeBytes).toBeGreaterThanOrEqual(compressed.length);
  });
});
