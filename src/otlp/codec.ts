import type Long from "long";
import { parseLatin1JsonInPieces } from "./json-pieces.js";
import { transcodeTraceRequest } from "./protobuf-json.js";
import type { AnyValue, KeyValue, ResourceSpans, Span } from "../model/otlp.js";
import { InvalidDataError } from "../pipeline/errors.js";
import {
  ANY_TYPE_URL_RETRY_INFO,
  ExportTraceServiceRequest,
  ExportTraceServiceResponse,
  RetryInfo,
  RpcStatus,
} from "./schema.js";

/** The two OTLP encodings; responses use the encoding of the request. */
export type OtlpFormat = "protobuf" | "json";

type Message = Record<string, unknown>;

/**
 * Whether a field was on the wire. protobufjs keeps defaults on the prototype, but creates an own
 * (possibly empty) array for every repeated field; empty ones are treated as absent, as
 * `toObject({defaults: false})` and OTLP/JSON encoders do.
 */
function has(message: Message, field: string): boolean {
  if (!Object.hasOwn(message, field)) return false;
  const value = message[field];
  return !Array.isArray(value) || value.length > 0;
}

function hex(bytes: unknown): string {
  const view = bytes as Uint8Array;
  return Buffer.from(view.buffer, view.byteOffset, view.byteLength).toString("hex");
}

/**
 * A bytes value as Langfuse's web container stores it: protobufjs's `toObject` keeps the Buffer,
 * and `JSON.stringify` writes a Buffer as `{"type":"Buffer","data":[…]}`.
 */
function bufferJson(bytes: unknown): { type: "Buffer"; data: number[] } {
  return { type: "Buffer", data: Array.from(bytes as Uint8Array) };
}

function decimal(value: unknown): string {
  return typeof value === "number" ? String(value) : (value as Long).toString();
}

/**
 * An AnyValue as Langfuse reads a protobuf request (`toObject({longs: String})`, then JSON): an
 * empty array or key-value list has no `values` key (`{"arrayValue":{}}`), bytes are a Buffer's
 * JSON. The converter stores such values as that JSON text, so the shape is what users see.
 */
function anyValue(message: Message): AnyValue {
  switch (message.value) {
    case "stringValue":
      return { stringValue: message.stringValue as string };
    case "boolValue":
      return { boolValue: message.boolValue as boolean };
    case "intValue":
      return { intValue: decimal(message.intValue) };
    case "doubleValue":
      return { doubleValue: message.doubleValue as number };
    case "arrayValue": {
      const list = message.arrayValue as Message;
      return { arrayValue: has(list, "values") ? { values: (list.values as Message[]).map(anyValue) } : {} };
    }
    case "kvlistValue": {
      const list = message.kvlistValue as Message;
      return { kvlistValue: has(list, "values") ? { values: keyValues(list.values as Message[]) } : {} };
    }
    case "bytesValue":
      return { bytesValue: bufferJson(message.bytesValue) };
    default:
      return {};
  }
}

/** Fields absent on the wire stay absent, as `toObject` leaves them (a key of "" is not written by encoders). */
function keyValues(list: Message[]): KeyValue[] {
  return list.map((item) => {
    const entry: Record<string, unknown> = {};
    if (has(item, "key")) entry.key = item.key;
    if (has(item, "value")) entry.value = anyValue(item.value as Message);
    return entry as unknown as KeyValue;
  });
}

/** Copies the fields that were present on the wire; absent fields stay absent, as in OTLP/JSON. */
function copyScalars(target: Record<string, unknown>, message: Message, fields: readonly string[]): void {
  for (const field of fields) if (has(message, field)) target[field] = message[field];
}

function span(message: Message): Span {
  const result: Span & Record<string, unknown> = {};
  if (has(message, "traceId")) result.traceId = hex(message.traceId);
  if (has(message, "spanId")) result.spanId = hex(message.spanId);
  copyScalars(result, message, ["traceState"]);
  if (has(message, "parentSpanId")) result.parentSpanId = hex(message.parentSpanId);
  copyScalars(result, message, ["flags", "name", "kind"]);
  if (has(message, "startTimeUnixNano")) result.startTimeUnixNano = decimal(message.startTimeUnixNano);
  if (has(message, "endTimeUnixNano")) result.endTimeUnixNano = decimal(message.endTimeUnixNano);
  if (has(message, "attributes")) result.attributes = keyValues(message.attributes as Message[]);
  copyScalars(result, message, ["droppedAttributesCount"]);
  if (has(message, "events")) {
    result.events = (message.events as Message[]).map((event) => {
      const out: Record<string, unknown> = {};
      if (has(event, "timeUnixNano")) out.timeUnixNano = decimal(event.timeUnixNano);
      copyScalars(out, event, ["name"]);
      if (has(event, "attributes")) out.attributes = keyValues(event.attributes as Message[]);
      copyScalars(out, event, ["droppedAttributesCount"]);
      return out;
    });
  }
  copyScalars(result, message, ["droppedEventsCount"]);
  if (has(message, "links")) {
    result.links = (message.links as Message[]).map((link) => {
      const out: Record<string, unknown> = {};
      if (has(link, "traceId")) out.traceId = hex(link.traceId);
      if (has(link, "spanId")) out.spanId = hex(link.spanId);
      copyScalars(out, link, ["traceState"]);
      if (has(link, "attributes")) out.attributes = keyValues(link.attributes as Message[]);
      copyScalars(out, link, ["droppedAttributesCount", "flags"]);
      return out;
    });
  }
  copyScalars(result, message, ["droppedLinksCount"]);
  if (has(message, "status")) {
    const status = message.status as Message;
    const out: Record<string, unknown> = {};
    copyScalars(out, status, ["message", "code"]);
    result.status = out;
  }
  return result;
}

function attributesHolder(message: Message): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  copyScalars(out, message, ["name", "version"]);
  if (has(message, "attributes")) out.attributes = keyValues(message.attributes as Message[]);
  copyScalars(out, message, ["droppedAttributesCount"]);
  return out;
}

/**
 * Decodes an OTLP/protobuf `ExportTraceServiceRequest` into the in-memory OTLP shape, which is
 * what Langfuse's worker reads for the same request (`toObject({longs: String})` and JSON): 64-bit
 * integers as decimal strings, fields absent on the wire absent, bytes values as a Buffer's JSON;
 * only ids differ, as lower-case hex instead of a Buffer's JSON (the worker reads both as hex).
 */
export function decodeProtobufTraceRequest(body: Uint8Array): ResourceSpans[] {
  let request: Message;
  try {
    request = ExportTraceServiceRequest.decode(body) as unknown as Message;
  } catch (error) {
    // protobufjs stops 100 messages down. The transcoder reads any depth, writing what lies past
    // the nesting bound as `{}`, so the spans that nest too deep are refused one by one later.
    const deep = (error as Error).message === "max depth exceeded" ? transcodedObjects(body) : undefined;
    if (deep !== undefined) return deep;
    throw new InvalidDataError(`cannot decode the OTLP protobuf body: ${(error as Error).message}`);
  }
  if (!has(request, "resourceSpans")) return [];
  return (request.resourceSpans as Message[]).map((resourceSpans) => {
    const out: ResourceSpans & Record<string, unknown> = {};
    if (has(resourceSpans, "resource")) out.resource = attributesHolder(resourceSpans.resource as Message);
    if (has(resourceSpans, "scopeSpans")) {
      out.scopeSpans = (resourceSpans.scopeSpans as Message[]).map((scopeSpans) => {
        const scoped: Record<string, unknown> = {};
        if (has(scopeSpans, "scope")) scoped.scope = attributesHolder(scopeSpans.scope as Message);
        if (has(scopeSpans, "spans")) scoped.spans = (scopeSpans.spans as Message[]).map(span);
        copyScalars(scoped, scopeSpans, ["schemaUrl"]);
        return scoped;
      });
    }
    copyScalars(out, resourceSpans, ["schemaUrl"]);
    return out;
  });
}

function transcodedObjects(body: Uint8Array): ResourceSpans[] | undefined {
  try {
    return JSON.parse(transcodeTraceRequest(Buffer.from(body.buffer, body.byteOffset, body.byteLength)).json.toString("utf8")) as ResourceSpans[];
  } catch {
    return undefined;
  }
}

/**
 * Parses an OTLP/JSON body. Ids and values stay as the client sent them (the converter reads
 * hex strings verbatim); only the top-level shape is checked here.
 */
export function decodeJsonTraceRequest(body: Buffer): unknown[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body.toString("utf8"));
  } catch (error) {
    throw new InvalidDataError(`cannot parse the OTLP JSON body: ${(error as Error).message}`);
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
    throw new InvalidDataError("the OTLP JSON body must be an object with a resourceSpans array");
  }
  const resourceSpans = (parsed as { resourceSpans?: unknown }).resourceSpans;
  if (resourceSpans === undefined || resourceSpans === null) return [];
  if (!Array.isArray(resourceSpans)) throw new InvalidDataError("resourceSpans must be an array");
  return resourceSpans;
}

const RESOURCE_SPANS_OPENING = Buffer.from('{"resourceSpans":');

/**
 * The `[...]` of the compact `{"resourceSpans":[...]}` body that OpenTelemetry's exporters send,
 * cut out of the body without parsing; undefined for any other shape (other keys, whitespace, a
 * byte-order mark). Whether the cut-out is exactly one JSON value is for its parse to prove (a
 * body with a repeated key does not parse this way and takes the general path).
 */
export function compactResourceSpansBytes(body: Buffer): Buffer | undefined {
  if (body.length < RESOURCE_SPANS_OPENING.length + 3 || body[body.length - 1] !== 0x7d /* } */) return undefined;
  if (!body.subarray(0, RESOURCE_SPANS_OPENING.length).equals(RESOURCE_SPANS_OPENING)) return undefined;
  const bytes = body.subarray(RESOURCE_SPANS_OPENING.length, body.length - 1);
  return bytes[0] === 0x5b /* [ */ ? bytes : undefined;
}

/**
 * The compact array's structure, parsed from its bytes read as Latin-1: less CPU than UTF-8 (Node
 * 20 decodes UTF-8 without SIMD, and LLM text is full of non-ASCII; bench/results/2026-11-26.md).
 * JSON's syntax is all ASCII and no byte of a multi-byte UTF-8 sequence is a quote, a backslash or
 * a control character, so this parses exactly when the UTF-8 text parses, to the same structure,
 * numbers and ASCII strings; only strings with non-ASCII characters differ (each such character
 * appears as its UTF-8 bytes). Undefined when the bytes are not one JSON array.
 */
export function parseStructureLatin1(bytes: Buffer): unknown[] | undefined {
  try {
    // Spans parsed one by one: see json-pieces.ts for why one large string costs more than the parse.
    const value = parseLatin1JsonInPieces(bytes);
    return Array.isArray(value) ? value : undefined;
  } catch {
    return undefined;
  }
}

export interface PartialSuccess {
  rejectedSpans: number;
  errorMessage: string;
}

/** `ExportTraceServiceResponse`; `partial_success` only when something was rejected or needs saying. */
export function encodeExportResponse(format: OtlpFormat, partialSuccess?: PartialSuccess): Buffer {
  if (format === "json") {
    const body = partialSuccess
      ? { partialSuccess: { rejectedSpans: String(partialSuccess.rejectedSpans), errorMessage: partialSuccess.errorMessage } }
      : {};
    return Buffer.from(JSON.stringify(body));
  }
  const message = partialSuccess ? { partialSuccess: { rejectedSpans: partialSuccess.rejectedSpans, errorMessage: partialSuccess.errorMessage } } : {};
  return Buffer.from(ExportTraceServiceResponse.encode(ExportTraceServiceResponse.fromObject(message)).finish());
}

function retryInfoAny(retryAfterMs: number): { typeUrl: string; value: Uint8Array } {
  const seconds = Math.floor(retryAfterMs / 1000);
  const nanos = (retryAfterMs % 1000) * 1_000_000;
  const value = RetryInfo.encode(RetryInfo.fromObject({ retryDelay: { seconds, nanos } })).finish();
  return { typeUrl: ANY_TYPE_URL_RETRY_INFO, value };
}

/**
 * A `google.rpc.Status`, the body OTLP prescribes for every HTTP error and the gRPC
 * `grpc-status-details-bin` trailer. Retryable refusals carry a RetryInfo detail.
 */
export function encodeRpcStatus(format: OtlpFormat, code: number, message: string, retryAfterMs?: number): Buffer {
  if (format === "json") {
    const body: Record<string, unknown> = { code, message };
    if (retryAfterMs !== undefined) {
      const seconds = Math.floor(retryAfterMs / 1000);
      const fraction = retryAfterMs % 1000;
      body.details = [
        { "@type": ANY_TYPE_URL_RETRY_INFO, retryDelay: fraction === 0 ? `${seconds}s` : `${(retryAfterMs / 1000).toFixed(3)}s` },
      ];
    }
    return Buffer.from(JSON.stringify(body));
  }
  const details = retryAfterMs === undefined ? [] : [retryInfoAny(retryAfterMs)];
  return Buffer.from(RpcStatus.encode(RpcStatus.fromObject({ code, message, details })).finish());
}
