import { createGunzip, createInflate } from "node:zlib";
import type { BudgetLease } from "../pipeline/byte-budget.js";
import { InvalidDataError, PayloadTooLargeError } from "../pipeline/errors.js";
import { reclaimDropped } from "../pipeline/reclaim.js";

/**
 * Inflates a compressed body as a stream, counting every output chunk against `maxBytes` and the
 * request's budget lease, and stopping at the first that does not fit: a compression bomb costs
 * at most what is left of the budget, never what it would inflate to. Output chunks are large
 * (up to 1 MiB), so their memory goes back to the system whole once collected instead of leaving
 * the heap fragmented; the body is joined into one buffer of its own size at the end.
 */
export function inflateBody(raw: Buffer, encoding: "gzip" | "deflate", maxBytes: number, lease: BudgetLease): Promise<Buffer> {
  const chunkSize = Math.min(Math.max(raw.length * 4, 64 * 1024), 1024 * 1024);
  return new Promise((resolve, reject) => {
    // zlib writes into an output buffer of chunkSize that exists before any of its bytes arrive:
    // that memory is reserved first, so a thousand bombs at once cannot each hold one unaccounted.
    try {
      lease.grow(chunkSize);
    } catch (error) {
      reject(error as Error);
      return;
    }
    const stream = encoding === "gzip" ? createGunzip({ chunkSize }) : createInflate({ chunkSize });
    const chunks: Buffer[] = [];
    let size = 0;
    let settled = false;
    const fail = (error: Error) => {
      if (settled) return;
      settled = true;
      chunks.length = 0;
      // zlib may still be writing into its output buffer on the thread pool, and what it inflated
      // is freed only by a collection: the bytes stay reserved until both have happened.
      stream.once("close", () => {
        const dropped = size + chunkSize;
        reclaimDropped(dropped, lease.detach(dropped));
        reject(error);
      });
      stream.destroy();
    };
    stream.on("data", (chunk: Buffer) => {
      if (settled) return;
      if (size + chunk.length > maxBytes) return fail(new PayloadTooLargeError(maxBytes));
      try {
        lease.grow(chunk.length);
      } catch (error) {
        return fail(error as Error);
      }
      size += chunk.length;
      chunks.push(chunk);
    });
    stream.on("error", (error) => fail(new InvalidDataError(`cannot decompress the ${encoding} body: ${error.message}`)));
    stream.on("end", () => {
      if (settled) return;
      // The joined copy replaces the chunks: reserved while both exist.
      try {
        lease.grow(size);
      } catch (error) {
        return fail(error as Error);
      }
      settled = true;
      const body = Buffer.concat(chunks, size);
      chunks.length = 0;
      lease.shrink(size + chunkSize);
      resolve(body);
    });
    stream.end(raw);
  });
}

