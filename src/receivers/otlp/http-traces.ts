import type { IncomingMessage, ServerResponse } from "node:http";
import type { Logger } from "pino";
import { OtlpTraceRequest } from "../../otlp/trace-request.js";
import { encodeExportResponse, encodeRpcStatus, type OtlpFormat } from "../../otlp/codec.js";
import type { IngestionSource, PayloadConsumer } from "../../pipeline/payload.js";
import { edgeStatus, retryAfterSeconds } from "../edge-status.js";
import { readRequestBody } from "../http/body.js";
import type { BufferPools } from "../../pipeline/buffer-pool.js";
import type { ByteBudget } from "../../pipeline/byte-budget.js";
import type { DaemonMetrics } from "../../telemetry/metrics.js";
import { httpHeaderLookup, refuseUnsupportedIngestionVersion, requestContext } from "../request-context.js";
import { partialSuccessOf } from "./partial-success.js";
import { recordRequest } from "../request-metrics.js";

export interface OtlpHttpOptions {
  receiverId: string;
  source: IngestionSource;
  consumer: PayloadConsumer;
  maxBodyBytes: number;
  logger: Logger;
  metrics: DaemonMetrics;
  /** The daemon's pools: protobuf bodies are read into `otlpBodies`, JSON bodies into `storedJson`. */
  buffers: BufferPools;
  requestBudget: ByteBudget;
  propagateHeaders?: readonly string[];
}

const CONTENT_TYPE: Record<OtlpFormat, string> = { protobuf: "application/x-protobuf", json: "application/json" };

/** Substring match, as Langfuse does: `application/json; charset=utf-8` is JSON. */
function formatOf(contentType: string | undefined): OtlpFormat | undefined {
  const value = (contentType ?? "").toLowerCase();
  if (value.includes("application/x-protobuf")) return "protobuf";
  if (value.includes("application/json")) return "json";
  return undefined;
}

function send(response: ServerResponse, status: number, format: OtlpFormat, body: Buffer, headers: Record<string, string> = {}): void {
  response.writeHead(status, { "content-type": CONTENT_TYPE[format], "content-length": String(body.length), ...headers });
  response.end(body);
}

/**
 * `POST /v1/traces` (and Langfuse's `/api/public/otel/v1/traces`): OTLP/HTTP in protobuf or JSON,
 * optionally gzip- or deflate-compressed. Answers in the request's encoding, with
 * `ExportTraceServiceResponse` on success (with `partial_success` when spans were refused) and
 * a `google.rpc.Status` on failure.
 */
export async function handleOtlpTraces(request: IncomingMessage, response: ServerResponse, options: OtlpHttpOptions): Promise<void> {
  const format = formatOf(request.headers["content-type"]);
  if (request.method !== "POST") {
    send(response, 405, format ?? "json", encodeRpcStatus(format ?? "json", 12, "method not allowed, supported: [POST]"), { allow: "POST" });
    request.resume();
    return;
  }
  const startedAt = process.hrtime.bigint();
  // The body's bytes count against the process's budget until the request is answered.
  const lease = options.requestBudget.open();
  try {
    const context = requestContext(options.receiverId, "http", options.source, httpHeaderLookup(request.headers), request.socket.remoteAddress, options.propagateHeaders);
    // Credentials first, as Langfuse and the Collector's auth extension check them: nothing about
    // the body (its type, size, content, or emptiness) is answered to a client that is refused.
    await options.consumer.authenticate(context, "otlp");
    if (format === undefined) {
      send(response, 415, "json", encodeRpcStatus("json", 3, "unsupported media type, supported: [application/json, application/x-protobuf]"));
      request.resume();
      return;
    }
    options.consumer.admit();
    // Protobuf bodies are read into reusable buffers: nothing keeps their bytes once the request
    // is answered (the transcoder and the decoder copy what they need), so they go back here.
    // JSON bodies may be stored as received (raw path): they come from the stored-JSON pool, and
    // only the spool that stores one gives it back (SpanBatch.serialise).
    const pool = format === "protobuf" ? options.buffers.otlpBodies : undefined;
    const body = await readRequestBody(request, options.maxBodyBytes, lease, pool ?? options.buffers.storedJson);
    const traces = format === "protobuf" ? OtlpTraceRequest.fromProtobuf(body) : OtlpTraceRequest.fromJson(body);
    if (traces.isEmpty()) {
      send(response, 200, format, encodeExportResponse(format));
      pool?.give(body);
      recordRequest(options, options.receiverId, "http", "spans", startedAt, { empty: true });
      return;
    }
    refuseUnsupportedIngestionVersion(context);
    const result = await options.consumer.consume({ kind: "otlp", request: traces }, context);
    send(response, 200, format, encodeExportResponse(format, partialSuccessOf(result)));
    // Only after success: a failed consume may leave work behind that still reads the body; that
    // body is left to the GC.
    pool?.give(body);
    recordRequest(options, options.receiverId, "http", "spans", startedAt, { result });
  } catch (error) {
    const status = edgeStatus(error);
    recordRequest(options, options.receiverId, "http", "spans", startedAt, { status });
    if (status.unexpected) options.logger.error({ err: error }, "unexpected failure while handling an OTLP request");
    const headers: Record<string, string> = {};
    if (status.retryAfterMs !== undefined) headers["retry-after"] = retryAfterSeconds(status.retryAfterMs);
    // A body we stopped reading (too large, bad encoding) leaves the connection unusable.
    if (!request.readableEnded) headers.connection = "close";
    const answerFormat = format ?? "json";
    send(response, status.http, answerFormat, encodeRpcStatus(answerFormat, status.grpc, status.message, status.retryAfterMs), headers);
    if (!request.readableEnded) response.once("finish", () => request.destroy());
  } finally {
    lease.close();
  }
}
