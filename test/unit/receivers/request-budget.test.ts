import { describe, expect, it } from "vitest";
import { Readable } from "node:stream";
import type { IncomingMessage } from "node:http";
import { gzipSync } from "node:zlib";
import { randomBytes } from "node:crypto";
import { ByteBudget } from "../../../src/pipeline/byte-budget.js";
import { collectNow } from "../../../src/pipeline/reclaim.js";
import { OverloadedError, PayloadTooLargeError } from "../../../src/pipeline/errors.js";
import { readRequestBody } from "../../../src/receivers/http/body.js";

const MiB = 1024 * 1024;

function requestOf(headers: Record<string, string>, parts: Buffer[]): IncomingMessage {
  const stream = Readable.from(parts) as unknown as IncomingMessage;
  Object.assign(stream, { headers, pause: () => stream });
  return stream;
}

/** 256 MiB of zeros in about 256 KB of gzip. */
const bomb = gzipSync(Buffer.alloc(256 * MiB), { level: 9 });

describe("the request body budget", () => {
  it("holds a body's bytes until its request closes the lease", async () => {
    const budget = new ByteBudget(4 * MiB);
    const lease = budget.open();
    const body = await readRequestBody(requestOf({}, [randomBytes(MiB), randomBytes(MiB)]), 64 * MiB, lease);
    expect(body.length).toBe(2 * MiB);
    expect(budget.used).toBe(2 * MiB);
    lease.close();
    lease.close();
    expect(budget.used).toBe(0);
  });

  it("refuses the body that does not fit next to the others as overloaded (retryable), not as too large", async () => {
    const budget = new ByteBudget(3 * MiB);
    const first = budget.open();
    await readRequestBody(requestOf({}, [randomBytes(2 * MiB)]), 64 * MiB, first);
    const second = budget.open();
    const refusal = await readRequestBody(requestOf({}, [randomBytes(MiB), randomBytes(MiB)]), 64 * MiB, second).catch((error: unknown) => error);
    expect(refusal).toBeInstanceOf(OverloadedError);
    expect((refusal as OverloadedError).retryAfterMs).toBeGreaterThan(0);
    second.close();
    first.close();
    expect(budget.used).toBe(0);
  });

  it("stops inflating a compression bomb where the budget ends, and gives every byte back after a collection", async () => {
    const budget = new ByteBudget(8 * MiB);
    // Another request's body holds half the budget.
    const other = budget.open();
    other.grow(4 * MiB);
    const lease = budget.open();
    const refusal = await readRequestBody(requestOf({ "content-encoding": "gzip" }, [bomb]), 64 * MiB, lease).catch((error: unknown) => error);
    expect(refusal).toBeInstanceOf(OverloadedError);
    // What it inflated counts until a collection has freed it, even after the request closed its lease.
    lease.close();
    other.close();
    expect(budget.used).toBeGreaterThan(0);
    collectNow();
    expect(budget.used).toBe(0);
  });

  it("refuses a body that alone needs more than the whole budget as too large (final), not overloaded", async () => {
    const budget = new ByteBudget(8 * MiB);
    const lease = budget.open();
    const refusal = await readRequestBody(requestOf({ "content-encoding": "gzip" }, [bomb]), 64 * MiB, lease).catch((error: unknown) => error);
    expect(refusal).toBeInstanceOf(PayloadTooLargeError);
    lease.close();
    collectNow();
    expect(budget.used).toBe(0);
  });

  it("refuses a bomb as too large when the budget could hold the whole limit", async () => {
    const budget = new ByteBudget(256 * MiB);
    const lease = budget.open();
    const refusal = await readRequestBody(requestOf({ "content-encoding": "gzip" }, [bomb]), 16 * MiB, lease).catch((error: unknown) => error);
    expect(refusal).toBeInstanceOf(PayloadTooLargeError);
    lease.close();
    collectNow();
    expect(budget.used).toBe(0);
  });

  it("inflates a valid body whole, holding only its own size once it is joined", async () => {
    const budget = new ByteBudget(64 * MiB);
    const lease = budget.open();
    const data = randomBytes(5 * MiB);
    const body = await readRequestBody(requestOf({ "content-encoding": "gzip" }, [gzipSync(data)]), 64 * MiB, lease);
    expect(body.equals(data)).toBe(true);
    expect(budget.used).toBe(5 * MiB);
    lease.close();
  });
});
