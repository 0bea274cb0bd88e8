import { isPipelineError } from "./errors.js";
import type { ConsumeResult, ItemRejection, PayloadConsumer, RequestContext, TracePayload } from "./payload.js";

/** How bad an error is for the client: the worst one decides the answer of a fanned-out request. */
const SEVERITY: Record<string, number> = { unauthenticated: 7, forbidden: 6, invalid: 5, too_large: 4, permanent: 3, overloaded: 2, retryable: 1 };

/**
 * A receiver that feeds several pipelines hands each its own copy of the request. The request
 * succeeds only if every pipeline took it; per-item rejections are merged.
 */
export class FanoutConsumer implements PayloadConsumer {
  constructor(
    readonly consumers: readonly PayloadConsumer[],
    private readonly admitProcess: () => void = () => {},
  ) {}

  admit(): void {
    this.admitProcess();
    for (const consumer of this.consumers) consumer.admit();
  }

  async consume(payload: TracePayload, context: RequestContext): Promise<ConsumeResult> {
    if (this.consumers.length === 1) return this.consumers[0]!.consume(payload, context);
    const settled = await Promise.allSettled(
      this.consumers.map((consumer, index) => consumer.consume(index === 0 ? payload : structuredClone(payload), context)),
    );
    const errors = settled.flatMap((result) => (result.status === "rejected" ? [result.reason as unknown] : []));
    if (errors.length > 0) {
      errors.sort((a, b) => severity(b) - severity(a));
      throw errors[0];
    }
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

function severity(error: unknown): number {
  return isPipelineError(error) ? (SEVERITY[error.intent] ?? 0) : 3;
}
