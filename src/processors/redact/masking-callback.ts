import { setTimeout as sleep } from "node:timers/promises";
import type { ProcessorSettings } from "../../pipeline/component.js";
import type { EventBatch } from "../../pipeline/batch.js";
import { RetryableError } from "../../pipeline/errors.js";
import type { RequestContext } from "../../pipeline/payload.js";
import type { SpanBatch } from "../../pipeline/span-batch.js";
import { nestsDeeperThan } from "../../model/nesting.js";
import type { RedactConfig } from "./config.js";

type CallbackConfig = NonNullable<RedactConfig["masking_callback"]>;

/** Headers the callback always gets from us; a propagated header of the same name is not sent. */
const OWN_HEADERS: ReadonlySet<string> = new Set(["content-type", "x-langfuse-org-id", "x-langfuse-project-id", "content-length", "host"]);

/**
 * Langfuse's ingestion masking callback (LANGFUSE_INGESTION_MASKING_CALLBACK_*), so a masking
 * service written for Langfuse works here unchanged:
 *
 * - one POST per request, whose body is the request's `resourceSpans` array as Langfuse sends it
 *   (the JSON it stores), with `Content-Type: application/json`, `X-Langfuse-Org-Id` (empty when
 *   unknown), `X-Langfuse-Project-Id` and the receiver's `propagate_headers`;
 * - an attempt succeeds with a 2xx answer whose body is JSON; the answer replaces the spans;
 * - each attempt has its own timeout; between attempts 100 ms, doubling, at most 1 s;
 * - after the last failed attempt, fail-open stores the data as it is; fail-closed refuses it.
 *
 * Where this differs from Langfuse, it is to lose nothing and leak nothing: an answer that is not
 * an array (Langfuse would store it and lose the spans) or that nests too deep counts as a failed
 * attempt; fail-closed refuses the request with a retryable error, so the client sends it again
 * (Langfuse drops it after having answered 200); a propagated header cannot replace the project
 * or org header (in Langfuse it is appended to them); answers are never logged.
 *
 * Native ingestion batches have no spans: each event is sent as one span of scope `langfuse-sdk`
 * holding its input, output and metadata as JSON text under Langfuse's attribute names
 * (`langfuse.observation.*`, `langfuse.trace.*` for trace-create), as Langfuse's SDKs send them;
 * what comes back is written into the events.
 */
export class MaskingCallback {
  constructor(
    private readonly config: CallbackConfig,
    private readonly settings: ProcessorSettings,
  ) {}

  async maskSpans(batch: SpanBatch): Promise<void> {
    if (batch.spanCount === 0) return;
    const masked = await this.#call(batch.context, JSON.stringify(batch.resourceSpans));
    if (masked !== undefined) batch.replaceResourceSpans(masked);
  }

  async maskEvents(batch: EventBatch): Promise<void> {
    const records = [...batch.records()];
    const carriers = records.map((record, index) => carrierOf(record.event, index));
    if (carriers.every((carrier) => carrier === undefined)) return;
    const spans = carriers.flatMap((carrier) => (carrier === undefined ? [] : [carrier.span]));
    const masked = await this.#call(batch.context, JSON.stringify([{ resource: { attributes: [] }, scopeSpans: [{ scope: { name: "langfuse-sdk" }, spans }] }]));
    if (masked === undefined) return;
    const maskedSpans = spansOf(masked);
    if (maskedSpans === undefined || maskedSpans.length !== spans.length) {
      // The service changed the shape it was asked to keep: the events cannot be matched up.
      await this.#failed(batch.context, "the answer does not hold one span per event");
      return;
    }
    let next = 0;
    for (const carrier of carriers) if (carrier !== undefined) carrier.writeBack(maskedSpans[next++]);
  }

  /** The masked resource spans, or undefined when every attempt failed and the config says fail-open. */
  async #call(context: RequestContext, body: string): Promise<unknown[] | undefined> {
    const headers: Record<string, string> = {
      "content-type": "application/json",
      "x-langfuse-org-id": context.scope?.orgId ?? "",
      "x-langfuse-project-id": context.scope?.projectId ?? "",
    };
    for (const [name, value] of Object.entries(context.propagatedHeaders ?? {})) {
      if (!OWN_HEADERS.has(name.toLowerCase())) headers[name.toLowerCase()] = value;
    }
    const attempts = this.config.max_retries + 1;
    let reason = "";
    for (let attempt = 1; attempt <= attempts; attempt += 1) {
      if (attempt > 1) await sleep(Math.min(100 * 2 ** (attempt - 2), 1000));
      const started = performance.now();
      let status: string;
      try {
        const response = await fetch(this.config.url, { method: "POST", headers, body, signal: AbortSignal.timeout(this.config.timeout) });
        status = String(response.status);
        const text = await response.text();
        if (!response.ok) {
          reason = `HTTP ${response.status}`;
        } else {
          const answer = parseAnswer(text);
          if (typeof answer === "string") {
            status = "invalid";
            reason = answer;
          } else {
            this.#observe(status, attempt, started);
            this.settings.metrics.maskingCallbackRequests.inc({ processor: this.settings.id.text, outcome: "masked" });
            return answer;
          }
        }
      } catch (error) {
        const timedOut = (error as Error).name === "TimeoutError";
        status = timedOut ? "timeout" : "error";
        reason = timedOut ? `no answer within ${this.config.timeout} ms` : `${(error as Error).message}`;
      }
      this.#observe(status, attempt, started);
    }
    await this.#failed(context, `${attempts} attempt${attempts === 1 ? "" : "s"} failed, the last: ${reason}`);
    return undefined;
  }

  async #failed(context: RequestContext, reason: string): Promise<void> {
    const closed = this.config.fail_closed;
    this.settings.metrics.maskingCallbackRequests.inc({ processor: this.settings.id.text, outcome: closed ? "failed_closed" : "failed_open" });
    this.settings.logger.warn(
      { projectId: context.scope?.projectId, reason, failClosed: closed },
      closed ? "masking callback failed: request refused, the client will send it again" : "masking callback failed: stored unmasked (fail_closed: false)",
    );
    if (closed) throw new RetryableError("the masking service is unavailable; send the request again later", 5_000);
  }

  #observe(status: string, attempt: number, started: number): void {
    this.settings.metrics.maskingCallbackDuration.observe({ processor: this.settings.id.text, status, attempt: String(attempt) }, (performance.now() - started) / 1000);
  }
}

/** The answer's resource spans, or why it is not usable (the reason names no content). */
function parseAnswer(text: string): unknown[] | string {
  let answer: unknown;
  try {
    answer = JSON.parse(text);
  } catch {
    return "the answer is not JSON";
  }
  if (!Array.isArray(answer)) return "the answer is not a JSON array of resource spans";
  if (nestsDeeperThan(answer, 128 + 8)) return "the answer nests too deep";
  return answer;
}

function spansOf(resourceSpans: unknown[]): unknown[] | undefined {
  const scopeSpans = (resourceSpans[0] as { scopeSpans?: unknown } | undefined)?.scopeSpans;
  const spans = Array.isArray(scopeSpans) ? (scopeSpans[0] as { spans?: unknown } | undefined)?.spans : undefined;
  return resourceSpans.length === 1 && Array.isArray(spans) ? spans : undefined;
}

const CARRIED_FIELDS = ["input", "output", "metadata"] as const;

/** An event as the span that carries its input, output and metadata to the service, and how to take the answer back. */
function carrierOf(event: unknown, index: number): { span: unknown; writeBack: (span: unknown) => void } | undefined {
  const body = (event as { body?: unknown } | null)?.body;
  if (typeof body !== "object" || body === null || Array.isArray(body)) return undefined;
  const fields = body as Record<string, unknown>;
  const domain = (event as { type?: unknown }).type === "trace-create" ? "trace" : "observation";
  const attributes = CARRIED_FIELDS.filter((field) => fields[field] !== undefined && fields[field] !== null).map((field) => ({
    key: `langfuse.${domain}.${field}`,
    value: { stringValue: JSON.stringify(fields[field]) ?? "null" },
  }));
  if (attributes.length === 0) return undefined;
  const traceId = typeof fields.traceId === "string" ? fields.traceId : typeof fields.id === "string" && domain === "trace" ? fields.id : "";
  const span = { traceId, spanId: index.toString(16).padStart(16, "0"), name: typeof fields.name === "string" ? fields.name : "", attributes };
  return {
    span,
    writeBack(masked) {
      const list = (masked as { attributes?: unknown } | null)?.attributes;
      if (!Array.isArray(list)) return;
      for (const field of CARRIED_FIELDS) {
        const entry = list.find((item) => (item as { key?: unknown } | null)?.key === `langfuse.${domain}.${field}`) as { value?: { stringValue?: unknown } } | undefined;
        if (fields[field] === undefined || fields[field] === null) continue;
        const text = entry?.value?.stringValue;
        if (typeof text !== "string") {
          // The service removed what it was given: it does not come back.
          delete fields[field];
          continue;
        }
        let value: unknown;
        try {
          value = JSON.parse(text);
        } catch {
          value = text; // the service put plain text in place of the JSON (a whole-value mask)
        }
        Object.defineProperty(fields, field, { value, enumerable: true, writable: true, configurable: true });
      }
    },
  };
}
