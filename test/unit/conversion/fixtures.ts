/**
 * Fixture builders for the conversion tests: OTLP/JSON-shaped requests built from plain JS values,
 * and the expected raw event bodies with the defaults of mapping spec §12.
 */
import { convertResourceSpans, type ConversionResult } from "../../../src/conversion/convert.js";
import type { AnyValue, KeyValue } from "../../../src/model/otlp.js";

export const T = "0af7651916cd43dd8448eb211c80319c";
export const R = "b7ad6b7169203331";
export const C = "00f067aa0ba902b7";
export const START_NS = "1700000000000000000";
export const END_NS = "1700000001500000000";
export const START = "2023-11-14T22:13:20.000Z";
export const END = "2023-11-14T22:13:21.500Z";
export const NOW = "2024-05-01T12:00:00.000Z";

/** An attribute value written as JS: strings, integers (intValue), other numbers (doubleValue), booleans, arrays. */
export type Attr = string | number | boolean | Attr[] | { raw: AnyValue };

/** Forces a doubleValue for an integral number (e.g. 1.0). */
export function dbl(value: number): { raw: AnyValue } {
  return { raw: { doubleValue: value } };
}

export function anyValue(value: Attr): AnyValue {
  if (typeof value === "string") return { stringValue: value };
  if (typeof value === "boolean") return { boolValue: value };
  if (typeof value === "number") return Number.isInteger(value) ? { intValue: String(value) } : { doubleValue: value };
  if (Array.isArray(value)) return { arrayValue: { values: value.map(anyValue) } };
  return value.raw;
}

export function kvs(attributes: Record<string, Attr>): KeyValue[] {
  return Object.entries(attributes).map(([key, value]) => ({ key, value: anyValue(value) }));
}

export interface SpanSpec {
  spanId?: unknown;
  traceId?: unknown;
  /** null or omitted: root span. */
  parent?: unknown;
  name?: string;
  attributes?: Record<string, Attr>;
  events?: Array<{ name: string; attributes?: Record<string, Attr> }>;
  status?: Record<string, unknown>;
  start?: unknown;
  end?: unknown;
  /** Extra raw span fields (links, traceState, …) or overrides. */
  extra?: Record<string, unknown>;
}

export function span(spec: SpanSpec = {}): Record<string, unknown> {
  const result: Record<string, unknown> = {
    traceId: "traceId" in spec ? spec.traceId : T,
    spanId: "spanId" in spec ? spec.spanId : R,
    name: spec.name ?? "op",
    kind: 1,
    startTimeUnixNano: "start" in spec ? spec.start : START_NS,
    endTimeUnixNano: "end" in spec ? spec.end : END_NS,
  };
  if (spec.parent !== undefined && spec.parent !== null) result.parentSpanId = spec.parent;
  if (spec.attributes !== undefined) result.attributes = kvs(spec.attributes);
  if (spec.events !== undefined) {
    result.events = spec.events.map((e) => ({
      timeUnixNano: START_NS,
      name: e.name,
      attributes: e.attributes === undefined ? [] : kvs(e.attributes),
    }));
  }
  if (spec.status !== undefined) result.status = spec.status;
  return { ...result, ...spec.extra };
}

export function child(spec: SpanSpec = {}): Record<string, unknown> {
  return span({ spanId: C, parent: R, ...spec });
}

export const DEFAULT_RESOURCE: Record<string, Attr> = { "service.name": "svc" };
export const DEFAULT_SCOPE: Record<string, unknown> = { name: "my-lib", version: "1.0" };

export interface ResourceSpec {
  spans: Array<Record<string, unknown>>;
  resource?: Record<string, Attr>;
  scope?: Record<string, unknown>;
}

export function resourceSpans(spec: ResourceSpec): Record<string, unknown> {
  return {
    resource: { attributes: kvs(spec.resource ?? DEFAULT_RESOURCE) },
    scopeSpans: [{ scope: spec.scope ?? DEFAULT_SCOPE, spans: spec.spans }],
  };
}

export function request(spec: ResourceSpec): unknown[] {
  return [resourceSpans(spec)];
}

/** Converts with a fixed clock and ids "e1", "e2", … in emission order. */
export function convert(resourceSpansValue: unknown): ConversionResult {
  let n = 0;
  return convertResourceSpans(resourceSpansValue, { now: () => new Date(NOW), randomId: () => `e${++n}` });
}

export interface EventView {
  type: string;
  timestamp: string;
  body: Record<string, unknown>;
  shallowTrace: boolean;
  spanIndex: number;
}

export function view(result: ConversionResult): EventView[] {
  return result.events.map((e) => ({
    type: e.event.type,
    timestamp: e.event.timestamp,
    body: e.event.body,
    shallowTrace: e.shallowTrace,
    spanIndex: e.spanIndex,
  }));
}

/** What remains after the (separate) seen-trace stage drops the flagged shallow trace-creates. */
export function withoutShallow(events: EventView[]): EventView[] {
  return events.filter((e) => !e.shallowTrace);
}

/** Base object with overrides applied; an override of `undefined` removes the key. */
function withOverrides(base: Record<string, unknown>, overrides: Record<string, unknown>): Record<string, unknown> {
  const result: Record<string, unknown> = { ...base };
  for (const [key, value] of Object.entries(overrides)) {
    if (value === undefined) delete result[key];
    else result[key] = value;
  }
  return result;
}

export function scopeMeta(scope: Record<string, unknown> = DEFAULT_SCOPE, attributes: Record<string, unknown> = {}) {
  return { ...scope, attributes };
}

/**
 * `{…extra, attributes, resourceAttributes:{service.name:"svc"}, scope:{my-lib 1.0}}`;
 * `attributes: null` leaves the key out (trace updates, Langfuse SDK scopes).
 */
export function meta(attributes: Record<string, unknown> | null = {}, extra: Record<string, unknown> = {}) {
  const result: Record<string, unknown> = { ...extra };
  if (attributes !== null) result.attributes = attributes;
  result.resourceAttributes = { "service.name": "svc" };
  result.scope = scopeMeta();
  return result;
}

export function observation(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return withOverrides(
    {
      id: R,
      traceId: T,
      parentObservationId: null,
      name: "op",
      startTime: START,
      endTime: END,
      environment: "default",
      completionStartTime: null,
      metadata: meta(),
      level: "DEFAULT",
      statusMessage: null,
      version: null,
      modelParameters: {},
      promptName: null,
      promptVersion: null,
      usageDetails: {},
      costDetails: {},
      input: null,
      output: null,
    },
    overrides,
  );
}

export function childObservation(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return observation({ id: C, parentObservationId: R, ...overrides });
}

export function fullTrace(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return withOverrides(
    {
      id: T,
      timestamp: START,
      environment: "default",
      name: "op",
      metadata: meta(),
      version: null,
      release: null,
      tags: [],
      input: null,
      output: null,
    },
    overrides,
  );
}

export function traceUpdate(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return withOverrides(
    { id: T, timestamp: START, environment: "default", metadata: meta(null), version: null, release: null, tags: [] },
    overrides,
  );
}

export function shallow(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return withOverrides({ id: T, timestamp: START, environment: "default" }, overrides);
}

/** Expected event views: a trace-create (envelope time = span start) or an observation (= now). */
export function traceEvent(body: Record<string, unknown>, spanIndex = 0, shallowTrace = false): EventView {
  return { type: "trace-create", timestamp: body.timestamp as string, body, shallowTrace, spanIndex };
}

export function obsEvent(type: string, body: Record<string, unknown>, spanIndex = 0): EventView {
  return { type, timestamp: NOW, body, shallowTrace: false, spanIndex };
}
