import { describe, expect, it } from "vitest";
import { otelObjectKey } from "../../src/model/blob-keys.js";
import { ForbiddenError, InvalidDataError, UnauthenticatedError } from "../../src/pipeline/errors.js";
import { ExportGroup } from "../../src/pipeline/export.js";
import { FanoutConsumer } from "../../src/pipeline/fanout.js";
import type { ConsumeResult, PayloadConsumer, RequestContext, TracePayload } from "../../src/pipeline/payload.js";
import { spanIdText } from "../../src/model/span-ids.js";
import { OtlpTraceRequest } from "../../src/otlp/trace-request.js";
import { SpanBatch } from "../../src/pipeline/span-batch.js";
import { checkOtelExport } from "../../src/processors/validate/otel-spans.js";
import { decodeProtobufTraceRequest } from "../../src/otlp/codec.js";
import { transcodeTraceRequest, Unsupported } from "../../src/otlp/protobuf-json.js";
import { BufferPool } from "../../src/pipeline/buffer-pool.js";
import { resourceSpans as requestOf, span as spanOf, toProtobuf } from "../support/otlp.js";
import { DeadLetters } from "../../src/spool/dead-letters.js";
import { decodeRecord, encodeRecord } from "../../src/spool/record-codec.js";

const CONTEXT: RequestContext = { receiver: "test", transport: "http", source: "otel", authorization: undefined, sdkName: "unknown", sdkVersion: "unknown", ingestionVersion: "" };

function exportOf(...scopes: Array<Array<Record<string, unknown>>>): unknown[] {
  return [{ resource: { attributes: [] }, scopeSpans: scopes.map((spans, index) => ({ scope: { name: `lib-${index}` }, spans })) }];
}

const good = (traceId: string, spanId: string) => ({ traceId, spanId, name: "op" });

describe("Langfuse's check of raw OTLP exports", () => {
  it("accepts ids as hex strings and in the byte forms Langfuse reads", () => {
    expect(() =>
      checkOtelExport(
        exportOf([
          good("aa", "bb"),
          { traceId: new Uint8Array([1, 2]), spanId: [3, 4], parentSpanId: { type: "Buffer", data: [5] } },
          { traceId: "aa", spanId: "cc", parentSpanId: "" },
        ]),
      ),
    ).not.toThrow();
  });

  it("rejects the whole export, counting spans and naming each kind of problem and the scopes", () => {
    const resourceSpans = exportOf(
      [good("aa", "bb"), { traceId: "aa" }, { traceId: null, spanId: 7 }],
      [{ traceId: "aa", spanId: "cc", attributes: { key: "x" } }, { traceId: "aa", spanId: "dd", events: [{ attributes: "no" }] }],
    );
    let error: unknown;
    try {
      checkOtelExport(resourceSpans);
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(InvalidDataError);
    expect((error as Error).message).toBe(
      "Invalid OTLP trace export: 4 of 5 span(s) cannot be processed (spanId:absent x1, traceId:absent x1, spanId:not_an_id x1, attributes:not_an_array x1, events.attributes:not_an_array x1). " +
        "Every span needs a traceId and a spanId; an exporter of OpenTelemetry logs or metrics pointed at the traces endpoint sends none. " +
        "The entire export was rejected and no spans were ingested. Instrumentation scopes: lib-0, lib-1.",
    );
  });

  it("rejects lists that are not lists at the resource and scope level", () => {
    expect(() => checkOtelExport([{ scopeSpans: {} }])).toThrow("scopeSpans:not_an_array");
    expect(() => checkOtelExport([{ scopeSpans: [{ spans: "x" }] }])).toThrow("spans:not_an_array");
    expect(() => checkOtelExport([{ resource: { attributes: 1 }, scopeSpans: [] }])).toThrow("resource.attributes:not_an_array");
    expect(() => checkOtelExport([null])).toThrow("resourceSpans[]:not_an_object");
  });
});

describe("SpanBatch", () => {
  it("removes spans, and the scopes and resources they leave empty, without touching what stays", () => {
    const resourceSpans = [
      { resource: { r: 1 }, scopeSpans: [{ scope: { name: "a" }, spans: [good("t1", "s1"), good("t2", "s2")] }, { scope: { name: "b" }, spans: [good("t2", "s3")] }] },
      { resource: { r: 2 }, scopeSpans: [{ scope: { name: "c" }, spans: [good("t1", "s4")] }] },
    ];
    const untouched = structuredClone(resourceSpans);
    const batch = new SpanBatch(CONTEXT, OtlpTraceRequest.fromObjects(resourceSpans));
    expect(batch.spanCount).toBe(4);
    expect(batch.retainByTraceId((traceId) => traceId === "t1")).toBe(2);
    expect(batch.spanCount).toBe(2);
    expect(batch.resourceSpans).toEqual([
      { resource: { r: 1 }, scopeSpans: [{ scope: { name: "a" }, spans: [good("t1", "s1")] }] },
      { resource: { r: 2 }, scopeSpans: [{ scope: { name: "c" }, spans: [good("t1", "s4")] }] },
    ]);
    // The request's own objects are not edited: a fanout copy or a retry sees the original.
    expect(resourceSpans).toEqual(untouched);
    expect(batch.resourceSpans[1]).toBe(resourceSpans[1]);
  });

  it("walks malformed structures without throwing", () => {
    const batch = new SpanBatch(CONTEXT, OtlpTraceRequest.fromObjects([null, 3, { scopeSpans: "x" }, { scopeSpans: [null, { spans: {} }] }]));
    expect(batch.spanCount).toBe(0);
    expect(() => batch.retainByTraceId(() => false)).not.toThrow();
  });

  it("reads ids the way Langfuse's worker does", () => {
    expect(spanIdText("0aF7")).toBe("0aF7");
    expect(spanIdText(Buffer.from("0af7", "hex"))).toBe("0af7");
    expect(spanIdText({ type: "Buffer", data: [10, 247] })).toBe("0af7");
    expect(spanIdText([10, 247])).toBe("0af7");
    expect(spanIdText([300])).toBeUndefined();
    expect(spanIdText(12)).toBeUndefined();
  });
});

describe("raw export objects", () => {
  it("are keyed as Langfuse's web container keys them, in UTC", () => {
    const key = otelObjectKey("events/", "p1", new Date("2026-03-04T05:06:59.999Z"), "5b3c2c9e-0000-4000-8000-000000000001");
    expect(key).toEqual({
      bucketPrefix: "events/otel/p1/2026/03/04/05/06/",
      fileKey: "5b3c2c9e-0000-4000-8000-000000000001",
      objectKey: "events/otel/p1/2026/03/04/05/06/5b3c2c9e-0000-4000-8000-000000000001.json",
    });
    // The worker's own parse rule for these keys.
    expect(/^otel\/([^/]+)\/(\d{4})\/(\d{2})\/(\d{2})\/(\d{2})\/(\d{2})\/([^.]+)\.json$/.test(key.objectKey.slice("events/".length))).toBe(true);
  });

  it("keep their key through the spool and the dead-letter file, so a retry writes the same object", () => {
    const group = ExportGroup.fromResourceSpansJson(Buffer.from(JSON.stringify(exportOf([good("aa", "bb"), good("aa", "cc")]))), 2, Date.UTC(2026, 0, 2, 3, 4));
    const keyBefore = group.objectKey("", "p1", 2048).objectKey;
    const context = { ...CONTEXT, authorization: undefined, scope: { projectId: "p1", accessLevel: "project" as const, publicKey: "pk" } };
    const [restored] = decodeRecord(Buffer.concat(encodeRecord({ context, groups: [group] }))).groups;
    expect(restored!.objectKey("", "p1", 2048).objectKey).toBe(keyBefore);
    expect(restored!.entityType).toBe("otel");
    expect(restored!.eventCount).toBe(2);
    expect(restored!.body.equals(group.body)).toBe(true);

    const file = { deadLetteredAt: "", context, groups: [{ entityType: group.entityType, eventBodyId: "", firstEventId: group.firstEventId, firstEventType: "", exporter: "s3", reason: "x", events: JSON.parse(group.body.toString()) as unknown[], count: 2, receivedAt: group.receivedAt }] };
    const [replayed] = DeadLetters.toRecord(file).groups;
    expect(replayed!.objectKey("", "p1", 2048).objectKey).toBe(keyBefore);
    expect(replayed!.body.equals(group.body)).toBe(true);
  });
});

describe("routing by what a request carries", () => {
  function recorder(name: string, seen: string[], refusal?: Error): PayloadConsumer {
    return {
      admit: () => {},
      authenticate: async (_context, kind) => {
        seen.push(`${name}:authenticate ${kind}`);
        if (refusal) throw refusal;
      },
      consume: async (payload: TracePayload): Promise<ConsumeResult> => {
        seen.push(`${name}:${payload.kind}`);
        return { itemCount: 1, rejections: [], ignored: new Set() };
      },
    };
  }
  const otlp: TracePayload = { kind: "otlp", request: OtlpTraceRequest.fromObjects([]) };
  const batch: TracePayload = { kind: "ingestion", events: [] };

  it("sends spans to otel pipelines when there are any, batches to events pipelines", async () => {
    const seen: string[] = [];
    const fanout = new FanoutConsumer([
      { type: "events", consumer: recorder("events", seen) },
      { type: "otel", consumer: recorder("otel", seen) },
    ]);
    await fanout.consume(otlp, CONTEXT);
    await fanout.consume(batch, CONTEXT);
    expect(seen).toEqual(["otel:otlp", "events:ingestion"]);
  });

  it("converts spans in events pipelines when the receiver feeds no otel pipeline", async () => {
    const seen: string[] = [];
    const fanout = new FanoutConsumer([{ type: "events", consumer: recorder("events", seen) }]);
    await fanout.consume(otlp, CONTEXT);
    expect(seen).toEqual(["events:otlp"]);
  });

  it("asks the pipelines that would take the payload to check the credentials; the worst refusal answers", async () => {
    const seen: string[] = [];
    const fanout = new FanoutConsumer([
      { type: "events", consumer: recorder("events", seen) },
      { type: "otel", consumer: recorder("otel", seen, new UnauthenticatedError("Invalid credentials")) },
      { type: "otel", consumer: recorder("otel2", seen, new ForbiddenError("scores only")) },
    ]);
    await expect(fanout.authenticate(CONTEXT, "otlp")).rejects.toBeInstanceOf(UnauthenticatedError);
    await fanout.authenticate(CONTEXT, "ingestion");
    expect(seen).toEqual(["otel:authenticate otlp", "otel2:authenticate otlp", "events:authenticate ingestion"]);
  });

  it("refuses native batches with a clear error when only otel pipelines listen", async () => {
    const fanout = new FanoutConsumer([{ type: "otel", consumer: recorder("otel", []) }]);
    await expect(fanout.consume(batch, CONTEXT)).rejects.toThrow(/feeds only otel pipelines .* add an events pipeline/);
  });

  it("gives every further otel pipeline JSON bytes of its own, so the first one's spool may reuse the received body", async () => {
    const data = requestOf([spanOf({ traceId: "ab".repeat(16), spanId: "cd".repeat(8), name: "kept" })]);
    const body = Buffer.from(JSON.stringify({ resourceSpans: data }));
    const stored: Buffer[] = [];
    const storing: PayloadConsumer = {
      admit: () => {},
      authenticate: async () => {},
      consume: async (payload) => {
        if (payload.kind !== "otlp") throw new Error("spans only");
        stored.push(new SpanBatch(CONTEXT, payload.request).serialise());
        return { itemCount: 1, rejections: [], ignored: new Set(), projectId: "p" };
      },
    };
    const fanout = new FanoutConsumer([
      { type: "otel", consumer: storing },
      { type: "otel", consumer: storing },
    ]);
    await fanout.consume({ kind: "otlp", request: OtlpTraceRequest.fromJson(body) }, CONTEXT);
    expect(stored).toHaveLength(2);
    // What the spool does once the first pipeline's record is exported: the buffer is zeroed for reuse.
    body.fill(0);
    expect(stored[0]!.every((byte) => byte === 0)).toBe(true);
    expect(JSON.parse(stored[1]!.toString("utf8"))).toEqual(data);
  });
});

describe("the protobuf → JSON transcoder's refusals", () => {
  /** A request whose span name is "MARKER", with those six bytes replaced by six others. */
  function withName(bytes: number[]): Buffer {
    const encoded = Buffer.from(toProtobuf(requestOf([spanOf({ name: "MARKER" })])));
    encoded.set(bytes, encoded.indexOf("MARKER"));
    return encoded;
  }

  it("leaves invalid UTF-8 and a leading byte-order mark to the object path, which refuses or decodes them as protobufjs does", () => {
    const context = { ...CONTEXT };
    for (const [bytes, reason] of [
      [[0x4d, 0xff, 0x4b, 0x45, 0x52, 0x53], "invalid UTF-8"],
      [[0xef, 0xbb, 0xbf, 0x41, 0x42, 0x43], "BOM"],
    ] as const) {
      const body = withName([...bytes]);
      expect(() => transcodeTraceRequest(body)).toThrow(new Unsupported(reason));
      let reference: unknown;
      try {
        reference = JSON.parse(JSON.stringify(decodeProtobufTraceRequest(body)));
      } catch (error) {
        // protobufjs refuses invalid UTF-8: so does the raw path, with the same 400.
        expect(error).toBeInstanceOf(InvalidDataError);
        expect(() => new SpanBatch(context, OtlpTraceRequest.fromProtobuf(body))).toThrow(InvalidDataError);
        continue;
      }
      const batch = new SpanBatch(context, OtlpTraceRequest.fromProtobuf(body));
      expect(JSON.parse(batch.serialise().toString("utf8"))).toEqual(reference);
    }
    // Valid non-ASCII text is copied as it is.
    const accented = withName([...Buffer.from("cafés")]);
    expect(JSON.parse(transcodeTraceRequest(accented).json.toString("utf8"))[0].scopeSpans[0].spans[0].name).toBe("cafés");
  });

  it("gives each result its own bytes: the next request, small or large, does not change an earlier one", () => {
    const request = (name: string) => Buffer.from(toProtobuf(requestOf([spanOf({ name })])));
    const first = transcodeTraceRequest(request("first")).json;
    const firstText = first.toString("utf8");
    // Same size, other bytes.
    const second = transcodeTraceRequest(request("other")).json;
    // Large: a buffer sized from a much larger body.
    const large = transcodeTraceRequest(request("x".repeat(600 * 1024))).json;
    const third = transcodeTraceRequest(request("third")).json;
    expect(first.toString("utf8")).toBe(firstText);
    expect(JSON.parse(second.toString("utf8"))[0].scopeSpans[0].spans[0].name).toBe("other");
    expect(JSON.parse(large.toString("utf8"))[0].scopeSpans[0].spans[0].name).toHaveLength(600 * 1024);
    expect(JSON.parse(third.toString("utf8"))[0].scopeSpans[0].spans[0].name).toBe("third");
    expect(JSON.parse(large.toString("utf8"))[0].scopeSpans[0].spans[0].name).toHaveLength(600 * 1024);
  });

  it("borrows its output from a pool, gives back what it outgrew, and everything when the request takes the object path", () => {
    const pool = new BufferPool({ minBytes: 1024, maxBytes: 4 * 1024 * 1024, maxFreeBytes: 8 * 1024 * 1024 });
    // Grows past its first guess: the smaller buffer goes back at once.
    const attributes = Object.fromEntries(Array.from({ length: 3000 }, (_, index) => [`k${index}`, index]));
    const wide = Buffer.from(toProtobuf(requestOf([spanOf({ name: "wide", attributes })])));
    const { json } = transcodeTraceRequest(wide, pool);
    expect(JSON.parse(json.toString("utf8"))).toEqual(decodeProtobufTraceRequest(wide));
    const outgrown = pool.freeBytes;
    expect(outgrown).toBeGreaterThan(0);
    // The result is the pool's: given back, it is zeroed and lent out again.
    pool.give(json);
    expect(pool.freeBytes).toBeGreaterThan(outgrown);
    expect(json.every((byte) => byte === 0)).toBe(true);
    // A refused body gives back its output whole.
    const before = pool.freeBytes;
    const invalid = Buffer.from(toProtobuf(requestOf([spanOf({ name: "MARKER".repeat(400) })])));
    invalid.set([0xff], invalid.indexOf("MARKER"));
    expect(() => transcodeTraceRequest(invalid, pool)).toThrow(new Unsupported("invalid UTF-8"));
    expect(pool.freeBytes).toBe(before);
    const after = transcodeTraceRequest(Buffer.from(toProtobuf(requestOf([spanOf({ name: "x".repeat(3000) })]))), pool);
    expect(JSON.parse(after.json.toString("utf8"))[0].scopeSpans[0].spans[0].name).toBe("x".repeat(3000));
    expect(pool.freeBytes).toBeLessThan(before);
  });

  it("writes JSON many times the size of its protobuf whole (the output buffer grows past its first guess)", () => {
    // 3,000 one-letter integer attributes: ~8 bytes each in protobuf, ~40 in JSON.
    const attributes = Object.fromEntries(Array.from({ length: 3000 }, (_, index) => [`k${index}`, index]));
    const body = Buffer.from(toProtobuf(requestOf([spanOf({ name: "wide", attributes })])));
    const { json } = transcodeTraceRequest(body);
    expect(json.length).toBeGreaterThan(body.length * 3);
    expect(JSON.parse(json.toString("utf8"))).toEqual(decodeProtobufTraceRequest(body));
  });
});
