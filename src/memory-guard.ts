import { OverloadedError } from "./pipeline/errors.js";
import { metrics } from "./telemetry/metrics.js";

/** How long a reading is used: the check runs before every request, the reading far less often. */
const READING_TTL_MS = 50;
/** Retry-After for a refusal: memory comes down as in-flight requests finish and the spool drains. */
const RETRY_AFTER_MS = 5_000;

/**
 * The admission check for `service.memory_limit`, run before each request: refuses with 429 /
 * RESOURCE_EXHAUSTED while the resident memory (this process's, or the whole daemon's when it
 * runs several workers; see src/daemon-memory.ts) is above the limit.
 */
export function memoryGuard(limitBytes: number, residentBytes: () => number): () => void {
  if (limitBytes <= 0) return () => {};
  let checkedAt = 0;
  let resident = 0;
  return () => {
    const now = Date.now();
    if (now - checkedAt >= READING_TTL_MS) {
      resident = residentBytes();
      checkedAt = now;
    }
    if (resident > limitBytes) {
      metrics.refusals.inc({ reason: "memory" });
      throw new OverloadedError(`memory use ${Math.round(resident / 1024 ** 2)} MiB is above the limit of ${Math.round(limitBytes / 1024 ** 2)} MiB`, RETRY_AFTER_MS);
    }
  };
}
