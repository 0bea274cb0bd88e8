import type { DropReason } from "./batch.js";
import type { RequestContext } from "./payload.js";

/**
 * The spans of one request inside an `otel` pipeline: the `resourceSpans` array as it will be
 * stored, in the OTLP/JSON shape of src/model/otlp.ts. Processors may remove spans; what is left
 * is written as one object. Before `validate` the structure is unchecked, so everything here
 * walks it defensively.
 */
export class SpanBatch {
  readonly drops = new Map<DropReason, number>();

  constructor(
    readonly context: RequestContext,
    public resourceSpans: unknown[],
  ) {}

  get spanCount(): number {
    let count = 0;
    for (const spans of this.#spanLists()) count += spans.length;
    return count;
  }

  /** Every span object, in request order. */
  *spans(): IterableIterator<unknown> {
    for (const spans of this.#spanLists()) yield* spans;
  }

  /**
   * Keeps the spans for which `keep` returns true. Scopes and resources left without spans are
   * removed, so the stored object holds nothing the worker would skip anyway.
   */
  retainSpans(keep: (span: unknown) => boolean): void {
    const before = this.resourceSpans;
    const resources: unknown[] = [];
    for (const resource of this.resourceSpans) {
      const scopes = arrayField(resource, "scopeSpans");
      if (scopes === undefined) {
        resources.push(resource);
        continue;
      }
      const keptScopes: unknown[] = [];
      for (const scope of scopes) {
        const spans = arrayField(scope, "spans");
        if (spans === undefined) {
          keptScopes.push(scope);
          continue;
        }
        const kept = spans.filter(keep);
        if (kept.length === spans.length) keptScopes.push(scope);
        else if (kept.length > 0) keptScopes.push({ ...(scope as object), spans: kept });
      }
      if (keptScopes.length === scopes.length && keptScopes.every((scope, index) => scope === scopes[index])) resources.push(resource);
      else if (keptScopes.length > 0) resources.push({ ...(resource as object), scopeSpans: keptScopes });
    }
    // Unchanged stays the same array, so the pipeline knows the request's own bytes still describe it.
    const unchanged = resources.length === before.length && resources.every((resource, index) => resource === before[index]);
    if (!unchanged) this.resourceSpans = resources;
  }

  /** Counts spans that leave the batch as successes without being exported. */
  drop(reason: DropReason, count = 1): void {
    this.drops.set(reason, (this.drops.get(reason) ?? 0) + count);
  }

  *#spanLists(): IterableIterator<unknown[]> {
    for (const resource of this.resourceSpans) {
      for (const scope of arrayField(resource, "scopeSpans") ?? []) {
        const spans = arrayField(scope, "spans");
        if (spans !== undefined) yield spans;
      }
    }
  }
}

function arrayField(value: unknown, field: string): unknown[] | undefined {
  if (typeof value !== "object" || value === null) return undefined;
  const inner = (value as Record<string, unknown>)[field];
  return Array.isArray(inner) ? inner : undefined;
}

/**
 * A span id as Langfuse's worker reads it: strings unchanged (OTLP/JSON hex), byte forms (a
 * Node Buffer serialised as `{type: "Buffer", data}`, a byte array) as lower-case hex.
 * Undefined for anything else.
 */
export function spanIdText(id: unknown): string | undefined {
  if (typeof id === "string") return id;
  if (id instanceof Uint8Array) return Buffer.from(id.buffer, id.byteOffset, id.byteLength).toString("hex");
  const bytes = Array.isArray(id) ? id : isBufferJson(id) ? id.data : undefined;
  if (bytes === undefined || !bytes.every((byte) => Number.isInteger(byte) && byte >= 0 && byte <= 255)) return undefined;
  return Buffer.from(bytes as number[]).toString("hex");
}

export function isBufferJson(value: unknown): value is { type: "Buffer"; data: unknown[] } {
  return typeof value === "object" && value !== null && (value as { type?: unknown }).type === "Buffer" && Array.isArray((value as { data?: unknown }).data);
}
