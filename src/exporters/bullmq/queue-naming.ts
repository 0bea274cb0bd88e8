import { createHash } from "node:crypto";

/**
 * Langfuse's queue names and Redis key prefixes. In cluster mode each queue's keys share a hash
 * tag so BullMQ's multi-key scripts stay on one slot, and jobs spread over `shardCount` queues.
 */
export const INGESTION_QUEUE = "ingestion-queue";
export const OTEL_INGESTION_QUEUE = "otel-ingestion-queue";

/** `parseInt(sha256hex(key)[0..8], 16) % count`; 0 when there is one shard. */
export function shardIndex(shardingKey: string, shardCount: number): number {
  if (shardCount <= 1) return 0;
  return createHash("sha256").update(shardingKey, "utf8").digest().readUInt32BE(0) % shardCount;
}

/** Shard 0 has no suffix: `ingestion-queue`, `ingestion-queue-1`, ... */
export function shardQueueName(baseName: string, index: number): string {
  return index === 0 ? baseName : `${baseName}-${index}`;
}

/** BullMQ `prefix`: the Redis key prefix (BullMQ's default `bull`), or `{prefix:queue}` in cluster mode. */
export function bullPrefix(queueName: string, keyPrefix: string | undefined, cluster: boolean): string {
  if (cluster) return keyPrefix ? `{${keyPrefix}:${queueName}}` : `{${queueName}}`;
  return keyPrefix ?? "bull";
}
