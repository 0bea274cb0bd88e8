import { compactResourceSpansBytes, decodeJsonTraceRequest, decodeProtobufTraceRequest, parseStructureLatin1 } from "./codec.js";
import { parseJsonInPiecesPaced } from "./json-pieces.js";

/**
 * Compact OTLP/JSON bodies above this size are parsed span by span with turns of the event loop
 * in between; smaller ones in one call, which costs a little less CPU and never holds it long.
 */
const PACED_PARSE_BYTES = 4 * 1024 * 1024;

/**
 * One OTLP trace request as a receiver got it. Decoding into objects is deferred to the first
 * pipeline that needs objects (an events pipeline converts them); the raw path can work from the
 * bytes. Protobuf is transcoded without objects (src/otlp/protobuf-json.ts); compact OTLP/JSON is
 * stored as received, and only its structure is parsed (`structure`). A body that does not decode
 * throws InvalidDataError from whichever of these a pipeline asks for first.
 */
export class OtlpTraceRequest {
  #resourceSpans: unknown[] | undefined;
  /** Compact OTLP/JSON: the array's bytes, and once parsed, its structure (undefined when they are not one JSON array). */
  #compact: { bytes: Buffer; structure?: unknown[] | undefined; parsed: boolean } | undefined;

  private constructor(
    resourceSpans: unknown[] | undefined,
    /** The `ExportTraceServiceRequest` bytes, for protobuf requests. */
    readonly protobuf: Buffer | undefined,
    /** The whole OTLP/JSON body, for JSON requests. */
    private readonly jsonBody: Buffer | undefined,
    compactBytes: Buffer | undefined,
  ) {
    this.#resourceSpans = resourceSpans;
    this.#compact = compactBytes === undefined ? undefined : { bytes: compactBytes, parsed: false };
  }

  static fromProtobuf(bytes: Buffer): OtlpTraceRequest {
    return new OtlpTraceRequest(undefined, bytes, undefined, undefined);
  }

  /** An OTLP/JSON body, parsed when a pipeline first needs it. */
  static fromJson(body: Buffer): OtlpTraceRequest {
    const compact = compactResourceSpansBytes(body);
    // Unusual bodies are parsed at once, as a whole: they are rare, and their emptiness is then known.
    return new OtlpTraceRequest(compact === undefined ? decodeJsonTraceRequest(body) : undefined, undefined, body, compact);
  }

  static fromObjects(resourceSpans: unknown[]): OtlpTraceRequest {
    return new OtlpTraceRequest(resourceSpans, undefined, undefined, undefined);
  }

  /** The structure of a compact JSON body, parsed once; undefined when the cut-out is not one JSON array. */
  #compactStructure(): unknown[] | undefined {
    const compact = this.#compact;
    if (compact === undefined) return undefined;
    if (!compact.parsed) {
      compact.structure = parseStructureLatin1(compact.bytes);
      compact.parsed = true;
    }
    return compact.structure;
  }

  /** The `resourceSpans` array's JSON text as received, for compact OTLP/JSON requests whose array is valid JSON. */
  get json(): Buffer | undefined {
    return this.#compactStructure() === undefined ? undefined : this.#compact!.bytes;
  }

  /**
   * The spans as objects whose structure, numbers and ASCII strings are the request's, for checks
   * that read nothing else (counting, ids present, lists being lists): strings with non-ASCII
   * characters hold their UTF-8 bytes as Latin-1 (see parseStructureLatin1). For compact JSON this
   * skips the UTF-8 decoding; otherwise it is `resourceSpans`.
   */
  get structure(): unknown[] {
    return this.#resourceSpans ?? this.#compactStructure() ?? this.resourceSpans;
  }

  /** The request's spans as objects; decodes once. Throws InvalidDataError for a body that does not decode. */
  get resourceSpans(): unknown[] {
    if (this.#resourceSpans !== undefined) return this.#resourceSpans;
    if (this.protobuf !== undefined) {
      this.#resourceSpans = decodeProtobufTraceRequest(this.protobuf);
      return this.#resourceSpans;
    }
    // A compact body whose array parses on its own parses the same as a whole; otherwise the whole body decides.
    const compact = this.#compact!;
    let spans: unknown;
    if (!compact.parsed || compact.structure !== undefined) {
      try {
        spans = JSON.parse(compact.bytes.toString("utf8"));
      } catch {
        spans = undefined;
      }
    }
    if (Array.isArray(spans)) {
      // Decoded objects serve as the structure too.
      compact.structure ??= spans;
    } else {
      spans = decodeJsonTraceRequest(this.jsonBody!);
      compact.structure = undefined;
    }
    compact.parsed = true;
    this.#resourceSpans = spans as unknown[];
    return this.#resourceSpans;
  }

  /**
   * `resourceSpans`, with a large compact OTLP/JSON body parsed span by span and `afterSpan`
   * called after each (a promise it returns is waited for), so a very large body does not hold the
   * event loop for the whole parse. Smaller bodies, and anything the piecewise parse does not
   * take, are left to `resourceSpans` (one parse costs a little less CPU).
   */
  async resourceSpansPaced(afterSpan: () => Promise<void> | undefined): Promise<unknown[]> {
    const compact = this.#compact;
    const large = compact !== undefined && compact.bytes.length > PACED_PARSE_BYTES;
    if (this.#resourceSpans === undefined && large && (!compact.parsed || compact.structure !== undefined)) {
      const spans = await parseJsonInPiecesPaced(compact.bytes, "utf8", afterSpan).catch(() => undefined);
      if (Array.isArray(spans)) {
        compact.structure ??= spans;
        compact.parsed = true;
        this.#resourceSpans = spans;
      }
    }
    return this.resourceSpans;
  }

  /**
   * Parses a large compact OTLP/JSON body's structure (see `structure`) span by span, with
   * `afterSpan` called after each, so that reading `json` or `structure` afterwards costs nothing.
   */
  async parseStructurePaced(afterSpan: () => Promise<void> | undefined): Promise<void> {
    const compact = this.#compact;
    if (compact === undefined || compact.parsed || compact.bytes.length <= PACED_PARSE_BYTES) return;
    // As parseStructureLatin1 does, in the same pieces: undefined when the bytes are not one JSON array.
    const structure = await parseJsonInPiecesPaced(compact.bytes, "latin1", afterSpan).catch(() => undefined);
    compact.structure = Array.isArray(structure) ? structure : undefined;
    compact.parsed = true;
  }

  /**
   * Whether the request certainly holds no resource spans (answered 200 at once, as an empty
   * export). For protobuf, a scan of the top-level fields; for compact JSON, an empty array
   * without spaces. Anything unusual counts as not empty and is left to the decoder, which
   * accepts or refuses it.
   */
  isEmpty(): boolean {
    if (this.#resourceSpans !== undefined) return this.#resourceSpans.length === 0;
    if (this.#compact !== undefined) return this.#compact.bytes.length === 2;
    return !mayHoldResourceSpans(this.protobuf!);
  }

  /**
   * A copy for another pipeline; decoded objects are not shared, and the copy decodes its own from
   * the bytes (a structured clone of objects would recurse as deep as a hostile request nests).
   * Protobuf bytes are shared (nobody writes them, and the receiver keeps them until every
   * pipeline has answered). JSON bytes are copied: the raw path stores a JSON body as received, in
   * a buffer that the storing pipeline's spool reuses once it is exported, possibly while another
   * pipeline still reads its own.
   */
  clone(): OtlpTraceRequest {
    if (this.protobuf !== undefined) return OtlpTraceRequest.fromProtobuf(this.protobuf);
    const original = this.jsonBody;
    if (original === undefined) return OtlpTraceRequest.fromObjects(structuredClone(this.#resourceSpans!));
    return OtlpTraceRequest.fromJson(Buffer.from(original));
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
