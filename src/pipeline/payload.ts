import type { OtlpTraceRequest } from "../otlp/trace-request.js";

/**
 * The narrow interface between receivers and pipelines. A receiver decodes a request into a
 * payload, describes where it came from in a RequestContext, and hands both to a PayloadConsumer.
 * The promise resolves once the data is exported (or refused per item); it rejects with a
 * PipelineError when the request as a whole cannot be accepted.
 */

/** What Langfuse calls the ingestion `source`: it decides job delays and `skipS3List`. */
export type IngestionSource = "otel" | "api";

export type TracePayload =
  /** OTLP trace data: decoded to the shape of src/model/otlp.ts on demand. */
  | { kind: "otlp"; request: OtlpTraceRequest }
  /** A Langfuse ingestion batch (`POST /api/public/ingestion`), events unchecked. */
  | { kind: "ingestion"; events: unknown[] };

/** The project an authenticated request writes to; set by the `auth` processor. */
export interface ProjectScope {
  projectId: string;
  /** `project`: a public/secret key pair; `scores`: a bare public key (Bearer), which may only write scores. */
  accessLevel: "project" | "scores";
  publicKey: string;
  orgId?: string;
}

/**
 * Where the `auth` processor keeps the credential check it made before the body was read, so the
 * check in the chain reuses it. A symbol key: copies of a context share it, and no serialisation
 * of a context (spool, dead letters) writes it.
 */
export const CREDENTIAL_CHECKS: unique symbol = Symbol("credential checks");

export interface RequestContext {
  /** Component id of the receiver, for logs and metrics. */
  receiver: string;
  transport: "http" | "grpc";
  source: IngestionSource;
  /** The raw `Authorization` header or gRPC metadata value. Never log it. */
  authorization: string | undefined;
  /** Langfuse attribution headers (`x-langfuse-sdk-name` / `-version`), "unknown" when absent. */
  sdkName: string;
  sdkVersion: string;
  /** `x-langfuse-ingestion-version`, "" when absent. */
  ingestionVersion: string;
  /** The peer's IP address as the socket sees it (a proxy's X-Forwarded-For is not trusted). */
  clientAddress?: string;
  /** The headers the receiver is configured to propagate (`propagate_headers`) that the request carried. */
  propagatedHeaders?: Record<string, string>;
  /** Resolved by the `auth` processor. */
  scope?: ProjectScope;
  /** Credential checks made before the body was read, by the processor that made them. */
  [CREDENTIAL_CHECKS]?: Map<object, Promise<ProjectScope>>;
}

/** One item (OTLP span or ingestion event) that was refused while the rest of the request went on. */
export interface ItemRejection {
  /** Index of the span (OTLP) or event (ingestion batch) in the request. */
  origin: number;
  /** The event's envelope id, when the item is an event with a string id. */
  id?: string;
  /** Langfuse's per-event status: 400 invalid, 401 not allowed. */
  status: 400 | 401 | 404 | 500;
  message: string;
  error: string;
}

export interface ConsumeResult {
  /** Spans (OTLP) or events (ingestion batch) in the request. */
  itemCount: number;
  rejections: ItemRejection[];
  /** Items that are neither successes nor errors (Langfuse's `sdk-log` events). */
  ignored: ReadonlySet<number>;
  /** The project the request was written to, for logs. */
  projectId?: string;
}

export interface PayloadConsumer {
  /**
   * Checks the request's credentials from its headers alone, before its body is read: throws an
   * UnauthenticatedError or ForbiddenError when the pipelines that would take a payload of this
   * kind refuse them. Receivers call it first, so a refused client never gets an answer that
   * depends on its body (an empty export included), and its body costs nothing.
   */
  authenticate(context: RequestContext, kind: TracePayload["kind"]): Promise<void>;
  /**
   * Throws an OverloadedError when the daemon cannot take more data now (spool or memory budget
   * full). Receivers call it before reading a request body, so a full daemon stays cheap to refuse.
   */
  admit(): void;
  consume(payload: TracePayload, context: RequestContext): Promise<ConsumeResult>;
}
