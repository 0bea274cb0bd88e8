/**
 * Property-based fuzzing (fast-check) of the code that reads untrusted bytes: the OTLP protobuf
 * and JSON decoders, the span converter, the ingestion-event validator and the YAML config loader.
 * Each property is a promise the daemon relies on: bad input becomes a typed, reportable error
 * (never an unexpected exception that takes a request, or the process, down), and the speed-ups
 * never change a result.
 *
 * The seed is fixed so CI is deterministic; `npm run fuzz` hunts wider (a new seed, 20,000 runs
 * per property; `FUZZ_SEED` and `FUZZ_RUNS` override). A failure prints the shrunk counterexample
 * and the seed and path to replay it.
 */
import fc from "fast-check";
import { outcomeOf, type Outcome } from "../support/zod-outcome.js";
import { describe, expect, it } from "vitest";
import { z } from "zod";
import { ConfigError } from "../../src/config/problems.js";
import { loadConfigText } from "../../src/config/load.js";
import { convertResourceSpans } from "../../src/conversion/convert.js";
import { decodeJsonTraceRequest, decodeProtobufTraceRequest } from "../../src/otlp/codec.js";
import { parseLatin1JsonInPieces } from "../../src/otlp/json-pieces.js";
import { keptSpansText, transcodeTraceRequest, Unsupported } from "../../src/otlp/protobuf-json.js";
import { OtlpTraceRequest } from "../../src/otlp/trace-request.js";
import { SpanBatch } from "../../src/pipeline/span-batch.js";
import { ExportTraceServiceRequest } from "../../src/otlp/schema.js";
import { InvalidDataError } from "../../src/pipeline/errors.js";
import { jsonSchema, jsonSchemaReference } from "../../src/processors/validate/primitives.js";
import { createIngestionEventSchema, validateIngestionEvent } from "../../src/processors/validate/schema.js";
import { costDetails, costDetailsReference, usageDetails, usageDetailsReference } from "../../src/processors/validate/usage.js";
import { checkOtelExport } from "../../src/processors/validate/otel-spans.js";

const SEED = Number(process.env.FUZZ_SEED ?? 20261125);
const RUNS = Number(process.env.FUZZ_RUNS ?? 300);
const PARAMETERS = { seed: SEED, numRuns: RUNS };

/** Runs `body` and says how it ended: returned, or threw an error of a named class. */
function outcome(body: () => unknown): "returned" | string {
  try {
    body();
    return "returned";
  } catch (error) {
    return error instanceof Error ? error.constructor.name : typeof error;
  }
}

// ---------------------------------------------------------------------------------------------
// Generators
// ---------------------------------------------------------------------------------------------

const hexId = (bytes: number) => fc.uint8Array({ minLength: bytes, maxLength: bytes }).map((b) => Buffer.from(b).toString("hex"));
const nanos = fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }).map(String);

/** OTLP/JSON AnyValue, nesting bounded. */
const anyValue: fc.Arbitrary<unknown> = fc.letrec<{ value: unknown }>((tie) => ({
  value: fc.oneof(
    { depthSize: "small", withCrossShrink: true },
    fc.record({ stringValue: fc.string() }),
    fc.record({ intValue: fc.oneof(fc.integer(), nanos) }),
    fc.record({ doubleValue: fc.double() }),
    fc.record({ boolValue: fc.boolean() }),
    fc.record({ bytesValue: fc.base64String() }),
    fc.record({ arrayValue: fc.record({ values: fc.array(tie("value"), { maxLength: 3 }) }) }),
    fc.record({ kvlistValue: fc.record({ values: fc.array(fc.record({ key: fc.string(), value: tie("value") }), { maxLength: 3 }) }) }),
    fc.constant({}),
  ),
})).value;

/** Keys the converter actually looks at, so generated attributes reach its interesting branches. */
const attributeKey = fc.oneof(
  fc.constantFrom(
    "langfuse.observation.type",
    "langfuse.observation.input",
    "langfuse.observation.output",
    "langfuse.observation.model.name",
    "langfuse.observation.usage_details",
    "langfuse.observation.cost_details",
    "langfuse.observation.level",
    "langfuse.trace.name",
    "langfuse.trace.metadata",
    "langfuse.trace.tags",
    "langfuse.environment",
    "langfuse.internal.as_root",
    "langfuse.session.id",
    "langfuse.user.id",
    "gen_ai.request.model",
    "gen_ai.usage.input_tokens",
    "gen_ai.usage.output_tokens",
    "gen_ai.prompt.0.content",
    "gen_ai.completion.0.role",
    "gen_ai.input.messages",
    "llm.input_messages",
    "input.value",
    "output.value",
    "session.id",
    "user.id",
    "service.name",
    "deployment.environment.name",
  ),
  fc.string({ maxLength: 12 }),
);
const attributeValue = fc.oneof(anyValue, fc.record({ stringValue: fc.json({ maxDepth: 2 }) }));
const attributes = fc.array(fc.record({ key: attributeKey, value: attributeValue }), { maxLength: 6 });

const otlpSpan = fc.record(
  {
    traceId: fc.oneof(hexId(16), fc.string({ maxLength: 34 })),
    spanId: fc.oneof(hexId(8), fc.string({ maxLength: 18 })),
    parentSpanId: fc.oneof(hexId(8), fc.constant("")),
    name: fc.string({ maxLength: 20 }),
    kind: fc.integer({ min: -1, max: 7 }),
    startTimeUnixNano: fc.oneof(nanos, fc.integer(), fc.string({ maxLength: 5 })),
    endTimeUnixNano: fc.oneof(nanos, fc.integer()),
    attributes,
    events: fc.array(fc.record({ name: fc.string({ maxLength: 12 }), timeUnixNano: nanos, attributes }), { maxLength: 2 }),
    status: fc.record({ code: fc.integer({ min: 0, max: 3 }), message: fc.string({ maxLength: 8 }) }, { requiredKeys: [] }),
  },
  { requiredKeys: [] },
);

const otlpResourceSpans = fc.array(
  fc.record(
    {
      resource: fc.record({ attributes }, { requiredKeys: [] }),
      scopeSpans: fc.array(
        fc.record(
          {
            scope: fc.record({ name: fc.constantFrom("langfuse-sdk", "openinference", "x", ""), version: fc.string({ maxLength: 5 }) }),
            spans: fc.array(otlpSpan, { maxLength: 4 }),
          },
          { requiredKeys: [] },
        ),
        { maxLength: 2 },
      ),
    },
    { requiredKeys: [] },
  ),
  { maxLength: 2 },
);

/** The same requests with every attribute value a string. */
const stringAttributeSpans = otlpResourceSpans.chain((resourceSpans) =>
  fc.constant(
    JSON.parse(JSON.stringify(resourceSpans), (key, value: unknown) =>
      key === "attributes" && Array.isArray(value)
        ? value.map((a: { key: string; value: unknown }) => ({ key: a.key, value: { stringValue: JSON.stringify(a.value) } }))
        : value,
    ) as typeof resourceSpans,
  ),
);

/** Ids and attributes as they travel in protobuf (ids as bytes). */
function toProtobufShape(resourceSpans: unknown): unknown {
  return JSON.parse(JSON.stringify(resourceSpans), (key, value: unknown) => {
    if ((key === "traceId" || key === "spanId" || key === "parentSpanId") && typeof value === "string") {
      return /^(?:[0-9a-f]{2})*$/.test(value) ? Buffer.from(value, "hex") : Buffer.from(value);
    }
    // fixed64 fields take only numbers; the JSON-only oddities are tested through the JSON path.
    if (key.endsWith("UnixNano")) return typeof value === "number" ? Math.abs(value) : /^\d+$/.test(String(value)) ? value : 0;
    return value;
  });
}

/** Flipped bits, cuts and inserted bytes at arbitrary places of an encoded request. */
const mutation = fc.oneof(
  fc.record({ kind: fc.constant("flip" as const), at: fc.nat(), bits: fc.integer({ min: 1, max: 255 }) }),
  fc.record({ kind: fc.constant("cut" as const), at: fc.nat() }),
  fc.record({ kind: fc.constant("insert" as const), at: fc.nat(), bytes: fc.uint8Array({ minLength: 1, maxLength: 8 }) }),
);

function damaged(original: Buffer, mutations: ReadonlyArray<{ kind: "flip" | "cut" | "insert"; at: number; bits?: number; bytes?: Uint8Array }>): Buffer {
  let bytes = Buffer.from(original);
  for (const m of mutations) {
    if (bytes.length === 0) break;
    const at = m.at % bytes.length;
    if (m.kind === "flip") bytes[at] = bytes[at]! ^ m.bits!;
    else if (m.kind === "cut") bytes = bytes.subarray(0, at);
    else bytes = Buffer.concat([bytes.subarray(0, at), m.bytes!, bytes.subarray(at)]);
  }
  return bytes;
}

function encodeRequest(resourceSpans: unknown): Uint8Array {
  const message = ExportTraceServiceRequest.fromObject({ resourceSpans: toProtobufShape(resourceSpans) });
  return ExportTraceServiceRequest.encode(message).finish();
}

// ---------------------------------------------------------------------------------------------
// Decoders
// ---------------------------------------------------------------------------------------------

describe("OTLP decoders", () => {
  it("protobuf: random bytes decode or fail with InvalidDataError", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 512 }), (bytes) => {
        expect(["returned", InvalidDataError.name]).toContain(outcome(() => decodeProtobufTraceRequest(bytes)));
      }),
      PARAMETERS,
    );
  });

  it("protobuf: valid requests with flipped, cut or inserted bytes decode or fail with InvalidDataError", () => {
    fc.assert(
      fc.property(otlpResourceSpans, fc.array(mutation, { minLength: 1, maxLength: 4 }), (resourceSpans, mutations) => {
        const bytes = damaged(Buffer.from(encodeRequest(resourceSpans)), mutations);
        let decoded: unknown;
        const ended = outcome(() => {
          decoded = decodeProtobufTraceRequest(bytes);
        });
        expect(["returned", InvalidDataError.name]).toContain(ended);
        // Whatever decodes must convert without throwing: the converter's promise.
        if (ended === "returned") expect(outcome(() => convertResourceSpans(decoded))).toBe("returned");
      }),
      PARAMETERS,
    );
  });

  it("protobuf → JSON transcoder: an intact request gives exactly the object path's JSON", () => {
    fc.assert(
      fc.property(otlpResourceSpans, (resourceSpans) => {
        const bytes = Buffer.from(encodeRequest(resourceSpans));
        const reference = JSON.parse(JSON.stringify(decodeProtobufTraceRequest(bytes))) as unknown;
        const transcoded = transcodeTraceRequest(bytes);
        expect(JSON.parse(transcoded.json.toString("utf8"))).toEqual(reference);
        const spans = resourceSpans.flatMap((r) => (r.scopeSpans ?? []).flatMap((s) => s.spans ?? []));
        expect(transcoded.spans).toHaveLength(spans.length);
      }),
      PARAMETERS,
    );
  });

  it("protobuf → JSON transcoder: kept spans copied out of the text are the request without the others, and the marks name each span's parts", () => {
    fc.assert(
      fc.property(otlpResourceSpans, fc.infiniteStream(fc.boolean()), (resourceSpans, coins) => {
        const bytes = Buffer.from(encodeRequest(resourceSpans));
        const transcoded = transcodeTraceRequest(bytes);
        const kept = transcoded.spans.map(() => coins.next().value as boolean);
        // The reference: the same spans dropped from the parsed text, emptied scopes and resources with them.
        let index = 0;
        const reference = (JSON.parse(transcoded.json.toString("utf8")) as Array<{ scopeSpans?: Array<{ spans?: unknown[] }> }>).flatMap((resource) => {
          if (resource.scopeSpans === undefined) return [resource];
          const scopes = resource.scopeSpans.flatMap((scope) => {
            if (scope.spans === undefined) return [scope];
            const spans = scope.spans.filter(() => kept[index++]);
            return spans.length === 0 && scope.spans.length > 0 ? [] : [{ ...scope, spans }];
          });
          return scopes.length === 0 && resource.scopeSpans.length > 0 ? [] : [{ ...resource, scopeSpans: scopes }];
        });
        expect(JSON.parse(keptSpansText(transcoded, kept).toString("utf8"))).toEqual(reference);
        const objects = (JSON.parse(transcoded.json.toString("utf8")) as Array<{ scopeSpans?: Array<{ spans?: Array<Record<string, unknown>> }> }>).flatMap((resource) =>
          (resource.scopeSpans ?? []).flatMap((scope) => scope.spans ?? []),
        );
        transcoded.spans.forEach(({ marks }, position) => {
          const text = (range: readonly [number, number] | undefined) => (range === undefined ? undefined : JSON.parse(transcoded.json.toString("utf8", range[0], range[1])));
          expect(text(marks!.range)).toEqual(objects[position]);
          expect(text(marks!.name)).toEqual(objects[position]!.name);
          expect(text(marks!.status)).toEqual(objects[position]!.status);
          expect(marks!.spanId).toEqual(objects[position]!.spanId);
          expect(marks!.parentSpanId).toEqual(objects[position]!.parentSpanId);
        });
      }),
      PARAMETERS,
    );
  });

  it("protobuf → JSON transcoder: any Unicode text, control characters, quotes and backslashes survive exactly", () => {
    const text = fc.oneof(fc.string({ unit: "grapheme" }), fc.string({ unit: "binary-ascii" }), fc.constantFrom('"', "\\", "\u0000", "\u2028", "é\"\\\n\t\u0001😀"));
    const spanWithText = fc.record({ traceId: hexId(16), spanId: hexId(8), name: text, attributes: fc.array(fc.record({ key: text, value: fc.record({ stringValue: text }) }), { maxLength: 3 }) });
    fc.assert(
      fc.property(fc.array(spanWithText, { minLength: 1, maxLength: 4 }), text, (spans, scopeName) => {
        const bytes = Buffer.from(encodeRequest([{ scopeSpans: [{ scope: { name: scopeName }, spans }] }]));
        const reference = JSON.parse(JSON.stringify(decodeProtobufTraceRequest(bytes))) as unknown;
        let transcoded: string;
        try {
          transcoded = transcodeTraceRequest(bytes).json.toString("utf8");
        } catch (error) {
          // Only a leading byte-order mark, which protobufjs drops, is left to the object path.
          expect((error as Error).message).toBe("BOM");
          return;
        }
        expect(JSON.parse(transcoded)).toEqual(reference);
      }),
      PARAMETERS,
    );
  });

  it("protobuf → JSON transcoder: on damaged bytes it either refuses or agrees with the object path", () => {
    fc.assert(
      fc.property(otlpResourceSpans, fc.array(mutation, { minLength: 1, maxLength: 3 }), (resourceSpans, mutations) => {
        const bytes = damaged(Buffer.from(encodeRequest(resourceSpans)), mutations);
        let transcoded: string;
        try {
          transcoded = transcodeTraceRequest(bytes).json.toString("utf8");
        } catch (error) {
          // Refusing is always allowed: the pipeline then takes the object path.
          expect(error).toBeInstanceOf(Unsupported);
          return;
        }
        const reference = JSON.parse(JSON.stringify(decodeProtobufTraceRequest(bytes))) as unknown;
        expect(JSON.parse(transcoded)).toEqual(reference);
      }),
      PARAMETERS,
    );
  });

  it("protobuf → JSON transcoder: sampling by trace id keeps the same spans, scopes and resources as on objects", () => {
    fc.assert(
      fc.property(otlpResourceSpans, fc.integer({ min: 0, max: 3 }), (resourceSpans, salt) => {
        const bytes = Buffer.from(encodeRequest(resourceSpans));
        const keep = (traceId: string | undefined) => traceId === undefined || (traceId.length + salt) % 3 !== 0;
        const context = { receiver: "t", transport: "http" as const, source: "otel" as const, authorization: undefined, sdkName: "", sdkVersion: "", ingestionVersion: "" };
        const onObjects = new SpanBatch(context, OtlpTraceRequest.fromObjects(decodeProtobufTraceRequest(bytes)));
        const onBytes = new SpanBatch(context, OtlpTraceRequest.fromProtobuf(bytes));
        expect(onBytes.retainByTraceId(keep)).toBe(onObjects.retainByTraceId(keep));
        expect(onBytes.spanCount).toBe(onObjects.spanCount);
        expect(JSON.parse(onBytes.serialise().toString("utf8"))).toEqual(JSON.parse(onObjects.serialise().toString("utf8")));
      }),
      PARAMETERS,
    );
  });

  it("protobuf: an intact request round-trips every span to the converter", () => {
    fc.assert(
      fc.property(otlpResourceSpans, (resourceSpans) => {
        const spans = resourceSpans.flatMap((r) => (r.scopeSpans ?? []).flatMap((s) => s.spans ?? []));
        const result = convertResourceSpans(decodeProtobufTraceRequest(encodeRequest(resourceSpans)));
        expect(result.spanCount).toBe(spans.length);
      }),
      PARAMETERS,
    );
  });

  it("compact JSON: reading only the structure counts, checks and samples as the decoded objects do, and stores what was received", () => {
    const unicode = fc.string({ unit: "grapheme", maxLength: 6 });
    // Well-formed requests with non-ASCII text and arbitrary JSON (wrong types where lists or ids belong).
    const requests = fc.oneof(
      otlpResourceSpans.chain((resourceSpans) =>
        fc.tuple(unicode, unicode).map(([scopeName, text]) =>
          JSON.parse(JSON.stringify(resourceSpans), (key, value: unknown) => (key === "name" && value === "x" ? scopeName : key === "version" ? text : value)) as unknown[],
        ),
      ),
      fc.array(fc.jsonValue({ maxDepth: 4, stringUnit: "grapheme" }), { maxLength: 3 }),
    );
    fc.assert(
      fc.property(requests, fc.integer({ min: 0, max: 3 }), (resourceSpans, salt) => {
        const json = JSON.stringify({ resourceSpans });
        const context = { receiver: "t", transport: "http" as const, source: "otel" as const, authorization: undefined, sdkName: "", sdkVersion: "", ingestionVersion: "" };
        const onObjects = new SpanBatch(context, OtlpTraceRequest.fromObjects(JSON.parse(json).resourceSpans as unknown[]));
        const onStructure = new SpanBatch(context, OtlpTraceRequest.fromJson(Buffer.from(json)));
        expect(onStructure.spanCount).toBe(onObjects.spanCount);
        const refusal = (batch: SpanBatch) => {
          try {
            batch.check(checkOtelExport);
            return undefined;
          } catch (error) {
            return `${(error as Error).constructor.name}: ${(error as Error).message}`;
          }
        };
        const expected = refusal(onObjects);
        // The same refusal, word for word (scope names decoded).
        expect(refusal(onStructure)).toBe(expected);
        if (expected !== undefined) return;
        expect(onStructure.serialise().toString("utf8")).toBe(JSON.stringify(resourceSpans));
        const keep = (traceId: string | undefined) => traceId === undefined || (traceId.length + salt) % 3 !== 0;
        expect(onStructure.retainByTraceId(keep)).toBe(onObjects.retainByTraceId(keep));
        expect(JSON.parse(onStructure.serialise().toString("utf8"))).toEqual(JSON.parse(onObjects.serialise().toString("utf8")));
      }),
      PARAMETERS,
    );
  });

  it("json: any text parses or fails with InvalidDataError", () => {
    const text = fc.oneof(fc.string(), fc.json(), fc.jsonValue().map((v) => JSON.stringify({ resourceSpans: v })));
    fc.assert(
      fc.property(text, (body) => {
        expect(["returned", InvalidDataError.name]).toContain(outcome(() => decodeJsonTraceRequest(Buffer.from(body))));
      }),
      PARAMETERS,
    );
  });

  it("json: the bytes kept for the raw path are exactly the array the body holds", () => {
    // Compact bodies, bodies with a repeated key or trailing members, and arbitrary text after the prefix.
    const text = fc.oneof(
      fc.jsonValue().map((v) => JSON.stringify({ resourceSpans: v })),
      fc.tuple(fc.array(fc.jsonValue({ maxDepth: 2 })), fc.jsonValue({ maxDepth: 2 })).map(([a, b]) => `{"resourceSpans":${JSON.stringify(a)},"resourceSpans":${JSON.stringify(b)}}`),
      fc.tuple(fc.array(fc.jsonValue({ maxDepth: 2 })), fc.string()).map(([a, tail]) => `{"resourceSpans":${JSON.stringify(a)}${tail}}`),
      fc.string().map((tail) => `{"resourceSpans":[${tail}]}`),
    );
    /** What a JSON request yields, asking for the stored bytes first or for the objects first. */
    const decode = (body: string, bytesFirst: boolean) => {
      const request = OtlpTraceRequest.fromJson(Buffer.from(body));
      if (bytesFirst) {
        const json = request.json;
        return { resourceSpans: request.resourceSpans, json };
      }
      const resourceSpans = request.resourceSpans;
      return { resourceSpans, json: request.json };
    };
    fc.assert(
      fc.property(text, fc.boolean(), (body, bytesFirst) => {
        let reference: unknown;
        try {
          reference = decodeJsonTraceRequest(Buffer.from(body));
        } catch {
          expect(() => decode(body, bytesFirst)).toThrow(InvalidDataError);
          return;
        }
        const { resourceSpans, json } = decode(body, bytesFirst);
        expect(resourceSpans).toEqual(reference);
        if (json !== undefined) expect(JSON.parse(json.toString("utf8"))).toEqual(reference);
      }),
      PARAMETERS,
    );
    // The repeated key: JSON.parse keeps the last value; the cut-out bytes would hold both.
    for (const bytesFirst of [true, false]) {
      expect(decode('{"resourceSpans":[1],"resourceSpans":[2]}', bytesFirst)).toEqual({ resourceSpans: [2], json: undefined });
      expect(decode('{"resourceSpans":[{"a":"\\u00e9"}]}', bytesFirst).json?.toString()).toBe('[{"a":"\\u00e9"}]');
    }
  });

  it("json: parsing spans one by one gives JSON.parse's result or its refusal, on intact and damaged exports", () => {
    // Spans at the depth the piecewise parse splits at, with any JSON inside and around them,
    // then a byte flipped, cut or inserted anywhere (often a quote, backslash or bracket).
    const exportText = fc
      .tuple(fc.array(fc.jsonValue({ maxDepth: 3 }), { maxLength: 6 }), fc.jsonValue({ maxDepth: 2 }))
      .map(([spans, extra]) => JSON.stringify([{ resource: extra, scopeSpans: [{ scope: { name: "s" }, spans: spans.map((value) => ({ value })) }, { spans }] }]));
    const damage = fc.oneof(
      fc.constant((text: Buffer) => text),
      fc.tuple(fc.nat(), fc.constantFrom(0x22, 0x5c, 0x7b, 0x7d, 0x5b, 0x5d, 0x2c, 0x3a, 0x20, 0x01, 0xe9)).map(
        ([at, byte]) => (text: Buffer) => Buffer.concat([text.subarray(0, at % (text.length + 1)), Buffer.from([byte]), text.subarray(at % (text.length + 1))]),
      ),
      fc.nat().map((at) => (text: Buffer) => Buffer.concat([text.subarray(0, at % text.length), text.subarray((at % text.length) + 1)])),
    );
    fc.assert(
      fc.property(exportText, damage, fc.integer({ min: 0, max: 64 }), (text, damageOf, maxString) => {
        const bytes = damageOf(Buffer.from(text, "utf8"));
        expect(outcome(() => parseLatin1JsonInPieces(bytes, maxString))).toEqual(outcome(() => JSON.parse(bytes.toString("latin1"))));
        let expected: unknown;
        try {
          expected = JSON.parse(bytes.toString("latin1"));
        } catch {
          return;
        }
        expect(parseLatin1JsonInPieces(bytes, maxString)).toEqual(expected);
      }),
      PARAMETERS,
    );
  });
});

// ---------------------------------------------------------------------------------------------
// Converter
// ---------------------------------------------------------------------------------------------

describe("span converter", () => {
  it("never throws on arbitrary values, and accounts for every span it is given", () => {
    const input = fc.oneof(fc.anything({ maxDepth: 4 }), otlpResourceSpans, otlpResourceSpans.map((r) => JSON.parse(JSON.stringify(r)) as unknown));
    fc.assert(
      fc.property(input, (resourceSpans) => {
        let result: ReturnType<typeof convertResourceSpans> | undefined;
        expect(outcome(() => (result = convertResourceSpans(resourceSpans)))).toBe("returned");
        const rejected = new Set(result!.rejectedSpans.map((r) => r.spanIndex));
        const converted = new Set(result!.events.map((e) => e.spanIndex));
        for (const index of rejected) expect(converted.has(index)).toBe(false);
        for (const index of [...rejected, ...converted]) expect(index).toBeLessThan(result!.spanCount);
      }),
      PARAMETERS,
    );
  });

  // With string attribute values, as SDKs send them. A typed value where Langfuse expects a string
  // (an array as langfuse.trace.name, say) is passed through as Langfuse does, and validation then
  // drops that event: a documented difference of input, not of conversion.
  it("every event it emits from string attributes passes the ingestion validator", () => {
    fc.assert(
      fc.property(stringAttributeSpans, (resourceSpans) => {
        const result = convertResourceSpans(resourceSpans);
        for (const { event } of result.events) {
          const validation = validateIngestionEvent(JSON.parse(JSON.stringify(event)));
          if (!validation.ok) expect({ event, error: validation.error }).toBeUndefined();
        }
      }),
      PARAMETERS,
    );
  });
});

// ---------------------------------------------------------------------------------------------
// Ingestion validator: fast paths and compiled schema against the plain zod definitions
// ---------------------------------------------------------------------------------------------

const EVENT_TYPES = [
  "trace-create",
  "span-create",
  "span-update",
  "generation-create",
  "generation-update",
  "event-create",
  "score-create",
  "sdk-log",
  "observation-create",
  "observation-update",
  "agent-create",
  "tool-create",
  "dataset-run-item-create",
  "nope",
];
const BODY_KEYS = [
  "id",
  "traceId",
  "name",
  "startTime",
  "endTime",
  "timestamp",
  "input",
  "output",
  "metadata",
  "model",
  "modelParameters",
  "usage",
  "usageDetails",
  "costDetails",
  "level",
  "environment",
  "value",
  "dataType",
  "tags",
  "public",
  "promptName",
  "promptVersion",
  "type",
  "log",
];
const fieldValue = fc.oneof(
  fc.jsonValue({ maxDepth: 2 }),
  fc.constantFrom("2024-01-01T00:00:00.000Z", "2024-01-01T00:00Z", "DEBUG", "ERROR", "NUMERIC", "BOOLEAN", "production", "langfuse-x"),
  fc.dictionary(fc.constantFrom("input", "output", "total", "input_tokens", "prompt_tokens", "unit", "x"), fc.oneof(fc.integer(), fc.double(), fc.string({ maxLength: 3 }), fc.constant(null))),
);
const ingestionEvent = fc.oneof(
  fc.record(
    {
      id: fc.oneof(fc.string({ maxLength: 8 }), fc.integer()),
      timestamp: fc.oneof(fc.constant("2024-01-01T00:00:00.000Z"), fc.string({ maxLength: 8 })),
      type: fc.constantFrom(...EVENT_TYPES),
      body: fc.dictionary(fc.constantFrom(...BODY_KEYS), fieldValue, { maxKeys: 8 }),
      metadata: fc.oneof(fc.constant(null), fc.jsonValue({ maxDepth: 1 })),
    },
    { requiredKeys: ["type"] },
  ),
  fc.anything({ maxDepth: 3 }),
);

describe("ingestion validator", () => {
  for (const internal of [false, true]) {
    const interpreted = createIngestionEventSchema(internal);
    it(`compiled and fast-pathed = interpreted zod (${internal ? "internal" : "public"})`, () => {
      fc.assert(
        fc.property(ingestionEvent, (raw) => {
          const fast = validateIngestionEvent(raw, { internal });
          const fastOutcome: Outcome = fast.ok ? { ok: true, json: JSON.stringify(fast.event) } : { ok: false, error: fast.error };
          expect(fastOutcome).toEqual(outcomeOf(interpreted, raw));
        }),
        PARAMETERS,
      );
    });
  }

  const pairs: Array<[string, z.ZodType, z.ZodType]> = [
    ["jsonSchema", jsonSchema, jsonSchemaReference],
    ["usageDetails", usageDetails, usageDetailsReference],
    ["costDetails", costDetails, costDetailsReference],
  ];
  for (const [name, fast, reference] of pairs) {
    it(`${name} fast path = reference`, () => {
      const value = fc.oneof(fc.jsonValue({ maxDepth: 3 }), fieldValue).filter((v) => v !== null || name === "jsonSchema");
      fc.assert(
        fc.property(value, (v) => {
          expect(outcomeOf(fast, v)).toEqual(outcomeOf(reference, v));
        }),
        PARAMETERS,
      );
    });
  }
});

// ---------------------------------------------------------------------------------------------
// Config loader
// ---------------------------------------------------------------------------------------------

describe("config loader", () => {
  const fragments = fc.constantFrom(
    "receivers:",
    "  otlp:",
    "    grpc:",
    "      endpoint: 127.0.0.1:4317",
    "processors:",
    "  batch:",
    "  sample:",
    "    rate: 0.5",
    "exporters:",
    "  s3:",
    "    bucket: b",
    "service:",
    "  pipelines:",
    "    events:",
    "      receivers: [otlp]",
    "      processors: [sample, batch]",
    "      batch: { flush_at: 10 }",
    "      exporters: [s3]",
    "  - x",
    "key: ${env:NOPE}",
    "key: ${file:/nonexistent}",
    "&a [*a]",
    "!!binary x",
    "  : :",
    "\t",
    "'unterminated",
    "{",
    "<<: *a",
  );
  const text = fc.oneof(fc.string(), fc.array(fragments, { maxLength: 20 }).map((lines) => lines.join("\n")));

  it("any text loads or fails with a ConfigError", () => {
    fc.assert(
      fc.property(text, (yaml) => {
        expect(["returned", ConfigError.name]).toContain(outcome(() => loadConfigText(yaml, { env: {} })));
      }),
      PARAMETERS,
    );
  });
});
