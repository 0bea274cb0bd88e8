import { observationTypeOfRawSpan, rawResourceContext, rawScopeContext } from "../../conversion/convert.js";
import type { ResourceContext, ScopeContext } from "../../conversion/span-context.js";
import { spanIdText } from "../../model/span-ids.js";
import type { SpanInContext } from "../../pipeline/span-batch.js";
import type { FilterItem } from "./decide.js";
import type { FilterSubject, SpanStatus } from "./rules.js";

type Attributes = Map<string, string | null>;

/** The filter's view of a request's spans: each span a FilterItem; resources and scopes are read once. */
export function spanItems(spans: readonly SpanInContext[]): FilterItem[] {
  const resourceAttributes = new Map<unknown, Attributes>();
  const typeContexts = new Map<unknown, ResourceContext | ScopeContext | null>();
  const contextOf = <T>(raw: unknown, build: (raw: unknown) => T): T | null => {
    if (!typeContexts.has(raw)) {
      try {
        typeContexts.set(raw, build(raw) as ResourceContext | ScopeContext);
      } catch {
        typeContexts.set(raw, null); // attributes the converter refuses: the span gets no type
      }
    }
    return typeContexts.get(raw) as T | null;
  };
  return spans.map((view) => {
    let attributes: Attributes | undefined;
    const ownAttributes = () => (attributes ??= attributeMap(field(view.span, "attributes")));
    const name = view.name;
    const scopeName = view.scopeName;
    const subject: FilterSubject = {
      name: typeof name === "string" ? name : undefined,
      scopeName: typeof scopeName === "string" ? scopeName : undefined,
      get status() {
        return statusOf(view.statusCode);
      },
      native: false,
      observationType() {
        const resourceContext = contextOf(view.resource, rawResourceContext);
        const scopeContext = contextOf(view.scope, rawScopeContext);
        return resourceContext && scopeContext ? observationTypeOfRawSpan(view.span, resourceContext, scopeContext) : undefined;
      },
      attribute: (key) => ownAttributes().get(key),
      resourceAttribute(key) {
        const resource = view.resource;
        let map = resourceAttributes.get(resource);
        if (map === undefined) resourceAttributes.set(resource, (map = attributeMap(field(resource, "attributes"))));
        return map.get(key);
      },
      attributeKeys: () => ownAttributes().keys(),
    };
    const parent = view.parentSpanId;
    return { subject, traceId: view.traceId, id: view.spanId, parentId: parent ? spanIdText(parent) : undefined, rawParent: parent };
  });
}

function field(value: unknown, name: string): unknown {
  return typeof value === "object" && value !== null ? (value as Record<string, unknown>)[name] : undefined;
}

function statusOf(code: unknown): SpanStatus {
  if (code === 2 || code === "STATUS_CODE_ERROR") return "error";
  if (code === 1 || code === "STATUS_CODE_OK") return "ok";
  return "unset";
}

/** An OTLP attribute list as key → value text (null for values that are not scalars). A repeated key reads as its last value, as in the converted attributes. */
function attributeMap(list: unknown): Attributes {
  const map: Attributes = new Map();
  if (!Array.isArray(list)) return map;
  for (const entry of list) {
    const key = (entry as { key?: unknown } | null)?.key;
    if (typeof key !== "string") continue;
    map.set(key, scalarText((entry as { value?: unknown }).value));
  }
  return map;
}

function scalarText(value: unknown): string | null {
  if (typeof value !== "object" || value === null) return null;
  const any = value as Record<string, unknown>;
  for (const field of ["stringValue", "intValue", "doubleValue", "boolValue"]) {
    const inner = any[field];
    if (inner === undefined || inner === null) continue;
    if (typeof inner === "string" || typeof inner === "number" || typeof inner === "boolean" || typeof inner === "bigint") return String(inner);
    // protobufjs Long objects
    if (typeof inner === "object" && typeof (inner as { toString?: unknown }).toString === "function") return String(inner);
  }
  return null;
}
