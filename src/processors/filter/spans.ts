import { observationTypeOfRawSpan, rawResourceContext, rawScopeContext } from "../../conversion/convert.js";
import type { ResourceContext, ScopeContext } from "../../conversion/span-context.js";
import { spanIdText } from "../../model/span-ids.js";
import type { SpanInContext } from "../../pipeline/span-batch.js";
import { spanDropReason, type FilterDecision, type FilterItem } from "./decide.js";
import type { CompiledFilter, FilterSubject, SpanStatus } from "./rules.js";

type Attributes = Map<string, string | null>;

/** What the spans of one request share: resources and scopes are read once. */
class RequestCaches {
  readonly resourceAttributes = new Map<unknown, Attributes>();
  readonly #typeContexts = new Map<unknown, ResourceContext | ScopeContext | null>();

  contextOf<T>(raw: unknown, build: (raw: unknown) => T): T | null {
    if (!this.#typeContexts.has(raw)) {
      try {
        this.#typeContexts.set(raw, build(raw) as ResourceContext | ScopeContext);
      } catch {
        this.#typeContexts.set(raw, null); // attributes the converter refuses: the span gets no type
      }
    }
    return this.#typeContexts.get(raw) as T | null;
  }
}

/**
 * One span as the rules read it, each field read from the span's view on first use. `point`
 * moves it to another span, so a request's spans can be decided one by one with one subject.
 */
export class SpanSubject implements FilterSubject {
  readonly native = false;
  #view!: SpanInContext;
  #name: string | undefined | null = null;
  #attributes: Attributes | undefined;

  constructor(
    private readonly caches: RequestCaches,
    view?: SpanInContext,
  ) {
    if (view) this.point(view);
  }

  point(view: SpanInContext): this {
    this.#view = view;
    this.#name = null;
    this.#attributes = undefined;
    return this;
  }

  get name(): string | undefined {
    if (this.#name === null) {
      const name = this.#view.name;
      this.#name = typeof name === "string" ? name : undefined;
    }
    return this.#name;
  }

  get scopeName(): string | undefined {
    const name = this.#view.scopeName;
    return typeof name === "string" ? name : undefined;
  }

  get status(): SpanStatus {
    return statusOf(this.#view.statusCode);
  }

  observationType(): string | undefined {
    const view = this.#view;
    const resourceContext = this.caches.contextOf(view.resource, rawResourceContext);
    const scopeContext = this.caches.contextOf(view.scope, rawScopeContext);
    return resourceContext && scopeContext ? observationTypeOfRawSpan(view.span, resourceContext, scopeContext) : undefined;
  }

  attribute(key: string): string | null | undefined {
    return this.#ownAttributes().get(key);
  }

  resourceAttribute(key: string): string | null | undefined {
    const resource = this.#view.resource;
    let map = this.caches.resourceAttributes.get(resource);
    if (map === undefined) this.caches.resourceAttributes.set(resource, (map = attributeMap(field(resource, "attributes"))));
    return map.get(key);
  }

  attributeKeys(): Iterable<string> {
    return this.#ownAttributes().keys();
  }

  #ownAttributes(): Attributes {
    return (this.#attributes ??= attributeMap(field(this.#view.span, "attributes")));
  }
}

/** The filter's view of a request's spans, each a FilterItem (for rules that look across spans). */
export function spanItems(spans: readonly SpanInContext[]): FilterItem[] {
  const caches = new RequestCaches();
  return spans.map((view) => {
    const parent = view.parentSpanId;
    return { subject: new SpanSubject(caches, view), traceId: view.traceId, id: view.spanId, parentId: parent ? spanIdText(parent) : undefined, rawParent: parent };
  });
}

/**
 * The same decision as decideFilter for filters whose rules look at one span at a time (no
 * trace-level rule, orphans kept), made span by span with one subject: nothing per span is kept.
 */
export function decideEachSpan(spans: readonly SpanInContext[], filter: CompiledFilter): FilterDecision {
  const subject = new SpanSubject(new RequestCaches());
  const keep = new Array<boolean>(spans.length);
  const dropsByRule = new Map<string, number>();
  spans.forEach((view, index) => {
    subject.point(view);
    const reason = spanDropReason(subject, filter);
    keep[index] = reason === undefined;
    if (reason !== undefined) dropsByRule.set(reason, (dropsByRule.get(reason) ?? 0) + 1);
  });
  return { keep, dropsByRule, reparent: new Map(), droppedTraces: new Set() };
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
