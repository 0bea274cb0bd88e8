import type { SeenTraceStore } from "../../pipeline/export.js";
import { SEEN_TRACE_TTL_SECONDS } from "../../pipeline/seen-traces.js";
import { slicesOf } from "../../pipeline/concurrency.js";
import { isReady, type RedisClient } from "./redis.js";

/**
 * Langfuse's seen-trace keys in Langfuse's Redis, so this daemon, its replicas and Langfuse's own
 * OTel path agree on which traces already exist. Errors fail open, as in Langfuse.
 */
export class RedisSeenTraceStore implements SeenTraceStore {
  constructor(
    private readonly client: () => RedisClient | undefined,
    private readonly keyPrefix: string,
  ) {}

  #key(projectId: string, traceId: string): string {
    return `${this.keyPrefix}langfuse:project:${projectId}:trace:${traceId}:seen`;
  }

  async claim(projectId: string, traceIds: readonly string[]) {
    const client = this.client();
    if (client === undefined || !isReady(client) || traceIds.length === 0) return { alreadySeen: new Set<string>(), claimed: [] };
    const alreadySeen = new Set<string>();
    const claimed: string[] = [];
    try {
      for (const chunk of slicesOf(traceIds, COMMANDS_PER_SLICE)) {
        const replies = await Promise.all(chunk.map((traceId) => client.set(this.#key(projectId, traceId), "1", "EX", SEEN_TRACE_TTL_SECONDS, "NX")));
        replies.forEach((reply, index) => {
          const traceId = chunk[index]!;
          if (reply === "OK") claimed.push(traceId);
          else alreadySeen.add(traceId);
        });
      }
      return { alreadySeen, claimed };
    } catch {
      // Fail open, as Langfuse does; what this request claimed so far stays claimed (it expires).
      return { alreadySeen: new Set<string>(), claimed };
    }
  }

  async release(projectId: string, traceIds: readonly string[]): Promise<void> {
    const client = this.client();
    if (client === undefined || traceIds.length === 0) return;
    try {
      for (const chunk of slicesOf(traceIds, COMMANDS_PER_SLICE)) await Promise.all(chunk.map((traceId) => client.del(this.#key(projectId, traceId))));
    } catch {
      // Best effort: the key expires by itself; the cost is a missing shallow trace-create.
    }
  }
}

/** Commands in flight at once: a request of 300,000 traces sends them a slice at a time, not all in one go. */
const COMMANDS_PER_SLICE = 1000;
