import { gzipSync } from "node:zlib";
import { ExportTraceServiceRequest } from "../../src/otlp/schema.js";

/** OTLP/JSON-shaped spans for tests; `toProtobuf` encodes the same data as protobuf. */
export interface SpanSpec {
  traceId?: string;
  spanId?: string;
  parentSpanId?: string;
  name?: string;
  start?: string;
  end?: string;
  attributes?: Record<string, string | number | boolean | string[]>;
  status?: { code?: number; message?: string };
}

export const TRACE_ID = "0af7651916cd43dd8448eb211c80319c";
export const ROOT_SPAN_ID = "b7ad6b7169203331";
export const CHILD_SPAN_ID = "00f067aa0ba902b7";

function attributeValue(value: string | number | boolean | string[]): Record<string, unknown> {
  if (Array.isArray(value)) return { arrayValue: { values: value.map((item) => ({ stringValue: item })) } };
  if (typeof value === "string") return { stringValue: value };
  if (typeof value === "boolean") return { boolValue: value };
  return Number.isInteger(value) ? { intValue: String(value) } : { doubleValue: value };
}

export function span(spec: SpanSpec = {}): Record<string, unknown> {
  const result: Record<string, unknown> = {
    traceId: spec.traceId ?? TRACE_ID,
    spanId: spec.spanId ?? ROOT_SPAN_ID,
    name: spec.name ?? "op",
    kind: 1,
    startTimeUnixNano: spec.start ?? "1700000000000000000",
    endTimeUnixNano: spec.end ?? "1700000001500000000",
    attributes: Object.entries(spec.attributes ?? {}).map(([key, value]) => ({ key, value: attributeValue(value) })),
  };
  if (spec.parentSpanId !== undefined) result.parentSpanId = spec.parentSpanId;
  if (spec.status) result.status = spec.status;
  return result;
}

export function resourceSpans(spans: Array<Record<string, unknown>>, scope = { name: "my-lib", version: "1.0" }) {
  return [
    {
      resource: { attributes: [{ key: "service.name", value: { stringValue: "svc" } }] },
      scopeSpans: [{ scope, spans }],
    },
  ];
}

function hexToBytes(value: unknown): unknown {
  return typeof value === "string" ? Buffer.from(value, "hex") : value;
}

/** Encodes OTLP/JSON-shaped data as an ExportTraceServiceRequest (ids from hex to bytes). */
export function toProtobuf(data: ReturnType<typeof resourceSpans>): Buffer {
  const converted = JSON.parse(JSON.stringify(data)) as Array<{ scopeSpans: Array<{ spans: Array<Record<string, unknown>> }> }>;
  for (const resource of converted) {
    for (const scope of resource.scopeSpans) {
      for (const item of scope.spans) {
        for (const key of ["traceId", "spanId", "parentSpanId"]) if (key in item) item[key] = hexToBytes(item[key]);
      }
    }
  }
  const message = ExportTraceServiceRequest.fromObject({ resourceSpans: converted });
  return Buffer.from(ExportTraceServiceRequest.encode(message).finish());
}

export function toJson(data: ReturnType<typeof resourceSpans>): Buffer {
  return Buffer.from(JSON.stringify({ resourceSpans: data }));
}

export { gzipSync };
