/**
 * The in-memory shape of OTLP trace data inside the daemon.
 *
 * It is the OTLP/JSON mapping of the protobuf messages (lowerCamelCase keys, enums as numbers),
 * because that is the shape both wire formats can be brought to cheaply:
 * - OTLP/JSON bodies are used as `JSON.parse` returns them (ids stay the strings the client sent);
 * - protobuf bodies are decoded into this shape as Langfuse reads them (protobufjs `toObject` and
 *   JSON): 64-bit integers as decimal strings, `bytesValue` as a Buffer's JSON, empty lists absent;
 *   ids as lower-case hex.
 *
 * Input is untrusted: every field may be missing or of the wrong type at run time, so code that
 * reads these objects checks what it uses.
 */
export interface AnyValue {
  stringValue?: string;
  boolValue?: boolean;
  intValue?: string | number;
  doubleValue?: number | string;
  arrayValue?: { values?: AnyValue[] };
  kvlistValue?: { values?: KeyValue[] };
  /** Base64 text in OTLP/JSON; `{type: "Buffer", data}` when decoded from protobuf, as Langfuse stores it. */
  bytesValue?: string | { type: "Buffer"; data: number[] };
}

export interface KeyValue {
  key?: string;
  value?: AnyValue;
}

export interface Resource {
  attributes?: KeyValue[];
  droppedAttributesCount?: number;
}

export interface InstrumentationScope {
  name?: string;
  version?: string;
  attributes?: KeyValue[];
  droppedAttributesCount?: number;
}

export interface SpanEvent {
  timeUnixNano?: string | number;
  name?: string;
  attributes?: KeyValue[];
  droppedAttributesCount?: number;
}

export interface SpanLink {
  traceId?: string;
  spanId?: string;
  traceState?: string;
  attributes?: KeyValue[];
  droppedAttributesCount?: number;
  flags?: number;
}

export interface SpanStatus {
  message?: string;
  /** 0 unset, 1 ok, 2 error. OTLP/JSON senders must use numbers; some send the enum name. */
  code?: number | string;
}

export interface Span {
  traceId?: string;
  spanId?: string;
  traceState?: string;
  parentSpanId?: string;
  flags?: number;
  name?: string;
  kind?: number;
  startTimeUnixNano?: string | number;
  endTimeUnixNano?: string | number;
  attributes?: KeyValue[];
  droppedAttributesCount?: number;
  events?: SpanEvent[];
  droppedEventsCount?: number;
  links?: SpanLink[];
  droppedLinksCount?: number;
  status?: SpanStatus;
}

export interface ScopeSpans {
  scope?: InstrumentationScope;
  spans?: Span[];
  schemaUrl?: string;
}

export interface ResourceSpans {
  resource?: Resource;
  scopeSpans?: ScopeSpans[];
  schemaUrl?: string;
}
