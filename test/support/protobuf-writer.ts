/**
 * A small OTLP protobuf writer for what protobufjs refuses to encode: messages nested more than
 * its 100-level limit. It writes the fields the tests use (ids, name, times, attributes with
 * string, array and key-value-list values) in field-number order, as encoders do.
 */
type Bytes = Buffer;

function varint(value: bigint | number): Bytes {
  let rest = BigInt(value);
  const bytes: number[] = [];
  do {
    let byte = Number(rest & 0x7fn);
    rest >>= 7n;
    if (rest > 0n) byte |= 0x80;
    bytes.push(byte);
  } while (rest > 0n);
  return Buffer.from(bytes);
}

function lengthDelimited(field: number, payload: Bytes): Bytes {
  return Buffer.concat([varint((field << 3) | 2), varint(payload.length), payload]);
}

function fixed64(field: number, decimal: string): Bytes {
  const value = Buffer.alloc(8);
  value.writeBigUInt64LE(BigInt(decimal));
  return Buffer.concat([varint((field << 3) | 1), value]);
}

/** OTLP/JSON AnyValue (stringValue, arrayValue, kvlistValue) → AnyValue bytes. */
export function anyValueBytes(value: Record<string, unknown>): Bytes {
  if (typeof value.stringValue === "string") return lengthDelimited(1, Buffer.from(value.stringValue));
  const array = value.arrayValue as { values?: Array<Record<string, unknown>> } | undefined;
  if (array !== undefined) return lengthDelimited(5, Buffer.concat((array.values ?? []).map((item) => lengthDelimited(1, anyValueBytes(item)))));
  const list = value.kvlistValue as { values?: Array<{ key: string; value: Record<string, unknown> }> } | undefined;
  if (list !== undefined) return lengthDelimited(6, Buffer.concat((list.values ?? []).map((item) => lengthDelimited(1, keyValueBytes(item.key, anyValueBytes(item.value))))));
  throw new Error(`unsupported AnyValue ${JSON.stringify(value)}`);
}

/** `levels` ArrayValues around `leaf` (AnyValue bytes), built inside out: no recursion, any depth. */
export function nestedArrayBytes(levels: number, leaf: Bytes = anyValueBytes({ stringValue: "leaf" })): Bytes {
  let bytes = leaf;
  for (let level = 0; level < levels; level += 1) bytes = lengthDelimited(5, lengthDelimited(1, bytes));
  return bytes;
}

export function keyValueBytes(key: string, value: Bytes): Bytes {
  return Buffer.concat([lengthDelimited(1, Buffer.from(key)), lengthDelimited(2, value)]);
}

export interface SpanFields {
  traceId: string;
  spanId: string;
  name: string;
  startTimeUnixNano: string;
  endTimeUnixNano: string;
  /** Attribute key → AnyValue bytes. */
  attributes: Array<[string, Bytes]>;
}

export function spanBytes(span: SpanFields): Bytes {
  return Buffer.concat([
    lengthDelimited(1, Buffer.from(span.traceId, "hex")),
    lengthDelimited(2, Buffer.from(span.spanId, "hex")),
    lengthDelimited(5, Buffer.from(span.name)),
    fixed64(7, span.startTimeUnixNano),
    fixed64(8, span.endTimeUnixNano),
    ...span.attributes.map(([key, value]) => lengthDelimited(9, keyValueBytes(key, value))),
  ]);
}

/** One resource (service.name) with one scope holding the spans. */
export function exportRequestBytes(spans: Bytes[], serviceName = "svc", scopeName = "my-lib"): Bytes {
  const resource = lengthDelimited(1, keyValueBytes("service.name", anyValueBytes({ stringValue: serviceName })));
  const scope = lengthDelimited(1, Buffer.from(scopeName));
  const scopeSpans = Buffer.concat([lengthDelimited(1, scope), ...spans.map((span) => lengthDelimited(2, span))]);
  const resourceSpans = Buffer.concat([lengthDelimited(1, resource), lengthDelimited(2, scopeSpans)]);
  return lengthDelimited(1, resourceSpans);
}
