/**
 * Differential cases against Langfuse's own OTel converter.
 *
 * Each file in `cases/` holds inputs and expected outputs taken, as facts, from Langfuse's
 * converter tests and source (the `from` field names where). A case is an OTLP/JSON
 * `resourceSpans` array and what Langfuse's `processToIngestionEvents` gives for it. Every case
 * runs twice, as Langfuse receives it:
 *
 * - `json`: the body `{"resourceSpans": …}` through the daemon's OTLP/JSON decoding;
 * - `protobuf`: the same spans encoded as an OTLP protobuf request (hex ids become bytes) through
 *   the daemon's protobuf decoding. Langfuse reads a protobuf request as `toObject` + JSON, so for
 *   spans that protobuf can carry the expected events are the same; where Langfuse's own result
 *   differs for protobuf, `protobufExpect` gives it.
 *
 * Cases whose input protobuf cannot carry (ids that are not hex, numbers where OTLP has strings,
 * attributes that are not lists, …) list only `"encodings": ["json"]`.
 *
 * The case format:
 *
 * ```json
 * {
 *   "from": "langfuse v4.16.0 <path of the test or source file>",
 *   "cases": [{
 *     "name": "unique, says what is checked",
 *     "langfuseTest": "the title of Langfuse's test it comes from (omit when taken from source)",
 *     "resourceSpans": [ … OTLP/JSON … ],
 *     "seenTraces": ["trace ids Redis already knows"],
 *     "encodings": ["json", "protobuf"],
 *     "expect": {
 *       "types": ["trace-create", "generation-create"],
 *       "events": [{
 *         "type": "generation-create",
 *         "nth": 0,
 *         "body": { … matched like expect().toMatchObject … },
 *         "equal": [{ "path": ["usageDetails"], "value": { … exactly, like toEqual … } }],
 *         "absent": [["usageDetails", "input_cache_read"]]
 *       }]
 *     },
 *     "protobufExpect": { … the same shape, replaces `expect` for the protobuf run … },
 *     "deliberateDifference": "why this daemon does not do what Langfuse does (docs/langfuse-compatibility.md, Differences from Langfuse)",
 *     "langfuseExpect": { … what Langfuse gives, kept for the record when the case is a deliberate difference … }
 *   }]
 * }
 * ```
 *
 * `types` (optional) is the exact list of event types in order; `rejectedSpans` (optional) the
 * number of spans refused before conversion (reported to the client in `partial_success`; where
 * Langfuse gives no events for a span, refusing it is the same outcome, so it is not checked
 * unless given). Each entry of `events` picks the
 * `nth` (default 0) event of its type; `body` must match partially (objects may have more keys,
 * arrays must match element for element), each `equal` path must hold exactly that value (undefined
 * keys are ignored, as toEqual does), and each `absent` path must be undefined.
 */
import { readdirSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { expect } from "vitest";
import { convertResourceSpans } from "../../src/conversion/convert.js";
import { ExportTraceServiceRequest } from "../../src/otlp/schema.js";
import { OtlpTraceRequest } from "../../src/otlp/trace-request.js";

export type Encoding = "json" | "protobuf";

export interface ExpectedEvent {
  type: string;
  nth?: number;
  body?: Record<string, unknown>;
  equal?: Array<{ path: string[]; value: unknown }>;
  absent?: string[][];
}

export interface Expectation {
  types?: string[];
  rejectedSpans?: number;
  events?: ExpectedEvent[];
}

export interface ParityCase {
  name: string;
  langfuseTest?: string;
  resourceSpans: unknown[];
  seenTraces?: string[];
  encodings?: Encoding[];
  expect: Expectation;
  protobufExpect?: Expectation;
  /** Set when this daemon deliberately differs from Langfuse here; `expect` is then this daemon's result. */
  deliberateDifference?: string;
  langfuseExpect?: Expectation;
}

export interface CaseFile {
  file: string;
  from: string;
  cases: ParityCase[];
}

const CASES_DIRECTORY = join(dirname(fileURLToPath(import.meta.url)), "cases");

export function loadCaseFiles(directory = CASES_DIRECTORY): CaseFile[] {
  return readdirSync(directory)
    .filter((name) => name.endsWith(".json"))
    .sort()
    .map((name) => {
      const parsed = JSON.parse(readFileSync(join(directory, name), "utf8")) as Omit<CaseFile, "file">;
      return { file: name, ...parsed };
    });
}

export interface ConvertedView {
  type: string;
  body: Record<string, unknown>;
}

export interface ConvertedCase {
  events: ConvertedView[];
  rejectedSpans: number;
}

const ID_FIELDS = new Set(["traceId", "spanId", "parentSpanId"]);

/** The OTLP/JSON spans with hex ids as bytes, ready for protobufjs's `fromObject`. */
function withByteIds(value: unknown, key?: string): unknown {
  if (typeof value === "string" && key !== undefined && ID_FIELDS.has(key)) {
    if (!/^([0-9a-fA-F]{2})*$/.test(value)) throw new Error(`${key} ${JSON.stringify(value)} is not hex: mark the case json-only`);
    return Buffer.from(value, "hex");
  }
  if (Array.isArray(value)) return value.map((item) => withByteIds(item));
  if (typeof value === "object" && value !== null) {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, withByteIds(v, k)]));
  }
  return value;
}

/** The case's spans as the daemon's receiver would hand them to an events pipeline. */
export function requestOf(resourceSpans: unknown[], encoding: Encoding): OtlpTraceRequest {
  if (encoding === "json") return OtlpTraceRequest.fromJson(Buffer.from(JSON.stringify({ resourceSpans })));
  return OtlpTraceRequest.fromProtobuf(protobufBody(resourceSpans));
}

/** The OTLP protobuf request for OTLP/JSON spans. */
export function protobufBody(resourceSpans: unknown[]): Buffer {
  const message = ExportTraceServiceRequest.fromObject({ resourceSpans: withByteIds(resourceSpans) });
  return Buffer.from(ExportTraceServiceRequest.encode(message).finish());
}

/**
 * Converts as an events pipeline does, then drops the shallow trace-creates of traces Redis has
 * seen (the seen-trace stage), which together equal Langfuse's `processToIngestionEvents`.
 */
export function convertCase(testCase: ParityCase, encoding: Encoding): ConvertedCase {
  const request = requestOf(testCase.resourceSpans, encoding);
  const seen = new Set(testCase.seenTraces ?? []);
  let n = 0;
  const result = convertResourceSpans(request.resourceSpans, { now: () => new Date("2024-05-01T12:00:00.000Z"), randomId: () => `e${++n}` });
  const events = result.events
    .filter((converted) => !(converted.shallowTrace && seen.has(converted.event.body.id as string)))
    .map((converted) => ({ type: converted.event.type, body: converted.event.body as Record<string, unknown> }));
  return { events, rejectedSpans: result.rejectedSpans.length };
}

function at(value: unknown, path: readonly string[]): unknown {
  let node = value;
  for (const key of path) {
    if (typeof node !== "object" || node === null || !Object.hasOwn(node, key)) return undefined;
    node = (node as Record<string, unknown>)[key];
  }
  return node;
}

/** Asserts the expectation; failures name the case's event and path. */
export function assertExpectation({ events, rejectedSpans }: ConvertedCase, expectation: Expectation): void {
  if (expectation.rejectedSpans !== undefined) expect(rejectedSpans, "spans refused").toBe(expectation.rejectedSpans);
  if (expectation.types !== undefined) {
    expect(events.map((event) => event.type), "event types in order").toEqual(expectation.types);
  }
  for (const expected of expectation.events ?? []) {
    const nth = expected.nth ?? 0;
    const event = events.filter((candidate) => candidate.type === expected.type)[nth];
    const label = `${expected.type} #${nth}`;
    expect(event, `${label} exists (got ${events.map((e) => e.type).join(", ") || "no events"})`).toBeDefined();
    const body = event!.body;
    if (expected.body !== undefined) expect(body, `${label} body`).toMatchObject(expected.body);
    for (const { path, value } of expected.equal ?? []) {
      expect(at(body, path), `${label} ${path.join(" › ")}`).toEqual(value);
    }
    for (const path of expected.absent ?? []) {
      expect(at(body, path), `${label} ${path.join(" › ")} is absent`).toBeUndefined();
    }
  }
}
