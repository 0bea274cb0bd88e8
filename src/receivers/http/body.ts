import type { IncomingMessage } from "node:http";
import type { BufferPool } from "../../pipeline/buffer-pool.js";
import type { BudgetLease } from "../../pipeline/byte-budget.js";
import { inflateBody } from "../inflate.js";
import { InvalidDataError, PayloadTooLargeError } from "../../pipeline/errors.js";

type Encoding = "identity" | "gzip" | "deflate";

function contentEncoding(header: string | undefined): Encoding {
  const value = (header ?? "").trim().toLowerCase();
  if (value === "" || value === "identity" || value === "none") return "identity";
  if (value === "gzip" || value === "x-gzip") return "gzip";
  if (value === "deflate") return "deflate";
  throw new InvalidDataError(`unsupported Content-Encoding: ${value}; supported: gzip, deflate, identity`);
}

/**
 * Reads the raw body, refusing it as soon as it passes `maxBytes` (before reading it all) or its
 * bytes no longer fit the process's request budget (`lease`). The stream is paused, not
 * destroyed, so the socket stays open long enough to carry the answer (destroying it would look
 * like a network error, which clients retry). With a pool and a declared length, the whole length
 * is reserved at once and the socket's chunks are copied into a pooled buffer instead of joined
 * into a new one.
 */
function readRaw(request: IncomingMessage, maxBytes: number, pool: BufferPool | undefined, lease: BudgetLease): Promise<Buffer> {
  const declared = Number(request.headers["content-length"]);
  if (Number.isFinite(declared) && declared > maxBytes) return Promise.reject(new PayloadTooLargeError(maxBytes));
  let pooled: Buffer | undefined;
  try {
    if (pool?.serves(declared)) {
      lease.grow(declared);
      pooled = pool.take(declared);
    }
  } catch (error) {
    return Promise.reject(error as Error);
  }
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const cleanup = () => {
      request.off("data", onData);
      request.off("end", onEnd);
      request.off("error", onError);
      request.off("close", onClose);
    };
    const refuse = (error: Error) => {
      cleanup();
      request.pause();
      if (pooled !== undefined) pool!.give(pooled);
      reject(error);
    };
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > maxBytes) return refuse(new PayloadTooLargeError(maxBytes));
      if (pooled !== undefined && size <= pooled.length) {
        chunk.copy(pooled, size - chunk.length);
        return;
      }
      try {
        lease.grow(chunk.length);
      } catch (error) {
        return refuse(error as Error);
      }
      // More than Content-Length (Node's parser does not allow it, but a lenient one might): the
      // bytes so far and the rest are joined as without a pool, never cut to the declared size.
      if (pooled !== undefined) chunks.push(pooled.subarray(0, size - chunk.length));
      pooled = undefined;
      chunks.push(chunk);
    };
    const onEnd = () => {
      cleanup();
      if (pooled !== undefined) resolve(pooled.subarray(0, size));
      else resolve(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size));
    };
    const onError = (error: Error) => {
      cleanup();
      reject(new InvalidDataError(`the request body could not be read: ${error.message}`));
    };
    const onClose = () => {
      cleanup();
      reject(new InvalidDataError("the client closed the connection before the body was complete"));
    };
    request.on("data", onData);
    request.on("end", onEnd);
    request.on("error", onError);
    request.on("close", onClose);
  });
}

/**
 * The request body, decompressed, never larger than `maxBytes` before or after decompression, and
 * counted against the process's request budget through `lease` until the caller closes it (when
 * the request is answered): a compression bomb costs at most what is left of the budget.
 *
 * With a pool, an uncompressed body may be one of its buffers: the caller gives it back once
 * nothing reads it. A compressed body's raw bytes go back to the pool as soon as they are inflated.
 */
export async function readRequestBody(request: IncomingMessage, maxBytes: number, lease: BudgetLease, pool?: BufferPool): Promise<Buffer> {
  const encoding = contentEncoding(request.headers["content-encoding"]);
  const raw = await readRaw(request, maxBytes, pool, lease);
  if (encoding === "identity") return raw;
  try {
    return await inflateBody(raw, encoding, maxBytes, lease);
  } finally {
    pool?.give(raw);
    lease.shrink(raw.length);
  }
}
