import type { Logger } from "pino";
import type { DaemonMetrics } from "../telemetry/metrics.js";
import type { EdgeStatus } from "./edge-status.js";
import type { ConsumeResult } from "../pipeline/payload.js";

/**
 * Counts one answered request (outcome, items, duration) and logs it at debug level with its
 * context: receiver, transport, project, sizes and outcome. Never headers or payload content.
 */
export function recordRequest(
  { logger, metrics }: { logger: Logger; metrics: DaemonMetrics },
  receiver: string,
  transport: "http" | "grpc",
  item: "spans" | "events",
  startedAt: bigint,
  outcome: { result: ConsumeResult } | { status: EdgeStatus } | { empty: true },
): void {
  const seconds = Number(process.hrtime.bigint() - startedAt) / 1e9;
  metrics.requestDuration.observe({ receiver, transport }, seconds);
  const durationMs = Math.round(seconds * 10_000) / 10;
  if ("status" in outcome) {
    const failed = outcome.status.unexpected || outcome.status.grpc === 13 || outcome.status.grpc === 14;
    metrics.receiverRequests.inc({ receiver, transport, outcome: failed ? "failed" : "refused" });
    logger.debug({ receiver, transport, outcome: failed ? "failed" : "refused", status: outcome.status.http, reason: outcome.status.message, durationMs }, "request");
    return;
  }
  metrics.receiverRequests.inc({ receiver, transport, outcome: "accepted" });
  if ("result" in outcome) {
    const rejected = new Set(outcome.result.rejections.map((rejection) => rejection.origin)).size;
    metrics.receiverItems.inc({ receiver, item, outcome: "accepted" }, outcome.result.itemCount - rejected);
    if (rejected > 0) metrics.receiverItems.inc({ receiver, item, outcome: "rejected" }, rejected);
    logger.debug({ receiver, transport, outcome: "accepted", project: outcome.result.projectId, [item]: outcome.result.itemCount, rejected, durationMs }, "request");
  }
}
