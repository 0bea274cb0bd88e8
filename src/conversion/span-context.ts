/**
 * The already-validated, already-converted view of one span that every mapping rule reads.
 * Resource and scope parts are built once per resource / scope and shared by their spans.
 */
import type { AttributeMap } from "./attributes.js";

export interface ResourceContext {
  /** Converted resource attributes (§1). */
  readonly attributes: AttributeMap;
  /** The same attributes as a plain object: `metadata.resourceAttributes`. Copied per body. */
  readonly attributesObject: Readonly<Record<string, unknown>>;
  /** meta(resource attributes, "trace") of §10: lands in trace and observation metadata. */
  readonly traceMetadata: Readonly<Record<string, unknown>>;
}

export interface ScopeContext {
  /** `scope.name` when it is a string; every "scope X" switch compares against it. */
  readonly name: string | undefined;
  readonly version: unknown;
  /** `{…scope, attributes: converted scope attributes}`: `metadata.scope`. Copied per body. */
  readonly metadataObject: Readonly<Record<string, unknown>>;
  /** Scope name starts with `langfuse-sdk`: metadata.attributes is left out (§10, §11). */
  readonly isLangfuseSdk: boolean;
}

/** A span event that may feed input/output (§6); other events are never converted. */
export interface SpanEventContext {
  readonly name: string;
  readonly attributes: AttributeMap;
}

export interface SpanContext {
  readonly traceId: string;
  readonly spanId: string;
  /** Rendered parent span id, or null for "no parent". */
  readonly parentSpanId: string | null;
  /** `span.name` when it is a string. */
  readonly name: string | undefined;
  readonly startMs: number;
  readonly endMs: number;
  /** ISO forms of the two times, formatted once: several body fields and envelopes repeat them. */
  readonly startIso: string;
  readonly endIso: string;
  readonly attributes: AttributeMap;
  readonly events: readonly SpanEventContext[];
  readonly statusCode: unknown;
  readonly statusMessage: unknown;
  readonly resource: ResourceContext;
  readonly scope: ScopeContext;
}
