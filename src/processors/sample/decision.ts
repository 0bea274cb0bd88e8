import { createHash } from "node:crypto";

/**
 * Langfuse's per-project trace sampling decision: the first 32 bits of sha256(traceId), read as a
 * fraction of 0xffffffff, are kept when below the rate. Every replica and Langfuse itself agree on
 * the answer for a trace, so all events of a trace are kept or dropped together.
 */
export function isTraceInSample(traceId: string, rate: number): boolean {
  if (!(rate >= 0 && rate <= 1)) return true;
  if (rate === 0) return false;
  if (rate === 1) return true;
  const prefix = createHash("sha256").update(traceId, "utf8").digest().readUInt32BE(0);
  return prefix / 0xffffffff < rate;
}
