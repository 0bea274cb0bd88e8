import type { ConsumeResult } from "../../pipeline/payload.js";
import type { PartialSuccess } from "../../otlp/codec.js";

/** OTLP recommends keeping response messages small; clients log them. */
const MAX_MESSAGE_LENGTH = 4096;
const MAX_REASONS = 10;

/**
 * OTLP `partial_success` for the spans the pipeline refused: how many, and why (the first few
 * reasons). Undefined when every span was accepted. Langfuse itself rejects the whole export.
 */
export function partialSuccessOf(result: ConsumeResult): PartialSuccess | undefined {
  if (result.rejections.length === 0) return undefined;
  const reasonsBySpan = new Map<number, string[]>();
  for (const rejection of result.rejections) {
    const reasons = reasonsBySpan.get(rejection.origin) ?? [];
    reasons.push(`${rejection.message}: ${rejection.error.replace(/\s+/g, " ")}`);
    reasonsBySpan.set(rejection.origin, reasons);
  }
  const listed = [...reasonsBySpan]
    .slice(0, MAX_REASONS)
    .map(([span, reasons]) => `span #${span}: ${reasons.join("; ")}`)
    .join("; ");
  const more = reasonsBySpan.size > MAX_REASONS ? `; and ${reasonsBySpan.size - MAX_REASONS} more` : "";
  let message = `${reasonsBySpan.size} of ${result.itemCount} spans rejected: ${listed}${more}`;
  if (message.length > MAX_MESSAGE_LENGTH) message = `${message.slice(0, MAX_MESSAGE_LENGTH - 1)}…`;
  return { rejectedSpans: reasonsBySpan.size, errorMessage: message };
}
