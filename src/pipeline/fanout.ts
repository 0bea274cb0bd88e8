import type { PipelineType } from "./component.js";
import { InvalidDataError, isPipelineError } from "./errors.js";
import type { ConsumeResult, ItemRejection, PayloadConsumer, RequestContext, TracePayload } from "./payload.js";

/** How bad an error is for the client: the worst one decides the answer of a fanned-out request. */
const SEVERITY: Record<string, number> = { unauthenticated: 7, forbidden: 6, invalid: 5, too_large: 4, permanent: 3, overloaded: 2, retryable: 1 };

export interface TypedConsumer {
  type: PipelineType;
  consumer: PayloadConsumer;
}

/**
 * A receiver that feeds several pipelines hands each its own copy of the request. The request
 * succeeds only if every pipeline took it; per-item rejections are merged.
 *
 * Data goes by kind, as signals do in the Collector: OTLP spans go to the receiver's `otel`
 * pipelines when it feeds any (Langfuse's worker converts them; converting them here as well would
 * ingest every span twice), otherwise to its `events` pipelines; native ingestion batches go to
 * its `events` pipelines.
 */
export class FanoutConsumer implements PayloadConsumer {
  readonly consumers: readonly PayloadConsumer[];
  readonly #forSpans: readonly PayloadConsumer[];
  readonly #forBatches: readonly PayloadConsumer[];

  constructor(
    consumers: readonly TypedConsumer[],
    private readonly admitProcess: () => void = () => {},
  ) {
    const ofType = (type: PipelineType) => consumers.filter((entry) => entry.type === type).map((entry) => entry.consumer);
    this.#forBatches = ofType("events");
    this.#forSpans = ofType("otel").length > 0 ? ofType("otel") : this.#forBatches;
    this.consumers = consumers.map((entry) => entry.consumer);
  }

  admit(): void {
    this.admitProcess();
    for (const consumer of this.consumers) consumer.admit();
  }

  /** Every pipeline that would take the payload must accept the credentials; the worst refusal is the answer. */
  async authenticate(context: RequestContext, kind: TracePayload["kind"]): Promise<void> {
    const targets = kind === "otlp" ? this.#forSpans : this.#forBatches;
    if (targets.length === 1) return targets[0]!.authenticate(context, kind);
    throwWorst(await Promise.allSettled(targets.map((consumer) => consumer.authenticate(context, kind))));
  }

  async consume(payload: TracePayload, context: RequestContext): Promise<ConsumeResult> {
    const targets = payload.kind === "otlp" ? this.#forSpans : this.#forBatches;
    if (targets.length === 0) {
      throw new InvalidDataError(
        "this endpoint takes native Langfuse ingestion batches, but its receiver feeds only otel pipelines (raw OTLP spans); add an events pipeline for them",
      );
    }
    if (targets.length === 1) return targets[0]!.consume(payload, context);
    const settled = await Promise.allSettled(
      targets.map((consumer, index) => consumer.consume(index === 0 ? payload : copyOf(payload), context)),
    );
    throwWorst(settled);
    const results = settled.map((result) => (result as PromiseFulfilledResult<ConsumeResult>).value);
    const rejections = new Map<number, ItemRejection>();
    const ignored = new Set<number>();
    for (const result of results) {
      for (const rejection of result.rejections) if (!rejections.has(rejection.origin)) rejections.set(rejection.origin, rejection);
      for (const origin of result.ignored) ignored.add(origin);
    }
    return { itemCount: results[0]!.itemCount, rejections: [...rejections.values()], ignored, projectId: results[0]!.projectId };
  }
}

/** Throws the most severe failure of several pipelines, if any failed. */
function throwWorst(settled: ReadonlyArray<PromiseSettledResult<unknown>>): void {
  const errors = settled.flatMap((result) => (result.status === "rejected" ? [result.reason as unknown] : []));
  if (errors.length === 0) return;
  errors.sort((a, b) => severity(b) - severity(a));
  throw errors[0];
}

function severity(error: unknown): number {
  return isPipelineError(error) ? (SEVERITY[error.intent] ?? 0) : 3;
}

/** Each pipeline gets its own copy: processors edit events in place. */
function copyOf(payload: TracePayload): TracePayload {
  return payload.kind === "otlp" ? { kind: "otlp", request: payload.request.clone() } : structuredClone(payload);
}
