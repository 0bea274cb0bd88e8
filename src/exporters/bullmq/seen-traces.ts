import type { SeenTraceStore } from "../../pipeline/export.js";
import { SEEN_TRACE_TTL_SECONDS } from "../../pipeline/seen-traces.js";
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
    try {
      const replies = await Promise.all(
        traceIds.map((traceId) => client.set(this.#key(projectId, traceId), "1", "EX", SEEN_TRACE_TTL_SECONDS, "NX")),
      );
      const alreadySeen = new Set<string>();
      const claimed: string[] = [];
      replies.forEach((reply, index) => {
        const traceId = traceIds[index]!;
        if (reply === "OK") claimed.push(traceId);
        else alreadySeen.add(traceId);
      });
      return { alreadySeen, claimed };
    } catch {
      return { alreadySeen: new Set<string>(), claimed: [] };
    }
  }

  async release(projectId: string, traceIds: readonly string[]): Promise<void> {
    const client = this.client();
    if (client === undefined || traceIds.length === 0) return;
    try {
      await Promise.all(traceIds.map((traceId) => client.del(this.#key(projectId, traceId))));
    } catch {
      // Best effort: the key expires by itself; the cost is a missing shallow trace-create.
    }
  }
}
