import { describe, expect, it } from "vitest";
import { convertResourceSpans } from "../../src/conversion/convert.js";
import { decodeProtobufTraceRequest } from "../../src/otlp/codec.js";
import { transcodeTraceRequest } from "../../src/otlp/protobuf-json.js";
import { ExportTraceServiceRequest } from "../../src/otlp/schema.js";
import { loadCaseFiles, protobufBody } from "./harness.js";

/**
 * The raw OTel path stores, for a protobuf request, what Langfuse's web container stores for it:
 * `toObject(decode(body), {longs: String}).resourceSpans` written with JSON.stringify. The one
 * difference kept on purpose is the ids: lower-case hex here, a Buffer's JSON there. Langfuse's
 * worker turns both into the same hex id, shown below by converting both texts.
 */
const ID_FIELDS = new Set(["traceId", "spanId", "parentSpanId"]);

function langfuseStoredText(body: Buffer, idsAsHex: boolean): string | undefined {
  const object = ExportTraceServiceRequest.toObject(ExportTraceServiceRequest.decode(body), { longs: String }) as { resourceSpans?: unknown[] };
  if (object.resourceSpans === undefined) return undefined;
  return JSON.stringify(object.resourceSpans, (key, value: unknown) => {
    const buffer = value as { type?: unknown; data?: unknown };
    if (idsAsHex && ID_FIELDS.has(key) && buffer?.type === "Buffer" && Array.isArray(buffer.data)) {
      return Buffer.from(buffer.data as number[]).toString("hex");
    }
    return value;
  });
}

function convertedEvents(text: string) {
  let n = 0;
  const result = convertResourceSpans(JSON.parse(text), { now: () => new Date("2024-05-01T12:00:00.000Z"), randomId: () => `e${++n}` });
  return { events: result.events, rejected: result.rejectedSpans };
}

const cases = loadCaseFiles().flatMap((file) =>
  file.cases.filter((testCase) => (testCase.encodings ?? ["json", "protobuf"]).includes("protobuf")).map((testCase) => ({ file: file.file, testCase })),
);

describe("raw OTel path: stored objects for protobuf requests", () => {
  it("covers the protobuf twins of the parity cases", () => {
    expect(cases.length).toBeGreaterThan(100);
  });

  for (const { file, testCase } of cases) {
    it(`${file}: ${testCase.name}`, () => {
      const body = protobufBody(testCase.resourceSpans);
      const reference = langfuseStoredText(body, true);
      if (reference === undefined) return;
      const transcoded = transcodeTraceRequest(body).json.toString("utf8");
      const objectPath = JSON.stringify(decodeProtobufTraceRequest(body));
      expect(JSON.parse(transcoded), "transcoder").toStrictEqual(JSON.parse(reference));
      expect(JSON.parse(objectPath), "object path").toStrictEqual(JSON.parse(reference));

      // Langfuse's worker reads the Buffer-JSON ids it stores and the hex ids stored here alike.
      expect(convertedEvents(transcoded)).toStrictEqual(convertedEvents(langfuseStoredText(body, false)!));
    });
  }
});
