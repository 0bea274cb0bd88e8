import { decodeProtobufTraceRequest } from "./codec.js";

/**
 * One OTLP trace request as a receiver got it. Decoding protobuf into objects is deferred to the
 * first pipeline that needs objects (an events pipeline converts them); the raw path can work
 * from the bytes. For OTLP/JSON, the objects come parsed, with the array's own bytes when the
 * body had the usual compact shape.
 */
export class OtlpTraceRequest {
  #resourceSpans: unknown[] | undefined;

  private constructor(
    resourceSpans: unknown[] | undefined,
    /** The `ExportTraceServiceRequest` bytes, for protobuf requests. */
    readonly protobuf: Buffer | undefined,
    /** The `resourceSpans` array's JSON text as received, for compact OTLP/JSON requests. */
    readonly json: Buffer | undefined,
  ) {
    this.#resourceSpans = resourceSpans;
  }

  static fromProtobuf(bytes: Buffer): OtlpTraceRequest {
    return new OtlpTraceRequest(undefined, bytes, undefined);
  }

  static fromObjects(resourceSpans: unknown[], json?: Buffer): OtlpTraceRequest {
    return new OtlpTraceRequest(resourceSpans, undefined, json);
  }

  /** The request's spans as objects; decodes protobuf once. Throws InvalidDataError for a body that does not decode. */
  get resourceSpans(): unknown[] {
    this.#resourceSpans ??= decodeProtobufTraceRequest(this.protobuf!);
    return this.#resourceSpans;
  }

  /**
   * Whether the request certainly holds no resource spans (answered 200 at once, as an empty
   * export). For protobuf, a scan of the top-level fields: anything unusual counts as not empty
   * and is left to the decoder, which accepts or refuses it.
   */
  isEmpty(): boolean {
    if (this.#resourceSpans !== undefined) return this.#resourceSpans.length === 0;
    return !mayHoldResourceSpans(this.protobuf!);
  }

  /** A copy for another pipeline: the bytes are shared (nobody writes them), decoded objects are not. */
  clone(): OtlpTraceRequest {
    return new OtlpTraceRequest(this.#resourceSpans === undefined ? undefined : structuredClone(this.#resourceSpans), this.protobuf, this.json);
  }
}

/** False only for a well-formed top level without field 1 (resource_spans). */
function mayHoldResourceSpans(bytes: Buffer): boolean {
  let position = 0;
  const varint = (): number | undefined => {
    let value = 0;
    for (let shift = 0; shift < 35; shift += 7) {
      if (position >= bytes.length) return undefined;
      const byte = bytes[position++]!;
      value += (byte & 0x7f) * 2 ** shift;
      if (byte < 0x80) return value;
    }
    return undefined;
  };
  while (position < bytes.length) {
    const tag = varint();
    if (tag === undefined || tag >>> 3 === 0 || tag >>> 3 === 1) return true;
    const wire = tag & 7;
    if (wire === 0) {
      if (varint() === undefined) return true;
    } else if (wire === 1) position += 8;
    else if (wire === 5) position += 4;
    else if (wire === 2) {
      const length = varint();
      if (length === undefined) return true;
      position += length;
    } else return true;
    if (position > bytes.length) return true;
  }
  return false;
}
