import type { IncomingMessage, ServerResponse } from "node:http";
import type { Logger } from "pino";
import { compareIngestionOrder, type IngestionEvent } from "../../model/events.js";
import { InvalidDataError, isPipelineError } from "../../pipeline/errors.js";
import type { ConsumeResult, ItemRejection, PayloadConsumer } from "../../pipeline/payload.js";
import { edgeStatus, retryAfterSeconds } from "../edge-status.js";
import { readRequestBody } from "../http/body.js";
import type { ByteBudget } from "../../pipeline/byte-budget.js";
import type { DaemonMetrics } from "../../telemetry/metrics.js";
import { httpHeaderLookup, requestContext } from "../request-context.js";
import { recordRequest } from "../request-metrics.js";
import { nestsDeeperThan, TOO_DEEP } from "../../model/nesting.js";

export interface IngestionOptions {
  receiverId: string;
  consumer: PayloadConsumer;
  maxBodyBytes: number;
  logger: Logger;
  metrics: DaemonMetrics;
  requestBudget: ByteBudget;
  /** The target Langfuse's LANGFUSE_MIGRATION_V4_WRITE_MODE. */
  writeMode: "legacy" | "dual" | "events_only";
}

/** In Langfuse v4's `events_only` mode this endpoint takes only scores and SDK logs. */
const EVENTS_ONLY_TYPES = new Set(["score-create", "sdk-log"]);

/**
 * Splits a batch before the pipelines see it. Events nested deeper than the bound get a per-event
 * 400 first (every later stage, the pipelines' copies included, recurses into them); in
 * `events_only` mode, events the target no longer accepts get Langfuse's per-event 400. The rest
 * go on; results come back in the request's own indexes, nesting refusals first and write-mode
 * refusals last, where Langfuse lists them.
 */
function splitBatch(events: readonly unknown[], writeMode: IngestionOptions["writeMode"]) {
  const accepted: unknown[] = [];
  const origins: number[] = [];
  const tooDeep: ItemRejection[] = [];
  const refused: ItemRejection[] = [];
  events.forEach((event, origin) => {
    const rawId = (event as { id?: unknown } | null)?.id;
    const id = typeof rawId === "string" ? rawId : undefined;
    if (nestsDeeperThan(event)) {
      tooDeep.push({ origin, id, status: 400, message: "Invalid request data", error: `event: ${TOO_DEEP}` });
      return;
    }
    const type = (event as { type?: unknown } | null)?.type;
    if (writeMode !== "events_only" || (typeof type === "string" && EVENTS_ONLY_TYPES.has(type))) {
      accepted.push(event);
      origins.push(origin);
      return;
    }
    const shown = typeof type === "string" ? type : "unknown";
    refused.push({
      origin,
      id,
      status: 400,
      message: "Event type not accepted",
      error: `Event type "${shown}" is not accepted by /api/public/ingestion when LANGFUSE_MIGRATION_V4_WRITE_MODE is events_only. This endpoint only accepts score and log events. Send traces and observations through OpenTelemetry (/api/public/otel/v1/traces or the OTLP receivers).`,
    });
  });
  return { accepted, origins, tooDeep, refused };
}

function sendJson(response: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  response.writeHead(status, { "content-type": "application/json; charset=utf-8", "content-length": String(Buffer.byteLength(text)), ...headers });
  response.end(text);
}

function parseBatch(body: Buffer): unknown[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body.toString("utf8"));
  } catch (error) {
    throw new InvalidDataError(`body is not JSON: ${(error as Error).message}`);
  }
  const batch = (parsed as { batch?: unknown } | null)?.batch;
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed) || !Array.isArray(batch)) {
    throw new InvalidDataError("body must be an object {batch: [...], metadata?: ...}");
  }
  return batch;
}

/**
 * Langfuse's 207 body: every event that was neither refused nor an sdk-log is a success (also
 * sampled-out events and events without a body id, which are acknowledged but not stored),
 * listed in Langfuse's processing order; errors carry the per-event status.
 */
export function multiStatusBody(events: readonly unknown[], result: ConsumeResult) {
  const refused = new Set(result.rejections.map((rejection) => rejection.origin));
  const accepted = events
    .map((event, origin) => ({ event: event as IngestionEvent, origin }))
    .filter(({ origin }) => !refused.has(origin) && !result.ignored.has(origin))
    .sort((a, b) => compareIngestionOrder(a.event, b.event));
  return {
    successes: accepted.map(({ event }) => ({ id: event.id, status: 201 })),
    errors: result.rejections.map((rejection) => ({
      id: rejection.id ?? "unknown",
      status: rejection.status,
      message: rejection.message,
      error: rejection.error,
    })),
  };
}

/** Langfuse's error bodies for the whole-request failures of `/api/public/ingestion`. */
function errorBody(error: unknown, message: string): Record<string, unknown> {
  if (!isPipelineError(error)) return { message: "Internal Server Error" };
  switch (error.intent) {
    case "unauthenticated":
      return { error: "UnauthorizedError", message };
    case "forbidden":
      return { error: "ForbiddenError", message };
    case "retryable":
      return { error: "ServiceUnavailableError", message };
    case "overloaded":
      return { message: "Rate limit exceeded", code: "rate_limited", error: message };
    case "too_large":
      return { error: "PayloadTooLargeError", message };
    default:
      return { message: "Invalid request data", errors: [message] };
  }
}

/** `POST /api/public/ingestion`: a batch of Langfuse events, answered with 207 and per-event results. */
export async function handleIngestion(request: IncomingMessage, response: ServerResponse, options: IngestionOptions): Promise<void> {
  if (request.method !== "POST") {
    sendJson(response, 405, { error: "MethodNotAllowedError", message: "Method not allowed" }, { allow: "POST" });
    request.resume();
    return;
  }
  const startedAt = process.hrtime.bigint();
  // The body's bytes count against the process's budget until the request is answered.
  const lease = options.requestBudget.open();
  try {
    const context = requestContext(options.receiverId, "http", "api", httpHeaderLookup(request.headers), request.socket.remoteAddress);
    // Credentials first, as Langfuse checks them: a refused client learns nothing about its body.
    await options.consumer.authenticate(context, "ingestion");
    options.consumer.admit();
    const events = parseBatch(await readRequestBody(request, options.maxBodyBytes, lease));
    const { accepted, origins, tooDeep, refused } = splitBatch(events, options.writeMode);
    const partial = await options.consumer.consume({ kind: "ingestion", events: accepted }, context);
    const result: ConsumeResult = {
      ...partial,
      itemCount: events.length,
      // Langfuse lists the write-mode refusals after the processing errors.
      rejections: [...tooDeep, ...partial.rejections.map((rejection) => ({ ...rejection, origin: origins[rejection.origin]! })), ...refused],
      ignored: new Set([...partial.ignored].map((origin) => origins[origin]!)),
    };
    sendJson(response, 207, multiStatusBody(events, result));
    recordRequest(options, options.receiverId, "http", "events", startedAt, { result });
  } catch (error) {
    const status = edgeStatus(error);
    recordRequest(options, options.receiverId, "http", "events", startedAt, { status });
    if (status.unexpected) options.logger.error({ err: error }, "unexpected failure while handling an ingestion batch");
    const headers: Record<string, string> = {};
    if (status.retryAfterMs !== undefined) headers["retry-after"] = retryAfterSeconds(status.retryAfterMs);
    if (!request.readableEnded) headers.connection = "close";
    sendJson(response, status.http, errorBody(error, status.message), headers);
    if (!request.readableEnded) response.once("finish", () => request.destroy());
  } finally {
    lease.close();
  }
}
