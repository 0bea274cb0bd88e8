import { keptSpansText, transcodeTraceRequest, type SpanSummary, type TextRange, type TranscodedRequest } from "../otlp/protobuf-json.js";
import type { BufferPool } from "./buffer-pool.js";
import type { OtlpTraceRequest } from "../otlp/trace-request.js";
import type { DropReason } from "./batch.js";
import type { ItemRejection, RequestContext } from "./payload.js";
import { nestsDeeperThan, TOO_DEEP } from "../model/nesting.js";
import { InvalidDataError } from "./errors.js";
import { spanIdText } from "../model/span-ids.js";

/**
 * The spans of one request inside an `otel` pipeline (or an events pipeline's processors that work
 * before conversion), stored at the end as one JSON object (the `resourceSpans` array in the
 * OTLP/JSON shape of src/model/otlp.ts). Processors count spans, keep or drop them by trace id or
 * by what they read of each span (filterSpans), check them, and edit their text (redact), so
 * protobuf requests are not turned into objects when the transcoder can read them: their JSON is
 * written straight from the bytes (src/otlp/protobuf-json.ts), and from then on that text is what
 * the batch holds. Everything else (OTLP/JSON, protobuf the transcoder leaves alone, a change that
 * needs the details) works on objects, parsed from the text where there is one. Before `validate`
 * the structure is unchecked, so the object side walks it defensively.
 */
export class SpanBatch {
  readonly drops = new Map<DropReason, number>();
  /** Spans refused before any processor ran (nested too deep), reported to the client in partial_success. */
  readonly rejections: ItemRejection[] = [];
  #objects: unknown[] | undefined;
  /** For compact OTLP/JSON requests, until something needs their strings: the structure only (OtlpTraceRequest.structure). */
  #structure: { request: OtlpTraceRequest; spans: unknown[] } | undefined;
  /** The objects' JSON text as received, while no span was dropped. */
  #receivedJson: Buffer | undefined;
  /**
   * For protobuf requests: the transcoded text with a summary of each span it holds, and once a
   * span was dropped, which of them are kept and how many. From the transcode on, the text is what
   * the batch holds: objects are parsed from it. Its layout holds until the text is rewritten.
   */
  #protobuf: { transcoded: TranscodedRequest; kept: boolean[] | undefined; keptCount: number } | undefined;
  /** The transcoded text serialise() returned last: someone else's to give back. */
  #handedOver: Buffer | undefined;

  constructor(
    readonly context: RequestContext,
    request: OtlpTraceRequest,
    /** Where the transcoded text is borrowed from (the daemon's stored-JSON pool); none: not pooled. */
    private readonly pool?: BufferPool,
  ) {
    this.#read(request);
    this.#refuseTooDeep();
  }

  #read(request: OtlpTraceRequest): void {
    if (request.protobuf !== undefined) {
      try {
        const transcoded = transcodeTraceRequest(request.protobuf, this.pool);
        this.#protobuf = { transcoded, kept: undefined, keptCount: transcoded.spans.length };
        return;
      } catch {
        // Unusual encodings take the object path, whose decoder accepts or refuses the body.
      }
    }
    this.#receivedJson = request.json;
    if (this.#receivedJson !== undefined) this.#structure = { request, spans: request.structure };
    else this.#objects = request.resourceSpans;
  }

  /**
   * Spans that nest deeper than the bound (or whose scope or resource does) leave the batch at
   * once, each refused with its index: storing one would fail the whole export in Langfuse's
   * worker, and serialising one here would overflow the stack.
   */
  #refuseTooDeep(): void {
    const protobuf = this.#protobuf;
    let verdicts: Array<string | undefined>;
    if (protobuf) {
      verdicts = protobuf.transcoded.spans.map((span) => (span.tooDeep ? `span: ${TOO_DEEP}` : undefined));
    } else {
      verdicts = [];
      for (const resource of this.#structure?.spans ?? this.#objects!) {
        const resourceProblem = nestsDeeperThan(field(resource, "resource")) ? `resource: ${TOO_DEEP}` : undefined;
        for (const scope of arrayField(resource, "scopeSpans") ?? []) {
          const scopeProblem = resourceProblem ?? (nestsDeeperThan(field(scope, "scope")) ? `scope: ${TOO_DEEP}` : undefined);
          for (const span of arrayField(scope, "spans") ?? []) verdicts.push(scopeProblem ?? (nestsDeeperThan(span) ? `span: ${TOO_DEEP}` : undefined));
        }
      }
    }
    if (verdicts.every((verdict) => verdict === undefined)) return;
    verdicts.forEach((error, origin) => {
      if (error !== undefined) this.rejections.push({ origin, status: 400, message: "Invalid span", error });
    });
    if (protobuf) {
      protobuf.kept = verdicts.map((verdict) => verdict === undefined);
      protobuf.keptCount -= this.rejections.length;
      return;
    }
    this.#toObjects();
    let index = 0;
    this.#retainObjects(() => verdicts[index++] === undefined);
  }

  get spanCount(): number {
    const protobuf = this.#protobuf;
    if (protobuf) return protobuf.keptCount;
    let count = 0;
    for (const spans of spanLists(this.#structure?.spans ?? this.#objects!)) count += spans.length;
    return count;
  }

  /**
   * Keeps the spans for which `keep(traceId)` is true (the trace id as the worker reads it;
   * undefined when absent). Scopes and resources left without spans are removed, so the stored
   * object holds nothing the worker would skip anyway. Returns how many spans were dropped.
   */
  retainByTraceId(keep: (traceId: string | undefined) => boolean): number {
    const protobuf = this.#protobuf;
    if (protobuf) {
      let dropped = 0;
      const kept = protobuf.transcoded.spans.map((span, index) => {
        if (!(protobuf.kept?.[index] ?? true)) return false;
        if (keep(span.traceId)) return true;
        dropped += 1;
        return false;
      });
      if (dropped > 0) {
        protobuf.kept = kept;
        protobuf.keptCount -= dropped;
      }
      return dropped;
    }
    let dropped = 0;
    // The sampling hash reads the id's exact text: decode the strings.
    this.#toObjects();
    this.#retainObjects((span) => {
      if (keep(spanIdText((span as { traceId?: unknown } | null)?.traceId))) return true;
      dropped += 1;
      return false;
    });
    return dropped;
  }

  /**
   * Runs a check of the whole export that throws when it refuses it (the validate processor's
   * Langfuse check). Protobuf requests can only fail such a check by a missing id, so they are
   * checked as objects only when a span lacks one; compact JSON is checked on its structure first,
   * then, when refused, on its decoded objects, so the message names decoded strings.
   */
  check(checkExport: (resourceSpans: readonly unknown[]) => void): void {
    const protobuf = this.#protobuf;
    if (protobuf) {
      const incomplete = protobuf.transcoded.spans.some((span, index) => !span.complete && (protobuf.kept?.[index] ?? true));
      if (!incomplete) return;
      this.#toObjects();
    }
    const structure = this.#structure;
    if (structure) {
      try {
        checkExport(structure.spans);
        return;
      } catch {
        // The same problems, named with the scopes' decoded names.
        this.#toObjects();
      }
    }
    checkExport(this.#objects!);
  }

  /**
   * The JSON text to store: the array of the resource spans that are left. A transcoded text it
   * returns is borrowed from the pool and belongs from then on to whoever stores it (the export
   * group made of it gives it back); the batch never gives that one back itself.
   */
  serialise(): Buffer {
    const protobuf = this.#protobuf;
    if (protobuf) {
      const { kept, transcoded } = protobuf;
      if (kept !== undefined) {
        if (transcoded.layout === undefined) {
          // Rewritten text (redact, an earlier serialise): the object path knows no offsets. Rare.
          this.#toObjects();
          return this.serialise();
        }
        const json = keptSpansText(transcoded, kept, this.pool);
        // The earlier text holds spans dropped since; unless it was handed on, nothing else has it.
        if (transcoded.json !== this.#handedOver) this.pool?.give(transcoded.json);
        protobuf.transcoded = { json, spans: transcoded.spans.filter((_, index) => kept[index]) };
        protobuf.kept = undefined;
      }
      return (this.#handedOver = protobuf.transcoded.json);
    }
    // A received body may be borrowed from the stored-JSON pool; only this pipeline holds it (the fanout
    // gives every other pipeline a copy), and the record that stores it gives it back.
    if (this.#receivedJson !== undefined) return this.#receivedJson;
    try {
      return Buffer.from(JSON.stringify(this.#objects), "utf8");
    } catch (error) {
      // Only fields that no span holds can still be this deep (too-deep spans, scopes and
      // resources with spans were refused at the start): a hostile shape, refused as a whole.
      if (error instanceof RangeError) throw new InvalidDataError(`the export ${TOO_DEEP} outside its spans`);
      throw error;
    }
  }

  /** The resource spans that are left, as objects (tests and the object path). */
  get resourceSpans(): unknown[] {
    this.#toObjects();
    return this.#objects!;
  }

  /**
   * The resource spans as objects for a processor that changes them in place (redact): from now
   * on the batch stores what these objects hold.
   */
  editResourceSpans(): unknown[] {
    this.#toObjects();
    this.#receivedJson = undefined;
    return this.#objects!;
  }

  /**
   * Puts other resource spans in place of the batch's (a masking service's answer). The spans
   * are counted again; they are trusted as far as the objects path trusts a client's JSON.
   */
  replaceResourceSpans(resourceSpans: unknown[]): void {
    this.#toObjects();
    this.#objects = resourceSpans;
    this.#receivedJson = undefined;
  }

  /**
   * Lets `edit` rewrite the JSON text a protobuf request is stored as, in place of working on its
   * objects (redact's fast path): it gets the text as Latin-1 (one character per byte, so UTF-8
   * passes through untouched) and returns the new text, or undefined when it cannot (then nothing
   * changed, and the caller works on objects). False when the batch holds no such text.
   */
  editStoredText(edit: (latin1: string) => string | undefined, known?: { json: Buffer; latin1: string }): boolean {
    const protobuf = this.#protobuf;
    if (!protobuf) return false;
    // `known`: the caller read peekJson() as Latin-1 already.
    const text = known?.json === protobuf.transcoded.json ? known.latin1 : protobuf.transcoded.json.toString("latin1");
    const edited = edit(text);
    if (edited === undefined) return false;
    if (edited !== text) {
      // Unless serialise() handed it on, nothing else has the earlier text.
      if (protobuf.transcoded.json !== this.#handedOver) this.pool?.give(protobuf.transcoded.json);
      // No layout: its offsets no longer hold (dropping spans later takes the object path).
      // Into a pooled buffer, as the transcoder's text was: a fresh one per request would cost full collections.
      const json = this.pool?.take(edited.length) ?? Buffer.allocUnsafeSlow(edited.length);
      json.write(edited, 0, "latin1");
      protobuf.transcoded = { json, spans: protobuf.transcoded.spans };
    }
    return true;
  }

  /**
   * The JSON text the batch would store, when it has one without building objects (a protobuf
   * request's transcoded text, a compact JSON body as received), for a quick scan: it may still
   * hold spans dropped since. Undefined once the batch works on objects.
   */
  peekJson(): Buffer | undefined {
    return this.#protobuf?.transcoded.json ?? this.#receivedJson;
  }

  /**
   * Lets `decide` see every span still in the batch, with its scope and resource, in request order
   * (objects to read, never to change), and keeps the spans it answers true for. `reparent` gives
   * kept spans (by the same index) a new parent span id, or none. Scopes and resources left empty
   * are removed. Returns how many spans were dropped.
   *
   * A protobuf request is read where the transcoder recorded each span's parts (a span is parsed
   * only when `decide` reads it whole) and stays text unless a span is reparented.
   */
  filterSpans(decide: (spans: readonly SpanInContext[]) => { keep: boolean[]; reparent?: ReadonlyMap<number, unknown> }): number {
    const protobuf = this.#protobuf;
    const layout = protobuf?.transcoded.layout;
    if (protobuf && layout) {
      const listed: number[] = [];
      const spans: SpanInContext[] = [];
      const text = new TextParts(protobuf.transcoded.json);
      for (const resource of layout.resources) {
        const resourcePart = text.part(resource.resource);
        for (const scope of resource.scopes) {
          const scopePart = text.part(scope.scope);
          const scopeName = text.part(scope.name);
          for (let index = scope.firstSpan; index < scope.firstSpan + scope.spanCount; index += 1) {
            if (!(protobuf.kept?.[index] ?? true)) continue;
            listed.push(index);
            spans.push(new TextSpan(text, protobuf.transcoded.spans[index]!, scopePart, scopeName, resourcePart));
          }
        }
      }
      const { keep, reparent } = decide(spans);
      const dropped = keep.filter((kept) => !kept).length;
      if (reparent === undefined || reparent.size === 0) {
        if (dropped > 0) {
          const kept = protobuf.kept ?? protobuf.transcoded.spans.map(() => true);
          listed.forEach((index, position) => (kept[index] = keep[position]!));
          protobuf.kept = kept;
          protobuf.keptCount -= dropped;
        }
        return dropped;
      }
      // Reparenting changes spans: they become objects (in the same order as `spans`).
      this.#toObjects();
      return this.#applyDecision(keep, reparent);
    }
    this.#toObjects();
    const { keep, reparent } = decide([...inContext(this.#objects!)]);
    return this.#applyDecision(keep, reparent);
  }

  #applyDecision(keep: boolean[], reparent: ReadonlyMap<number, unknown> | undefined): number {
    if (reparent !== undefined && reparent.size > 0) {
      let index = 0;
      for (const { span } of inContext(this.#objects!)) {
        if (reparent.has(index)) {
          const parent = reparent.get(index);
          if (parent === undefined) delete (span as Record<string, unknown>).parentSpanId;
          else (span as Record<string, unknown>).parentSpanId = parent;
        }
        index += 1;
      }
      this.#receivedJson = undefined;
    }
    let index = 0;
    let dropped = 0;
    this.#retainObjects(() => {
      const kept = keep[index++]!;
      if (!kept) dropped += 1;
      return kept;
    });
    return dropped;
  }

  /** Counts spans that leave the batch as successes without being exported. */
  drop(reason: DropReason, count = 1): void {
    this.drops.set(reason, (this.drops.get(reason) ?? 0) + count);
  }

  #toObjects(): void {
    const structure = this.#structure;
    if (structure) {
      this.#structure = undefined;
      this.#objects = structure.request.resourceSpans;
      return;
    }
    const protobuf = this.#protobuf;
    if (!protobuf) return;
    this.#protobuf = undefined;
    // The text parses to what protobufjs decodes (a fuzz property of the transcoder), at a fraction of the cost.
    this.#objects = JSON.parse(protobuf.transcoded.json.toString("utf8")) as unknown[];
    // Unless serialise() handed it on, nothing else has the transcoded text.
    if (protobuf.transcoded.json !== this.#handedOver) this.pool?.give(protobuf.transcoded.json);
    const kept = protobuf.kept;
    if (kept) {
      let index = 0;
      this.#retainObjects(() => kept[index++]!);
    }
  }

  #retainObjects(keep: (span: unknown) => boolean): void {
    const before = this.#objects!;
    const resources: unknown[] = [];
    for (const resource of before) {
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
    const unchanged = resources.length === before.length && resources.every((resource, index) => resource === before[index]);
    if (unchanged) return;
    this.#objects = resources;
    // The received bytes no longer describe what is left.
    this.#receivedJson = undefined;
  }
}

/**
 * One span with the scope and resource it belongs to, as a processor reads it (never changes it).
 * The common fields come without reading the rest; `span`, `scope` and `resource` are the objects
 * in the OTLP/JSON shape, parsed on first use when the batch holds text.
 */
export interface SpanInContext {
  readonly span: unknown;
  readonly scope: unknown;
  readonly resource: unknown;
  readonly name: unknown;
  readonly statusCode: unknown;
  readonly scopeName: unknown;
  readonly traceId: string | undefined;
  readonly spanId: string | undefined;
  /** As the span holds it (a hex string, or bytes' JSON), to give a reparented child. */
  readonly parentSpanId: unknown;
}

class ObjectSpan implements SpanInContext {
  constructor(
    readonly span: unknown,
    readonly scope: unknown,
    readonly resource: unknown,
  ) {}
  get name(): unknown {
    return field(this.span, "name");
  }
  get statusCode(): unknown {
    return field(field(this.span, "status"), "code");
  }
  get scopeName(): unknown {
    return field(this.scope, "name");
  }
  get traceId(): string | undefined {
    return spanIdText(field(this.span, "traceId"));
  }
  get spanId(): string | undefined {
    return spanIdText(field(this.span, "spanId"));
  }
  get parentSpanId(): unknown {
    return field(this.span, "parentSpanId");
  }
}

/** Parts of a transcoded text, each parsed once when first read. */
class TextParts {
  constructor(readonly text: Buffer) {}

  /** A JSON string's value; most hold no escape, and are read without a parse. */
  string(range: TextRange): unknown {
    const { text } = this;
    if (text.subarray(range[0], range[1]).indexOf(0x5c) === -1) return text.toString("utf8", range[0] + 1, range[1] - 1);
    return JSON.parse(text.toString("utf8", range[0], range[1]));
  }

  part(range: TextRange | undefined): { value: unknown } | undefined {
    if (range === undefined) return undefined;
    const { text } = this;
    let parsed: unknown;
    let done = false;
    return {
      get value() {
        if (!done) {
          parsed = JSON.parse(text.toString("utf8", range[0], range[1]));
          done = true;
        }
        return parsed;
      },
    };
  }
}

class TextSpan implements SpanInContext {
  #span: { value: unknown } | undefined;
  readonly #marks: NonNullable<SpanSummary["marks"]>;

  constructor(
    private readonly text: TextParts,
    private readonly summary: SpanSummary,
    private readonly scopePart: { value: unknown } | undefined,
    private readonly scopeNamePart: { value: unknown } | undefined,
    private readonly resourcePart: { value: unknown } | undefined,
  ) {
    this.#marks = summary.marks;
  }
  get span(): unknown {
    return (this.#span ??= this.text.part(this.#marks.range)!).value;
  }
  get scope(): unknown {
    return this.scopePart?.value;
  }
  get resource(): unknown {
    return this.resourcePart?.value;
  }
  get name(): unknown {
    const range = this.#marks.name;
    return range === undefined ? undefined : this.text.string(range);
  }
  get statusCode(): unknown {
    return field(this.text.part(this.#marks.status)?.value, "code");
  }
  get scopeName(): unknown {
    return this.scopeNamePart?.value;
  }
  get traceId(): string | undefined {
    return this.summary.traceId;
  }
  get spanId(): string | undefined {
    return this.#marks.spanId;
  }
  get parentSpanId(): unknown {
    return this.#marks.parentSpanId;
  }
}

function* inContext(resourceSpans: readonly unknown[]): IterableIterator<SpanInContext> {
  for (const resource of resourceSpans) {
    for (const scopeSpans of arrayField(resource, "scopeSpans") ?? []) {
      for (const span of arrayField(scopeSpans, "spans") ?? []) yield new ObjectSpan(span, field(scopeSpans, "scope"), field(resource, "resource"));
    }
  }
}

function* spanLists(resourceSpans: readonly unknown[]): IterableIterator<unknown[]> {
  for (const resource of resourceSpans) {
    for (const scope of arrayField(resource, "scopeSpans") ?? []) {
      const spans = arrayField(scope, "spans");
      if (spans !== undefined) yield spans;
    }
  }
}

function field(value: unknown, name: string): unknown {
  return typeof value === "object" && value !== null ? (value as Record<string, unknown>)[name] : undefined;
}

function arrayField(value: unknown, field: string): unknown[] | undefined {
  if (typeof value !== "object" || value === null) return undefined;
  const inner = (value as Record<string, unknown>)[field];
  return Array.isArray(inner) ? inner : undefined;
}
