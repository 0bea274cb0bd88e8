import type { IngestionSource } from "../../pipeline/payload.js";

/**
 * Langfuse's job delay. OTLP-derived jobs are never delayed (its OTel worker passes 0). API jobs
 * wait `min(5 s, ingestionDelay)`, or the full `ingestionDelay` from 23:45 to 00:15:59 UTC, when
 * ClickHouse partitions roll over. An explicit delay overrides both.
 */
export function jobDelayMs(source: IngestionSource, now: Date, ingestionDelayMs: number, overrideMs: number | undefined): number {
  if (overrideMs !== undefined) return overrideMs;
  if (source === "otel") return 0;
  const hour = now.getUTCHours();
  const minute = now.getUTCMinutes();
  if ((hour === 23 && minute >= 45) || (hour === 0 && minute <= 15)) return ingestionDelayMs;
  return Math.min(5000, ingestionDelayMs);
}
