import { isUtf8 } from "node:buffer";
import { MAX_NESTING_DEPTH } from "../model/nesting.js";

/**
 * OTLP/protobuf `ExportTraceServiceRequest` bytes straight to the JSON text of its `resourceSpans`
 * array, in the shape `decodeProtobufTraceRequest` + `JSON.stringify` produce (what Langfuse's
 * web container stores for the request, except ids as lower-case hex: 64-bit integers as decimal
 * strings, bytes values as a Buffer's JSON, fields present on the wire only), without building
 * objects: strings are copied as UTF-8 bytes with JSON escaping. The raw
 * OTel path stores this text; building objects and serialising them was a large part of its CPU
 * per LLM-sized span (the measurements are in bench/results/2026-11-25.md).
 *
 * It handles what encoders write. Anything else (invalid UTF-8, a singular field twice, a repeated
 * field split by other fields, a wire type that does not match the field, groups, entity refs,
 * oversized varints, truncation) throws `Unsupported`, and the caller takes the object path, which
 * decodes with protobufjs and either succeeds or reports the body as invalid. A fuzz property
 * checks that whenever this succeeds its text parses to exactly what the object path produces.
 */
export class Unsupported extends Error {}

export interface SpanSummary {
  /** The trace id as the worker reads it (hex); undefined when absent. */
  traceId: string | undefined;
  /** Both ids present (Langfuse refuses exports with a span that lacks one). */
  complete: boolean;
  /** The span, its scope or its resource nests deeper than MAX_NESTING_DEPTH (measured on the JSON written). */
  tooDeep: boolean;
  /** Where the span's fields are in the text: see SpanMarks. */
  marks: SpanMarks;
}

/** A byte range of the JSON text: [start, end). */
export type TextRange = readonly [number, number];

/** What a reader of a span needs without parsing it: its ids, and where its parts are in the text. */
export interface SpanMarks {
  /** The span object. */
  range: TextRange;
  spanId: string | undefined;
  parentSpanId: string | undefined;
  /** The JSON string of its name, and its status object, when present. */
  name?: TextRange;
  status?: TextRange;
}

/**
 * Where each resource, scope and span is in the text, so that a reader can take one part without
 * parsing the rest, and a writer can copy kept parts out of it (SpanBatch). Ranges of elements
 * exclude the commas between them.
 */
export interface TextLayout {
  resources: Array<{
    range: TextRange;
    /** The `resource` object, when present. */
    resource?: TextRange;
    scopes: Array<{ range: TextRange; scope?: TextRange; name?: TextRange; firstSpan: number; spanCount: number }>;
  }>;
}

export interface TranscodedRequest {
  /** The JSON text of the resourceSpans array (kept spans only). */
  json: Buffer;
  /** Every span of the request (kept or not), in order. */
  spans: SpanSummary[];
  /** Where everything is in `json`; absent once the text was rewritten (SpanBatch). */
  layout?: TextLayout;
}

const WIRE_VARINT = 0;
const WIRE_I64 = 1;
const WIRE_LEN = 2;
const WIRE_I32 = 5;

/** For each byte, the character after the backslash of its JSON escape (`u` for `\u00XX`), or 0 when it is copied as is. */
const ESCAPE_SECOND = (() => {
  const table = new Uint8Array(256);
  for (let byte = 0; byte < 0x20; byte += 1) table[byte] = 0x75;
  for (const [byte, letter] of [[0x22, '"'], [0x5c, "\\"], [0x08, "b"], [0x0c, "f"], [0x0a, "n"], [0x0d, "r"], [0x09, "t"]] as const) table[byte] = letter.charCodeAt(0);
  return table;
})();
const HEX_DIGIT = Buffer.from("0123456789abcdef", "latin1");

/**
 * Each request's JSON is written into a buffer of its own, sized from the body, and handed on
 * without a copy. LLM-shaped spans give JSON about 1.28× their protobuf; ids, numbers and many
 * small attributes give more, and then the buffer doubles. Two earlier designs cost more: a
 * 1.25× guess (short, so nearly every request doubled, and V8 starts full collections on such
 * external memory) and a reused scratch buffer copied out at the exact size (the copy into fresh
 * memory was a sizeable share of the transcoder's time; bench/results/2026-11-25.md). With a pool
 * (the daemon's `storedJsonPool`) the buffer is borrowed, and whoever stores the text gives it back.
 */
const SIZE_RATIO = 1.4;
const SIZE_SLACK = 1024;

/** Where output buffers come from when they are reused (src/pipeline/buffer-pool.ts). */
export interface OutputBuffers {
  /** A buffer of exactly `size` bytes, or undefined when the pool does not serve that size. */
  take(size: number): Buffer | undefined;
  give(buffer: Buffer): void;
}

class Output {
  buffer: Buffer;
  position = 0;

  constructor(
    sizeHint: number,
    private readonly pool: OutputBuffers | undefined,
  ) {
    this.buffer = this.#allocate(sizeHint);
  }

  #allocate(size: number): Buffer {
    return this.pool?.take(size) ?? Buffer.allocUnsafeSlow(size);
  }

  /**
   * The written bytes. A pooled buffer is handed on as it is (the pool gets it back whole); an
   * unpooled one is copied to a buffer of its own size only when most of it is unused.
   */
  take(): Buffer {
    const { buffer, position } = this;
    if (this.pool !== undefined || position >= buffer.length * 0.75) return buffer.subarray(0, position);
    const result = Buffer.allocUnsafeSlow(position);
    buffer.copy(result, 0, 0, position);
    return result;
  }

  /** Gives the buffer back when the output is abandoned (the request takes the object path). */
  abandon(): void {
    this.pool?.give(this.buffer);
  }

  reserve(bytes: number): void {
    if (this.position + bytes <= this.buffer.length) return;
    const next = this.#allocate(Math.max(this.buffer.length * 2, this.position + bytes));
    this.buffer.copy(next, 0, 0, this.position);
    this.pool?.give(this.buffer);
    this.buffer = next;
  }

  byte(value: number): void {
    this.reserve(1);
    this.buffer[this.position++] = value;
  }

  /** ASCII text (numbers, hex, base64, escapes); short ones byte by byte, which beats Buffer#write's overhead. */
  text(value: string): void {
    const length = value.length;
    this.reserve(length);
    if (length > 64) {
      this.position += this.buffer.write(value, this.position, "latin1");
      return;
    }
    const buffer = this.buffer;
    let position = this.position;
    for (let index = 0; index < length; index += 1) buffer[position++] = value.charCodeAt(index);
    this.position = position;
  }

  /**
   * A JSON string from UTF-8 bytes: copied, with `"`, `\` and control characters escaped. Returns
   * whether every byte was ASCII, so the caller validates UTF-8 only when it has to. One pass with a
   * table lookup per byte: LLM text is full of quotes (JSON-encoded messages), so escapes are not
   * rare and must not cost a call each.
   */
  string(source: Buffer, start: number, end: number): boolean {
    this.reserve(end - start + 2);
    let buffer = this.buffer;
    let position = this.position;
    buffer[position++] = 0x22;
    let bits = 0;
    for (let index = start; index < end; index += 1) {
      const byte = source[index]!;
      bits |= byte;
      const escape = ESCAPE_SECOND[byte]!;
      if (escape === 0) {
        buffer[position++] = byte;
        continue;
      }
      // At most 6 bytes for this one plus the rest unescaped and the closing quote.
      if (position + 7 + (end - index) > buffer.length) {
        this.position = position;
        this.reserve(7 + (end - index));
        buffer = this.buffer;
      }
      buffer[position++] = 0x5c;
      if (escape !== 0x75) {
        buffer[position++] = escape;
        continue;
      }
      buffer[position++] = 0x75;
      buffer[position++] = 0x30;
      buffer[position++] = 0x30;
      buffer[position++] = HEX_DIGIT[byte >> 4]!;
      buffer[position++] = HEX_DIGIT[byte & 15]!;
    }
    buffer[position++] = 0x22;
    this.position = position;
    return bits < 0x80;
  }

  #copy(source: Uint8Array, start: number, end: number): void {
    const length = end - start;
    if (length <= 0) return;
    this.reserve(length + 1);
    const buffer = this.buffer;
    if (length > 48) buffer.set(source.subarray(start, end), this.position);
    else for (let index = 0; index < length; index += 1) buffer[this.position + index] = source[start + index]!;
    this.position += length;
  }

  /** Pre-encoded ASCII (object keys). */
  bytes(value: Uint8Array): void {
    this.#copy(value, 0, value.length);
  }
}

class Reader {
  position: number;

  constructor(
    readonly source: Buffer,
    start: number,
    readonly end: number,
  ) {
    this.position = start;
  }

  get done(): boolean {
    return this.position >= this.end;
  }

  /** A varint's low 32 bits as an unsigned number (protobufjs's uint32); at most 10 bytes. */
  uint32(): number {
    let value = 0;
    for (let shift = 0, count = 0; ; shift += 7, count += 1) {
      if (this.position >= this.end || count >= 10) throw new Unsupported("bad varint");
      const byte = this.source[this.position++]!;
      if (shift < 32) value |= (byte & 0x7f) << shift;
      if (byte < 0x80) return value >>> 0;
    }
  }

  /** A varint as a signed 64-bit decimal (protobufjs's int64 via Long#toString). */
  int64Decimal(): string {
    const start = this.position;
    let small = 0;
    for (let shift = 0, count = 0; ; shift += 7, count += 1) {
      if (this.position >= this.end || count >= 10) throw new Unsupported("bad varint");
      const byte = this.source[this.position++]!;
      if (shift < 49) small += (byte & 0x7f) * 2 ** shift;
      if (byte < 0x80) {
        if (shift < 49) return String(small);
        break;
      }
    }
    let value = 0n;
    for (let index = this.position - 1; index >= start; index -= 1) value = (value << 7n) | BigInt(this.source[index]! & 0x7f);
    return BigInt.asIntN(64, value).toString();
  }

  /** A field tag as protobufjs reads one: at most 5 bytes, fitting 32 bits, field number not 0. */
  tag(): number {
    let value = 0;
    for (let shift = 0; shift < 35; shift += 7) {
      if (this.position >= this.end) throw new Unsupported("truncated");
      const byte = this.source[this.position++]!;
      if (shift === 28 && (byte & 0xf0) !== 0) throw new Unsupported("tag encoding");
      value |= (byte & 0x7f) << shift;
      if (byte < 0x80) {
        const tag = value >>> 0;
        if (tag >>> 3 === 0) throw new Unsupported("field number 0");
        return tag;
      }
    }
    throw new Unsupported("tag encoding");
  }

  fixed32(): number {
    if (this.position + 4 > this.end) throw new Unsupported("truncated");
    const value = this.source.readUInt32LE(this.position);
    this.position += 4;
    return value;
  }

  /** fixed64 as an unsigned decimal. */
  fixed64Decimal(): string {
    if (this.position + 8 > this.end) throw new Unsupported("truncated");
    const low = this.source.readUInt32LE(this.position);
    const high = this.source.readUInt32LE(this.position + 4);
    this.position += 8;
    if (high < 0x200000) return String(high * 0x100000000 + low);
    return ((BigInt(high) << 32n) | BigInt(low)).toString();
  }

  double(): number {
    if (this.position + 8 > this.end) throw new Unsupported("truncated");
    const value = this.source.readDoubleLE(this.position);
    this.position += 8;
    return value;
  }

  /** A length-delimited field: returns its end and leaves the position at its start. */
  length(): number {
    const length = this.uint32();
    const end = this.position + length;
    if (end > this.end) throw new Unsupported("truncated");
    return end;
  }

  skip(wire: number): void {
    if (wire === WIRE_VARINT) this.uint32();
    else if (wire === WIRE_I64) this.position += 8;
    else if (wire === WIRE_LEN) this.position = this.length();
    else if (wire === WIRE_I32) this.position += 4;
    else throw new Unsupported(`wire type ${wire}`);
    if (this.position > this.end) throw new Unsupported("truncated");
  }
}

/**
 * The OTLP trace messages as field tables: what each field number is called in OTLP/JSON and how
 * its value is written. Only the fields the object path copies are listed; others are skipped.
 */
type ScalarKind = "string" | "hex" | "buffer" | "bool" | "uint32" | "int32" | "int64" | "fixed32" | "fixed64" | "double";

interface FieldSpec {
  /** `"name":` (singular) or `"name":[` (repeated), encoded once. */
  key: Uint8Array;
  kind: ScalarKind | MessageSpec;
  repeated: boolean;
}

interface MessageSpec {
  fields: Map<number, FieldSpec>;
  /** Fields the transcoder leaves to the object path (decoded by protobufjs, ignored by the codec). */
  refused?: number[];
  /** At most one of these fields (a oneof). */
  oneOf?: boolean;
}

const WIRE_OF: Record<ScalarKind, number> = {
  string: WIRE_LEN,
  hex: WIRE_LEN,
  buffer: WIRE_LEN,
  bool: WIRE_VARINT,
  uint32: WIRE_VARINT,
  int32: WIRE_VARINT,
  int64: WIRE_VARINT,
  fixed32: WIRE_I32,
  fixed64: WIRE_I64,
  double: WIRE_I64,
};

function message(fields: Array<[number, string, ScalarKind | MessageSpec, "repeated"?]>, options: Omit<MessageSpec, "fields"> = {}): MessageSpec {
  return {
    ...options,
    fields: new Map(fields.map(([number, name, kind, repeated]) => [number, { key: Buffer.from(`"${name}":${repeated ? "[" : ""}`, "latin1"), kind, repeated: repeated !== undefined }])),
  };
}

// AnyValue refers to KeyValue and back; the tables are tied after creation.
const ANY_VALUE: MessageSpec = { fields: new Map(), oneOf: true };
// Absent fields stay absent, as in Langfuse's `toObject`: `{"arrayValue":{}}` for an empty list.
const KEY_VALUE = message([[1, "key", "string"], [2, "value", ANY_VALUE]]);
const ARRAY_VALUE = message([[1, "values", ANY_VALUE, "repeated"]]);
const KEY_VALUE_LIST = message([[1, "values", KEY_VALUE, "repeated"]]);
for (const [number, spec] of message([
  [1, "stringValue", "string"],
  [2, "boolValue", "bool"],
  [3, "intValue", "int64"],
  [4, "doubleValue", "double"],
  [5, "arrayValue", ARRAY_VALUE],
  [6, "kvlistValue", KEY_VALUE_LIST],
  [7, "bytesValue", "buffer"],
]).fields) {
  ANY_VALUE.fields.set(number, spec);
}

const RESOURCE = message([[1, "attributes", KEY_VALUE, "repeated"], [2, "droppedAttributesCount", "uint32"]], { refused: [3] });
const SCOPE = message([[1, "name", "string"], [2, "version", "string"], [3, "attributes", KEY_VALUE, "repeated"], [4, "droppedAttributesCount", "uint32"]]);
const EVENT = message([[1, "timeUnixNano", "fixed64"], [2, "name", "string"], [3, "attributes", KEY_VALUE, "repeated"], [4, "droppedAttributesCount", "uint32"]]);
const LINK = message([
  [1, "traceId", "hex"],
  [2, "spanId", "hex"],
  [3, "traceState", "string"],
  [4, "attributes", KEY_VALUE, "repeated"],
  [5, "droppedAttributesCount", "uint32"],
  [6, "flags", "fixed32"],
]);
const STATUS = message([[2, "message", "string"], [3, "code", "int32"]]);
const SPAN = message([
  [1, "traceId", "hex"],
  [2, "spanId", "hex"],
  [3, "traceState", "string"],
  [4, "parentSpanId", "hex"],
  [5, "name", "string"],
  [6, "kind", "int32"],
  [7, "startTimeUnixNano", "fixed64"],
  [8, "endTimeUnixNano", "fixed64"],
  [9, "attributes", KEY_VALUE, "repeated"],
  [10, "droppedAttributesCount", "uint32"],
  [11, "events", EVENT, "repeated"],
  [12, "droppedEventsCount", "uint32"],
  [13, "links", LINK, "repeated"],
  [14, "droppedLinksCount", "uint32"],
  [15, "status", STATUS],
  [16, "flags", "fixed32"],
]);
const RESOURCE_SPANS_KEYS = { resource: Buffer.from('"resource":'), scopeSpans: Buffer.from('"scopeSpans":['), schemaUrl: Buffer.from('"schemaUrl":') };
const SCOPE_SPANS_KEYS = { scope: Buffer.from('"scope":'), spans: Buffer.from('"spans":['), schemaUrl: Buffer.from('"schemaUrl":') };

/**
 * Writes one JSON object from a message's fields. Tracks which fields were seen: a singular field
 * twice, or a repeated one resumed after another field, is Unsupported (the object path handles it).
 */
class ObjectWriter {
  #first = true;
  #seen = 0;
  #open = -1;

  constructor(readonly out: Output) {
    out.byte(0x7b);
  }

  /** Starts `"key":` for a singular field. */
  key(field: number, name: Uint8Array): void {
    this.#closeArray();
    const bit = 1 << field;
    if (this.#seen & bit) throw new Unsupported(`field ${field} repeated`);
    this.#seen |= bit;
    this.#comma();
    this.out.bytes(name);
  }

  /** Starts the next element of a repeated field (opening its array on the first). */
  element(field: number, name: Uint8Array): void {
    const bit = 1 << field;
    if (this.#open === field) {
      this.out.byte(0x2c);
      return;
    }
    if (this.#seen & bit) throw new Unsupported(`field ${field} split`);
    this.#closeArray();
    this.#seen |= bit;
    this.#comma();
    this.out.bytes(name);
    this.#open = field;
  }

  has(field: number): boolean {
    return (this.#seen & (1 << field)) !== 0;
  }

  end(): void {
    this.#closeArray();
    this.out.byte(0x7d);
  }

  #comma(): void {
    if (!this.#first) this.out.byte(0x2c);
    this.#first = false;
  }

  #closeArray(): void {
    if (this.#open === -1) return;
    this.out.byte(0x5d);
    this.#open = -1;
  }
}

function expectWire(actual: number, expected: number): void {
  if (actual !== expected) throw new Unsupported(`wire type ${actual}, expected ${expected}`);
}

function stringField(reader: Reader, out: Output): void {
  const end = reader.length();
  const { source, position } = reader;
  const ascii = out.string(source, position, end);
  // protobufjs decodes with TextDecoder, which drops a leading byte-order mark; invalid UTF-8
  // becomes replacement characters. Both are left to the object path. ASCII is valid as it is.
  if (!ascii) {
    if (end - position >= 3 && source[position] === 0xef && source[position + 1] === 0xbb && source[position + 2] === 0xbf) throw new Unsupported("BOM");
    if (!isUtf8(source.subarray(position, end))) throw new Unsupported("invalid UTF-8");
  }
  reader.position = end;
}

function hexField(reader: Reader, out: Output): string {
  const end = reader.length();
  const hex = reader.source.toString("hex", reader.position, end);
  reader.position = end;
  out.text(`"${hex}"`);
  return hex;
}

const BUFFER_OPENING = Buffer.from('{"type":"Buffer","data":[', "latin1");

/** Bytes as `JSON.stringify` writes a Node Buffer, which is what Langfuse stores for a protobuf bytes value. */
function bufferField(reader: Reader, out: Output): void {
  const end = reader.length();
  const { source } = reader;
  out.bytes(BUFFER_OPENING);
  // At most four characters a byte ("255,").
  out.reserve((end - reader.position) * 4 + 2);
  for (let position = reader.position; position < end; position += 1) {
    if (position > reader.position) out.byte(0x2c);
    out.text(DECIMAL_BYTES[source[position]!]!);
  }
  out.text("]}");
  reader.position = end;
}

const DECIMAL_BYTES = Array.from({ length: 256 }, (_, byte) => String(byte));

function scalar(kind: ScalarKind, reader: Reader, out: Output): string | undefined {
  switch (kind) {
    case "string":
      stringField(reader, out);
      return undefined;
    case "hex":
      return hexField(reader, out);
    case "buffer":
      bufferField(reader, out);
      return undefined;
    case "bool":
      out.text(reader.uint32() !== 0 ? "true" : "false");
      return undefined;
    case "uint32":
      out.text(String(reader.uint32()));
      return undefined;
    case "int32":
      // A negative int32 takes 10 bytes; protobufjs keeps the low 32 bits, signed.
      out.text(String(reader.uint32() | 0));
      return undefined;
    case "int64":
      out.text(`"${reader.int64Decimal()}"`);
      return undefined;
    case "fixed32":
      out.text(String(reader.fixed32()));
      return undefined;
    case "fixed64":
      out.text(`"${reader.fixed64Decimal()}"`);
      return undefined;
    case "double": {
      const value = reader.double();
      out.text(Number.isFinite(value) ? String(value) : "null");
      return undefined;
    }
  }
}

/**
 * Writes one message as a JSON object by its table. Returns the object writer (which fields were
 * written) and the hex of field 1 when that is a hex field (a span's or link's trace id).
 */
/**
 * How deep the JSON of one item (a resource, a scope or a span, each level 1) goes, as
 * `nestsDeeperThan` measures its objects. Past MAX_NESTING_DEPTH a nested message is written as
 * `{}` and its bytes skipped: the item is refused anyway, the text stays as deep as the verdict
 * says, and no input can make this recursion overflow the stack.
 */
interface ItemDepth {
  tooDeep: boolean;
}

function writeMessage(
  spec: MessageSpec,
  reader: Reader,
  out: Output,
  depth: number,
  item: ItemDepth,
  /** For a span (or a scope: its name only), where its ids, name and status are. */
  marks?: SpanMarks,
): { object: ObjectWriter; firstHex: string | undefined } {
  const object = new ObjectWriter(out);
  let firstHex: string | undefined;
  let chosen = 0;
  while (!reader.done) {
    const tag = reader.tag();
    const field = tag >>> 3;
    const wire = tag & 7;
    const fieldSpec = spec.fields.get(field);
    if (fieldSpec === undefined) {
      if (spec.refused?.includes(field)) throw new Unsupported(`field ${field} left to the object path`);
      reader.skip(wire);
      continue;
    }
    if (spec.oneOf) {
      if (chosen !== 0) throw new Unsupported("oneof set twice");
      chosen = field;
    }
    if (fieldSpec.repeated) object.element(field, fieldSpec.key);
    else object.key(field, fieldSpec.key);
    // A nested message is an object one level down, or two inside a repeated field's array.
    const childDepth = depth + (fieldSpec.repeated ? 2 : 1);
    const valueStart = out.position;
    if (typeof fieldSpec.kind === "string") {
      expectWire(wire, WIRE_OF[fieldSpec.kind]);
      // Bytes are written as {"type":"Buffer","data":[…]}: two levels.
      if (fieldSpec.kind === "buffer" && childDepth + 1 > MAX_NESTING_DEPTH) item.tooDeep = true;
      const hex = scalar(fieldSpec.kind, reader, out);
      if (field === 1) firstHex = hex;
      if (marks !== undefined) {
        // Span: 2 spanId, 4 parentSpanId, 5 name; scope: 1 name (its field 1 is a string, never hex).
        if (spec === SPAN) {
          if (field === 2) marks.spanId = hex;
          else if (field === 4) marks.parentSpanId = hex;
          else if (field === 5) marks.name = [valueStart, out.position];
        } else if (field === 1) marks.name = [valueStart, out.position];
      }
    } else {
      expectWire(wire, WIRE_LEN);
      const end = reader.length();
      if (childDepth > MAX_NESTING_DEPTH) {
        item.tooDeep = true;
        out.text("{}");
      } else {
        writeMessage(fieldSpec.kind, new Reader(reader.source, reader.position, end), out, childDepth, item);
      }
      if (marks !== undefined && spec === SPAN && field === 15) marks.status = [valueStart, out.position];
      reader.position = end;
    }
  }
  object.end();
  return { object, firstHex };
}

/**
 * Transcodes a request, recording where each part is in the text (keptSpansText writes a subset
 * from it). With `pool`, the returned JSON is borrowed from it (when its size is pooled): the
 * caller gives it back.
 */
export function transcodeTraceRequest(body: Buffer, pool?: OutputBuffers): TranscodedRequest {
  const out = new Output(Math.ceil(body.length * SIZE_RATIO) + SIZE_SLACK, pool);
  try {
    return transcodeInto(out, body);
  } catch (error) {
    out.abandon();
    throw error;
  }
}

function transcodeInto(out: Output, body: Buffer): TranscodedRequest {
  const spans: SpanSummary[] = [];
  const layout: TextLayout = { resources: [] };
  out.byte(0x5b);
  let resources = 0;
  const request = new Reader(body, 0, body.length);
  while (!request.done) {
    const tag = request.tag();
    if (tag >>> 3 !== 1) {
      request.skip(tag & 7);
      continue;
    }
    expectWire(tag & 7, WIRE_LEN);
    const resourceEnd = request.length();
    if (resources++ > 0) out.byte(0x2c);
    const reader = new Reader(body, request.position, resourceEnd);
    const objectStart = out.position;
    const object = new ObjectWriter(out);
    const resourceLayout: TextLayout["resources"][number] = { range: [objectStart, objectStart], scopes: [] };
    const resourceDepth: ItemDepth = { tooDeep: false };
    const firstSpan = spans.length;
    while (!reader.done) {
      const resourceTag = reader.tag();
      const field = resourceTag >>> 3;
      const wire = resourceTag & 7;
      if (field === 1) {
        expectWire(wire, WIRE_LEN);
        object.key(1, RESOURCE_SPANS_KEYS.resource);
        const end = reader.length();
        const valueStart = out.position;
        writeMessage(RESOURCE, new Reader(body, reader.position, end), out, 1, resourceDepth);
        resourceLayout.resource = [valueStart, out.position];
        reader.position = end;
      } else if (field === 2) {
        expectWire(wire, WIRE_LEN);
        const scopeEnd = reader.length();
        object.element(2, RESOURCE_SPANS_KEYS.scopeSpans);
        scopeSpans(new Reader(body, reader.position, scopeEnd), out, spans, resourceLayout.scopes);
        reader.position = scopeEnd;
      } else if (field === 3) {
        expectWire(wire, WIRE_LEN);
        object.key(3, RESOURCE_SPANS_KEYS.schemaUrl);
        stringField(reader, out);
      } else reader.skip(wire);
    }
    object.end();
    resourceLayout.range = [objectStart, out.position];
    layout.resources.push(resourceLayout);
    // The resource may come after its spans on the wire.
    if (resourceDepth.tooDeep) for (let index = firstSpan; index < spans.length; index += 1) spans[index]!.tooDeep = true;
    request.position = resourceEnd;
  }
  out.byte(0x5d);
  return { json: out.take(), spans, layout };
}

/** Writes one ScopeSpans, and records where it and its spans are. */
function scopeSpans(reader: Reader, out: Output, summaries: SpanSummary[], layouts: TextLayout["resources"][number]["scopes"]): void {
  const objectStart = out.position;
  const object = new ObjectWriter(out);
  const scopeDepth: ItemDepth = { tooDeep: false };
  const firstSpan = summaries.length;
  let scopeRange: TextRange | undefined;
  let nameRange: TextRange | undefined;
  let spans = 0;
  while (!reader.done) {
    const tag = reader.tag();
    const field = tag >>> 3;
    const wire = tag & 7;
    if (field === 1) {
      expectWire(wire, WIRE_LEN);
      object.key(1, SCOPE_SPANS_KEYS.scope);
      const end = reader.length();
      const valueStart = out.position;
      const marks: SpanMarks = { range: [0, 0], spanId: undefined, parentSpanId: undefined };
      writeMessage(SCOPE, new Reader(reader.source, reader.position, end), out, 1, scopeDepth, marks);
      scopeRange = [valueStart, out.position];
      nameRange = marks.name;
      reader.position = end;
    } else if (field === 2) {
      expectWire(wire, WIRE_LEN);
      const end = reader.length();
      object.element(2, SCOPE_SPANS_KEYS.spans);
      const spanDepth: ItemDepth = { tooDeep: false };
      const spanStart = out.position;
      const marks: SpanMarks = { range: [spanStart, spanStart], spanId: undefined, parentSpanId: undefined };
      const written = writeMessage(SPAN, new Reader(reader.source, reader.position, end), out, 1, spanDepth, marks);
      marks.range = [spanStart, out.position];
      summaries.push({ traceId: written.firstHex, complete: written.object.has(1) && written.object.has(2), tooDeep: spanDepth.tooDeep, marks });
      spans += 1;
      reader.position = end;
    } else if (field === 3) {
      expectWire(wire, WIRE_LEN);
      object.key(3, SCOPE_SPANS_KEYS.schemaUrl);
      stringField(reader, out);
    } else reader.skip(wire);
  }
  object.end();
  layouts.push({ range: [objectStart, out.position], scope: scopeRange, name: nameRange, firstSpan, spanCount: spans });
  if (scopeDepth.tooDeep) for (let index = firstSpan; index < summaries.length; index += 1) summaries[index]!.tooDeep = true;
}

/**
 * The text of a transcoded request with only the spans `kept` marks (by span index), copied out of
 * the text already written (its layout) instead of transcoding again. Scopes and resources left
 * without spans are removed, as SpanBatch removes them from objects.
 */
export function keptSpansText(transcoded: TranscodedRequest, kept: readonly boolean[], pool?: OutputBuffers): Buffer {
  const { json, spans, layout } = transcoded;
  if (layout === undefined) throw new Error("keptSpansText needs the layout of the text as transcoded");
  const out = new Output(json.length + 2, pool);
  const copy = (start: number, end: number) => out.bytes(json.subarray(start, end));
  const keptIn = (scope: TextLayout["resources"][number]["scopes"][number]) => {
    let count = 0;
    for (let index = scope.firstSpan; index < scope.firstSpan + scope.spanCount; index += 1) if (kept[index]) count += 1;
    return count;
  };
  out.byte(0x5b);
  let resources = 0;
  for (const resource of layout.resources) {
    const counts = resource.scopes.map(keptIn);
    const keptScopes = resource.scopes.filter((scope, index) => scope.spanCount === 0 || counts[index]! > 0);
    if (resource.scopes.length > 0 && keptScopes.length === 0) continue;
    if (resources++ > 0) out.byte(0x2c);
    if (resource.scopes.every((scope, index) => counts[index] === scope.spanCount)) {
      copy(resource.range[0], resource.range[1]);
      continue;
    }
    copy(resource.range[0], resource.scopes[0]!.range[0]);
    keptScopes.forEach((scope, position) => {
      if (position > 0) out.byte(0x2c);
      if (keptIn(scope) === scope.spanCount) {
        copy(scope.range[0], scope.range[1]);
        return;
      }
      const first = spans[scope.firstSpan]!.marks.range;
      const last = spans[scope.firstSpan + scope.spanCount - 1]!.marks.range;
      copy(scope.range[0], first[0]);
      let written = 0;
      for (let index = scope.firstSpan; index < scope.firstSpan + scope.spanCount; index += 1) {
        if (!kept[index]) continue;
        if (written++ > 0) out.byte(0x2c);
        const range = spans[index]!.marks.range;
        copy(range[0], range[1]);
      }
      copy(last[1], scope.range[1]);
    });
    copy(resource.scopes.at(-1)!.range[1], resource.range[1]);
  }
  out.byte(0x5d);
  return out.take();
}
