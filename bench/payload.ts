/**
 * The benchmark's request: 100 LLM-shaped spans (10 traces of 1 root + 9 children), each with
 * about 15 GenAI attributes including a ~1 KB `gen_ai.input.messages` and a ~1 KB
 * `gen_ai.output.messages` of varied, partly non-ASCII text.
 *
 * The request is built and encoded once per encoding, with random "sentinel" ids. Every place a
 * sentinel occurs is recorded, so each request gets fresh trace and span ids by copying the
 * template and overwriting those bytes (binary ids in protobuf, hex strings in JSON): no
 * re-encoding per request, and the daemon never sees the same id twice.
 */
import { randomFillSync } from "node:crypto";
import Long from "long";
import { ExportTraceServiceRequest } from "../src/otlp/schema.js";

export const TRACES_PER_REQUEST = 10;
export const SPANS_PER_TRACE = 10;
export const SPANS_PER_REQUEST = TRACES_PER_REQUEST * SPANS_PER_TRACE;
/** With the `group` processor: one observation object per span plus one trace object per trace. */
export const BLOBS_PER_REQUEST = SPANS_PER_REQUEST + TRACES_PER_REQUEST;

/**
 * What the redact and filter scenarios change in the request, and nothing else (the other
 * scenarios send the payload as it always was):
 *
 * - `streamNames`: the odd children of each trace (5 of 10 spans, never a root) are named
 *   `stream <model>` instead of `chat <model>`, so a filter rule on the name prefix `stream `
 *   drops half the spans. Names only: the same attributes, sizes within a few bytes.
 * - `email`: one span per request (the first trace's root) has an e-mail address in its user
 *   message, so the redact detectors find something to replace in every request.
 */
export interface PayloadVariant {
  streamNames?: boolean;
  email?: boolean;
}

/** Spans per request a filter on the `stream ` name prefix drops (streamNames). */
export const STREAM_SPANS_PER_REQUEST = TRACES_PER_REQUEST * Math.floor(SPANS_PER_TRACE / 2);
export const STREAM_NAME_PREFIX = "stream ";
/** The address `email` puts in the first span's user message. */
export const PAYLOAD_EMAIL = "ann.lee@example.com";

export type WireFormat = "protobuf" | "json";

export interface Template {
  format: WireFormat;
  body: Buffer;
  /** Byte offsets of each trace's id (10 per trace: every span carries it). */
  traceIdOffsets: number[][];
  /** Byte offsets of each span's id (its own, plus each child's parent id). */
  spanIdOffsets: number[][];
}

type AttributeValue = string | string[] | { int: number } | { double: number };

interface LogicalSpan {
  traceIndex: number;
  spanIndex: number;
  parentSpanIndex: number | undefined;
  name: string;
  startNs: bigint;
  endNs: bigint;
  attributes: Array<[string, AttributeValue]>;
}

/** mulberry32: the payload is the same on every run and in every process. */
function prng(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const WORDS = [
  "the", "model", "answer", "should", "summarise", "customer", "invoice", "refund", "policy", "within", "thirty",
  "days", "please", "explain", "why", "shipment", "delayed", "context", "retrieval", "document", "section", "tokens",
  "latency", "budget", "assistant", "tool", "call", "weather", "Berlin", "tomorrow", "résumé", "naïve", "café",
  "Straße", "Größe", "déjà", "vu", "façade", "español", "niño", "Zürich", "東京", "データ", "検索", "日本語",
  "привет", "данные", "مرحبا", "שלום", "한국어", "中文", "模型", "🚀", "✅", "—", "«quoted»", "“smart”", "€42,50",
  "1.5×", "≈", "°C", "and", "or", "with", "for", "a", "an", "is", "are", "was", "it", "this", "that", "of", "to",
];

function text(random: () => number, targetBytes: number): string {
  const parts: string[] = [];
  let bytes = 0;
  while (bytes < targetBytes) {
    const word = WORDS[Math.floor(random() * WORDS.length)]!;
    const piece = parts.length === 0 ? word[0]!.toUpperCase() + word.slice(1) : random() < 0.08 ? `${word}.` : word;
    parts.push(piece);
    bytes += Buffer.byteLength(piece, "utf8") + 1;
  }
  return parts.join(" ");
}

/** The GenAI semantic conventions' message shapes, about 1 KB each once serialised. */
function inputMessages(random: () => number, email = false): string {
  const system = text(random, 220);
  const user = text(random, 680);
  return JSON.stringify([
    { role: "system", parts: [{ type: "text", content: system }] },
    { role: "user", parts: [{ type: "text", content: email ? `${user} Reply to ${PAYLOAD_EMAIL} please.` : user }] },
  ]);
}

function outputMessages(random: () => number): string {
  return JSON.stringify([{ role: "assistant", parts: [{ type: "text", content: text(random, 930) }], finish_reason: "stop" }]);
}

function hexId(random: () => number, bytes: number): string {
  let out = "";
  for (let index = 0; index < bytes; index += 1) out += Math.floor(random() * 256).toString(16).padStart(2, "0");
  return out;
}

function logicalSpans(random: () => number, variant: PayloadVariant): LogicalSpan[] {
  const spans: LogicalSpan[] = [];
  const baseNs = BigInt(Date.UTC(2025, 0, 15, 12, 0, 0)) * 1_000_000n;
  for (let traceIndex = 0; traceIndex < TRACES_PER_REQUEST; traceIndex += 1) {
    const user = `user-${1000 + traceIndex}`;
    const session = `session-${hexId(random, 6)}`;
    const traceStart = baseNs + BigInt(traceIndex) * 5_000_000_000n;
    for (let child = 0; child < SPANS_PER_TRACE; child += 1) {
      const spanIndex = traceIndex * SPANS_PER_TRACE + child;
      const model = child % 3 === 0 ? "gpt-4o-mini" : child % 3 === 1 ? "gpt-4o" : "claude-3-5-sonnet";
      const inputTokens = 200 + Math.floor(random() * 1800);
      const outputTokens = 50 + Math.floor(random() * 600);
      const startNs = traceStart + BigInt(child) * 300_000_000n + BigInt(Math.floor(random() * 1_000_000));
      const endNs = startNs + 250_000_000n + BigInt(Math.floor(random() * 200_000_000));
      spans.push({
        traceIndex,
        spanIndex,
        parentSpanIndex: child === 0 ? undefined : traceIndex * SPANS_PER_TRACE,
        name: variant.streamNames && child % 2 === 1 ? `${STREAM_NAME_PREFIX}${model}` : `chat ${model}`,
        startNs: child === 0 ? traceStart : startNs,
        endNs: child === 0 ? traceStart + 4_000_000_000n : endNs,
        attributes: [
          ["gen_ai.system", model.startsWith("claude") ? "anthropic" : "openai"],
          ["gen_ai.operation.name", "chat"],
          ["gen_ai.request.model", model],
          ["gen_ai.response.model", `${model}-2024-08-06`],
          ["gen_ai.request.temperature", { double: Math.round(random() * 100) / 100 }],
          ["gen_ai.request.max_tokens", { int: 1024 }],
          ["gen_ai.usage.input_tokens", { int: inputTokens }],
          ["gen_ai.usage.output_tokens", { int: outputTokens }],
          ["gen_ai.response.finish_reasons", ["stop"]],
          ["gen_ai.response.id", `chatcmpl-${hexId(random, 12)}`],
          ["langfuse.observation.type", "generation"],
          ["user.id", user],
          ["session.id", session],
          ["gen_ai.input.messages", inputMessages(random, variant.email === true && spanIndex === 0)],
          ["gen_ai.output.messages", outputMessages(random)],
        ],
      });
    }
  }
  return spans;
}

const RESOURCE_ATTRIBUTES: Array<[string, AttributeValue]> = [
  ["service.name", "bench-llm-app"],
  ["service.version", "1.4.2"],
  ["deployment.environment.name", "bench"],
  ["telemetry.sdk.language", "nodejs"],
  ["telemetry.sdk.name", "opentelemetry"],
  ["telemetry.sdk.version", "2.12.0"],
];
const SCOPE = { name: "bench-genai-instrumentation", version: "0.9.0" };

interface Sentinels {
  traceIds: Buffer[];
  spanIds: Buffer[];
}

function sentinels(random: () => number): Sentinels {
  const bytes = (count: number) => Buffer.from(hexId(random, count), "hex");
  return {
    traceIds: Array.from({ length: TRACES_PER_REQUEST }, () => bytes(16)),
    spanIds: Array.from({ length: SPANS_PER_REQUEST }, () => bytes(8)),
  };
}

// --- protobuf -----------------------------------------------------------------------------------

function protobufValue(value: AttributeValue): Record<string, unknown> {
  if (typeof value === "string") return { stringValue: value };
  if (Array.isArray(value)) return { arrayValue: { values: value.map((item) => ({ stringValue: item })) } };
  if ("int" in value) return { intValue: Long.fromNumber(value.int) };
  return { doubleValue: value.double };
}

function protobufAttributes(list: Array<[string, AttributeValue]>) {
  return list.map(([key, value]) => ({ key, value: protobufValue(value) }));
}

function encodeProtobuf(spans: LogicalSpan[], ids: Sentinels): Buffer {
  const message = ExportTraceServiceRequest.fromObject({
    resourceSpans: [
      {
        resource: { attributes: protobufAttributes(RESOURCE_ATTRIBUTES) },
        scopeSpans: [
          {
            scope: SCOPE,
            spans: spans.map((span) => ({
              traceId: ids.traceIds[span.traceIndex],
              spanId: ids.spanIds[span.spanIndex],
              ...(span.parentSpanIndex === undefined ? {} : { parentSpanId: ids.spanIds[span.parentSpanIndex] }),
              name: span.name,
              kind: 3, // CLIENT
              startTimeUnixNano: Long.fromString(span.startNs.toString(), true),
              endTimeUnixNano: Long.fromString(span.endNs.toString(), true),
              attributes: protobufAttributes(span.attributes),
              status: { code: 1 },
            })),
          },
        ],
      },
    ],
  });
  return Buffer.from(ExportTraceServiceRequest.encode(message).finish());
}

// --- OTLP/JSON ----------------------------------------------------------------------------------

function jsonValue(value: AttributeValue): Record<string, unknown> {
  if (typeof value === "string") return { stringValue: value };
  if (Array.isArray(value)) return { arrayValue: { values: value.map((item) => ({ stringValue: item })) } };
  if ("int" in value) return { intValue: String(value.int) };
  return { doubleValue: value.double };
}

function jsonAttributes(list: Array<[string, AttributeValue]>) {
  return list.map(([key, value]) => ({ key, value: jsonValue(value) }));
}

function encodeJson(spans: LogicalSpan[], ids: Sentinels): Buffer {
  const hex = (id: Buffer) => id.toString("hex");
  return Buffer.from(
    JSON.stringify({
      resourceSpans: [
        {
          resource: { attributes: jsonAttributes(RESOURCE_ATTRIBUTES) },
          scopeSpans: [
            {
              scope: SCOPE,
              spans: spans.map((span) => ({
                traceId: hex(ids.traceIds[span.traceIndex]!),
                spanId: hex(ids.spanIds[span.spanIndex]!),
                ...(span.parentSpanIndex === undefined ? {} : { parentSpanId: hex(ids.spanIds[span.parentSpanIndex]!) }),
                name: span.name,
                kind: 3,
                startTimeUnixNano: span.startNs.toString(),
                endTimeUnixNano: span.endNs.toString(),
                attributes: jsonAttributes(span.attributes),
                status: { code: 1 },
              })),
            },
          ],
        },
      ],
    }),
    "utf8",
  );
}

// --- templates ----------------------------------------------------------------------------------

function offsetsOf(body: Buffer, needle: Buffer, expected: number, what: string): number[] {
  const found: number[] = [];
  for (let at = body.indexOf(needle); at !== -1; at = body.indexOf(needle, at + 1)) found.push(at);
  if (found.length !== expected) throw new Error(`payload template: ${what} occurs ${found.length} times, expected ${expected}`);
  return found;
}

function template(format: WireFormat, spans: LogicalSpan[], ids: Sentinels): Template {
  const body = format === "protobuf" ? encodeProtobuf(spans, ids) : encodeJson(spans, ids);
  const needle = (id: Buffer) => (format === "protobuf" ? id : Buffer.from(id.toString("hex"), "latin1"));
  const children = (spanIndex: number) => spans.filter((span) => span.parentSpanIndex === spanIndex).length;
  return {
    format,
    body,
    traceIdOffsets: ids.traceIds.map((id, index) => offsetsOf(body, needle(id), SPANS_PER_TRACE, `trace id ${index}`)),
    spanIdOffsets: ids.spanIds.map((id, index) => offsetsOf(body, needle(id), 1 + children(index), `span id ${index}`)),
  };
}

/**
 * Both encodings of the same request; deterministic for a given seed. A variant draws the same
 * random numbers in the same order, so it differs from the plain request only where it says.
 */
export function buildTemplates(seed = 20250115, variant: PayloadVariant = {}): Record<WireFormat, Template> {
  const random = prng(seed);
  const spans = logicalSpans(random, variant);
  const ids = sentinels(random);
  return { protobuf: template("protobuf", spans, ids), json: template("json", spans, ids) };
}

const ID_BYTES = TRACES_PER_REQUEST * 16 + SPANS_PER_REQUEST * 8;
/** With `continuing`, this many of a request's traces carry on traces of the one before. */
const CONTINUED_TRACES = TRACES_PER_REQUEST / 2;

/**
 * A copy of the template with fresh random trace and span ids (parent ids follow their span).
 * Costs one copy of the body and about 1 KB of random bytes. With `continuing` (the ids of the
 * previous request from the same sender), the last half of the traces reuse the trace ids of the
 * first half of that request: each trace's spans then arrive in two requests, as when a tracer's
 * batch processor exports a long trace in two batches. Returns the ids for the next request.
 */
export function freshRequest(source: Template, continuing?: Buffer): { body: Buffer; ids: Buffer } {
  const body = Buffer.allocUnsafe(source.body.length);
  source.body.copy(body);
  const random = randomFillSync(Buffer.allocUnsafe(ID_BYTES));
  if (continuing !== undefined) continuing.copy(random, CONTINUED_TRACES * 16, 0, CONTINUED_TRACES * 16);
  const write = (offsets: number[], start: number, length: number) => {
    const id = random.subarray(start, start + length);
    if (source.format === "protobuf") for (const offset of offsets) id.copy(body, offset);
    else {
      const hex = id.toString("hex");
      for (const offset of offsets) body.write(hex, offset, "latin1");
    }
  };
  source.traceIdOffsets.forEach((offsets, index) => write(offsets, index * 16, 16));
  const spanBase = TRACES_PER_REQUEST * 16;
  source.spanIdOffsets.forEach((offsets, index) => write(offsets, spanBase + index * 8, 8));
  return { body, ids: random };
}
