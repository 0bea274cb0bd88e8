import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { randomBytes } from "node:crypto";
import { nestsDeeperThan } from "../../src/model/nesting.js";
import { ExportTraceServiceResponse } from "../../src/otlp/schema.js";
import { basicAuth, TEST_KEYS } from "../support/daemon.js";
import { exportOverGrpc } from "../support/grpc.js";
import { anyValueBytes, exportRequestBytes, nestedArrayBytes, spanBytes } from "../support/protobuf-writer.js";
import { startRawPathStack, startStack, type TestStack } from "../support/stack.js";

/**
 * One nesting bound on every path: an ingestion event, or a span in its OTLP/JSON form, that nests
 * deeper than 128 levels is refused on its own (a per-event 400, a span in partial_success), in
 * OTLP/JSON, protobuf and gRPC, on the events and the raw path, at exactly the same depth; the
 * rest of the request lands. A value thousands of levels deep used to overflow the stack while the
 * batch was serialised and fail all of it with 500.
 */
let events: TestStack;
let raw: TestStack;

beforeAll(async () => {
  [events, raw] = await Promise.all([startStack(), startRawPathStack(["auth", "validate"])]);
});

afterAll(async () => {
  await Promise.all([events?.stop(), raw?.stop()]);
});

const hex = (bytes: number) => randomBytes(bytes).toString("hex");
const START = "1700000000000000000";
const END = "1700000001500000000";
const HOSTILE_LEVELS = 10_000;

type Value = Record<string, unknown>;
const arrays = (levels: number, leaf: Value): Value => {
  let value = leaf;
  for (let level = 0; level < levels; level += 1) value = { arrayValue: { values: [value] } };
  return value;
};

/** Four spans of one trace: ordinary, exactly 128 levels deep, exactly 129, and 10,000 (an array chain). */
function spansOf(traceId: string) {
  const ids = { good: hex(8), at: hex(8), past: hex(8), hostile: hex(8) };
  // span › attributes › KeyValue › AnyValue is 4 levels; each array level adds 3, a key-value level 4.
  const atBound = arrays(41, { arrayValue: {} });
  const pastBound = arrays(40, { kvlistValue: { values: [{ key: "k", value: { arrayValue: {} } }] } });
  const json = (spanId: string, value?: Value) => ({
    traceId,
    spanId,
    name: "op",
    startTimeUnixNano: START,
    endTimeUnixNano: END,
    attributes: value === undefined ? [] : [{ key: "nested", value }],
  });
  const spans = { good: json(ids.good), at: json(ids.at, atBound), past: json(ids.past, pastBound) };
  expect([nestsDeeperThan(spans.at, 128), nestsDeeperThan(spans.at, 127)]).toEqual([false, true]);
  expect([nestsDeeperThan(spans.past, 129), nestsDeeperThan(spans.past, 128)]).toEqual([false, true]);

  // The hostile span as text: as an object it would be too deep for JSON.stringify itself.
  const hostileValue = '{"arrayValue":{"values":['.repeat(HOSTILE_LEVELS) + '{"stringValue":"leaf"}' + "]}}".repeat(HOSTILE_LEVELS);
  const hostileJson = JSON.stringify(json(ids.hostile, { stringValue: "PLACEHOLDER" })).replace('{"stringValue":"PLACEHOLDER"}', hostileValue);
  const jsonBody = Buffer.from(
    `{"resourceSpans":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"svc"}}]},"scopeSpans":[{"scope":{"name":"my-lib"},"spans":[${[spans.good, spans.at, spans.past].map((span) => JSON.stringify(span)).join(",")},${hostileJson}]}]}]}`,
  );

  const protobufSpan = (spanId: string, value?: Buffer) =>
    spanBytes({ traceId, spanId, name: "op", startTimeUnixNano: START, endTimeUnixNano: END, attributes: value === undefined ? [] : [["nested", value]] });
  const protobufBody = exportRequestBytes([
    protobufSpan(ids.good),
    protobufSpan(ids.at, anyValueBytes(atBound)),
    protobufSpan(ids.past, anyValueBytes(pastBound)),
    protobufSpan(ids.hostile, nestedArrayBytes(HOSTILE_LEVELS)),
  ]);
  return { ids, jsonBody, protobufBody };
}

type Route = "http-json" | "http-protobuf" | "langfuse-json" | "grpc";

/** Sends the spans; answers the partial success the daemon reported. */
async function send(stack: TestStack, route: Route, body: { jsonBody: Buffer; protobufBody: Buffer }): Promise<{ rejectedSpans: number; errorMessage: string }> {
  if (route === "grpc") {
    const result = await exportOverGrpc(stack.daemon.url("otlp", "grpc"), body.protobufBody, { authorization: basicAuth() });
    expect(result.code).toBe(0);
    const decoded = ExportTraceServiceResponse.toObject(ExportTraceServiceResponse.decode(result.response!), { longs: Number }) as { partialSuccess?: { rejectedSpans: number; errorMessage: string } };
    return decoded.partialSuccess!;
  }
  const url = route === "langfuse-json" ? `${stack.daemon.url("langfuse")}/api/public/otel/v1/traces` : `${stack.daemon.url("otlp")}/v1/traces`;
  const isJson = route !== "http-protobuf";
  const response = await fetch(url, {
    method: "POST",
    headers: { authorization: basicAuth(), "content-type": isJson ? "application/json" : "application/x-protobuf" },
    body: isJson ? body.jsonBody : body.protobufBody,
  });
  expect(response.status).toBe(200);
  const answer = Buffer.from(await response.arrayBuffer());
  if (isJson) {
    const partial = (JSON.parse(answer.toString()) as { partialSuccess: { rejectedSpans: string; errorMessage: string } }).partialSuccess;
    return { rejectedSpans: Number(partial.rejectedSpans), errorMessage: partial.errorMessage };
  }
  return (ExportTraceServiceResponse.toObject(ExportTraceServiceResponse.decode(answer), { longs: Number }) as { partialSuccess: { rejectedSpans: number; errorMessage: string } }).partialSuccess;
}

const ROUTES: Route[] = ["http-json", "http-protobuf", "langfuse-json", "grpc"];

describe("the nesting bound on OTLP spans", () => {
  it.each(ROUTES)("events pipeline, %s: the spans past 128 levels are refused, the others become events", async (route) => {
    const traceId = hex(16);
    const request = spansOf(traceId);
    const partial = await send(events, route, request);
    expect(partial.rejectedSpans).toBe(2);
    expect(partial.errorMessage).toContain("nested deeper than 128 levels");
    const observations = await events.eventsUnder(`events/${TEST_KEYS.projectId}/observation/`);
    const stored = new Set(observations.filter((event) => event.body.traceId === traceId).map((event) => event.body.id));
    expect(stored).toEqual(new Set([request.ids.good, request.ids.at]));
  });

  it.each(ROUTES)("otel pipeline (raw path), %s: the stored object holds exactly the spans within the bound", async (route) => {
    const traceId = hex(16);
    const request = spansOf(traceId);
    const partial = await send(raw, route, request);
    expect(partial.rejectedSpans).toBe(2);
    expect(partial.errorMessage).toContain("nested deeper than 128 levels");
    const keys = await raw.s3.listKeys(`events/otel/${TEST_KEYS.projectId}/`);
    const stored: string[] = [];
    for (const key of keys) {
      const resourceSpans = await raw.s3.getJson<Array<{ scopeSpans: Array<{ spans: Array<{ traceId: string; spanId: string }> }> }>>(key);
      for (const span of resourceSpans.flatMap((resource) => resource.scopeSpans.flatMap((scope) => scope.spans))) {
        if (span.traceId === traceId) stored.push(span.spanId);
      }
    }
    expect(stored.sort()).toEqual([request.ids.good, request.ids.at].sort());
  });
});

describe("the nesting bound on ingestion events", () => {
  it("refuses each event past 128 levels with a 400 of its own and stores the rest", async () => {
    const nest = (levels: number): Value => {
      let value: Value = {};
      for (let level = 1; level < levels; level += 1) value = { a: value };
      return value;
    };
    const event = (id: string, metadata?: unknown) => ({ id, type: "trace-create", timestamp: new Date().toISOString(), body: { id: `trace-${id}`, name: "t", metadata } });
    // event › body › metadata: 128 levels in all, then 129.
    const atBound = event(hex(8), nest(126));
    const pastBound = event(hex(8), nest(127));
    expect([nestsDeeperThan(atBound, 128), nestsDeeperThan(atBound, 127)]).toEqual([false, true]);
    expect([nestsDeeperThan(pastBound, 129), nestsDeeperThan(pastBound, 128)]).toEqual([false, true]);
    const good = event(hex(8), { tier: "gold" });
    const hostileId = hex(8);
    const hostile = JSON.stringify(event(hostileId, "PLACEHOLDER")).replace('"PLACEHOLDER"', '{"a":'.repeat(HOSTILE_LEVELS) + "1" + "}".repeat(HOSTILE_LEVELS));
    const body = `{"batch":[${[good, atBound, pastBound].map((item) => JSON.stringify(item)).join(",")},${hostile}]}`;

    const response = await fetch(`${events.daemon.url("langfuse")}/api/public/ingestion`, {
      method: "POST",
      headers: { authorization: basicAuth(), "content-type": "application/json" },
      body,
    });
    expect(response.status).toBe(207);
    const answer = (await response.json()) as { successes: Array<{ id: string }>; errors: Array<{ id: string; status: number; error: string }> };
    expect(answer.successes.map((success) => success.id).sort()).toEqual([good.id, atBound.id].sort());
    expect(answer.errors.map((error) => [error.id, error.status, error.error]).sort()).toEqual(
      [
        [pastBound.id, 400, "event: nested deeper than 128 levels"],
        [hostileId, 400, "event: nested deeper than 128 levels"],
      ].sort(),
    );
    for (const stored of [good, atBound]) {
      expect(await events.s3.listKeys(`events/${TEST_KEYS.projectId}/trace/${stored.body.id}/`)).toHaveLength(1);
    }
  });
});
