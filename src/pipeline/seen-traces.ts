import type { EventBatch } from "./batch.js";
import type { SeenTraceStore } from "./export.js";
import { Pacer } from "./pacing.js";

/** Langfuse keeps a trace "seen" for 10 minutes. */
export const SEEN_TRACE_TTL_SECONDS = 600;

/** Entries past which expired ones are swept. */
const EVICT_ABOVE = 100_000;

/**
 * The seen-trace memory of one process, used when no exporter reaches Langfuse's Redis
 * (a `file`-only pipeline). Replicas do not share it.
 */
export class InMemorySeenTraceStore implements SeenTraceStore {
  readonly #expiry = new Map<string, number>();
  #evictAbove = EVICT_ABOVE;
  readonly #now: () => number;

  constructor(now: () => number = Date.now) {
    this.#now = now;
  }

  async claim(projectId: string, traceIds: readonly string[]) {
    const now = this.#now();
    const alreadySeen = new Set<string>();
    const claimed: string[] = [];
    const pacer = new Pacer();
    for (const traceId of traceIds) {
      const pause = pacer.step();
      if (pause) await pause;
      const key = `${projectId}\u0000${traceId}`;
      const expiresAt = this.#expiry.get(key);
      if (expiresAt !== undefined && expiresAt > now) {
        alreadySeen.add(traceId);
      } else {
        this.#expiry.set(key, now + SEEN_TRACE_TTL_SECONDS * 1000);
        claimed.push(traceId);
      }
    }
    if (this.#expiry.size > this.#evictAbove) {
      this.#evictExpired(now);
      // Sweeping costs a pass over every entry: after a very large request, sweep again only once
      // the map has doubled, not on every request while its traces are still fresh.
      this.#evictAbove = Math.max(EVICT_ABOVE, 2 * this.#expiry.size);
    }
    return { alreadySeen, claimed };
  }

  async release(projectId: string, traceIds: readonly string[]): Promise<void> {
    for (const traceId of traceIds) this.#expiry.delete(`${projectId}\u0000${traceId}`);
  }

  #evictExpired(now: number): void {
    for (const [key, expiresAt] of this.#expiry) if (expiresAt <= now) this.#expiry.delete(key);
  }
}

/** Trace ids an OTLP request touches: trace-create ids and the observations' trace ids. */
async function traceIdsOf(batch: EventBatch): Promise<string[]> {
  const ids = new Set<string>();
  const pacer = new Pacer();
  for (const record of batch.records()) {
    const body = record.event.body;
    const id = record.event.type === "trace-create" ? body.id : body.traceId;
    if (typeof id === "string") ids.add(id);
    const pause = pacer.step();
    if (pause) await pause;
  }
  return [...ids];
}

/**
 * The conversion emits a shallow trace-create for the first span of every trace in a request.
 * Like Langfuse's converter, mark every trace of the request as seen (SET NX), and keep the shallow
 * trace-creates only for traces that were not seen before. Returns the ids this request claimed,
 * so the claim can be undone if the export fails (Langfuse keeps it, and a retried request then
 * never writes the trace).
 */
export async function dropShallowTracesOfSeenTraces(batch: EventBatch, store: SeenTraceStore): Promise<string[]> {
  const projectId = batch.context.scope?.projectId;
  if (projectId === undefined || batch.context.source !== "otel") return [];
  let hasShallow = false;
  for (const record of batch.records()) {
    if (record.shallowTrace) {
      hasShallow = true;
      break;
    }
  }
  const traceIds = await traceIdsOf(batch);
  if (traceIds.length === 0) return [];
  const { alreadySeen, claimed } = await store.claim(projectId, traceIds);
  if (hasShallow && alreadySeen.size > 0) {
    await batch.retainPaced((record) => {
      if (record.shallowTrace && alreadySeen.has(record.event.body.id as string)) {
        batch.drop("seen_trace");
        return false;
      }
      return true;
    });
  }
  return claimed;
}
