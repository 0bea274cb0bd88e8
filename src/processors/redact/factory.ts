import { defineProcessor } from "../../pipeline/define-processor.js";
import type { ProcessorSettings } from "../../pipeline/component.js";
import type { EventBatch } from "../../pipeline/batch.js";
import type { RequestContext } from "../../pipeline/payload.js";
import type { SpanBatch } from "../../pipeline/span-batch.js";
import type { IngestionEvent } from "../../model/events.js";
import { redactConfigSchema, ruleSetsOf, type RedactConfig } from "./config.js";
import { redactIngestionEvent } from "./events.js";
import { MaskingCallback } from "./masking-callback.js";
import { redactResourceSpans } from "./otlp.js";
import { Redactor } from "./redactor.js";

/**
 * One redact processor's rules: a Redactor per project with rules of its own, one for the rest.
 * Replacements are tallied while a batch is walked (synchronously) and added to the metric once
 * per batch and rule.
 */
class Redaction {
  readonly #default: Redactor;
  readonly #projects = new Map<string, Redactor>();
  readonly #tally = new Map<string, number>();
  readonly #callback: MaskingCallback | undefined;

  constructor(
    private readonly settings: ProcessorSettings,
    config: RedactConfig,
  ) {
    const count = (rule: string) => this.#tally.set(rule, (this.#tally.get(rule) ?? 0) + 1);
    const [[, defaults], ...projects] = ruleSetsOf(config) as [[string, ReturnType<typeof ruleSetsOf>[number][1]], ...ReturnType<typeof ruleSetsOf>];
    this.#default = new Redactor(defaults, count);
    const projectIds = Object.keys(config.projects);
    projects.forEach(([, rules], index) => this.#projects.set(projectIds[index]!, new Redactor(rules, count)));
    this.#callback = config.masking_callback && new MaskingCallback(config.masking_callback, settings);
  }

  #redactorFor(context: RequestContext): Redactor {
    return this.#projects.get(context.scope?.projectId ?? "") ?? this.#default;
  }

  async events(batch: EventBatch): Promise<void> {
    const redactor = this.#redactorFor(batch.context);
    if (!redactor.empty) {
      for (const record of batch.records()) redactIngestionEvent(record.event as IngestionEvent, redactor);
      this.#flush();
    }
    await this.#callback?.maskEvents(batch);
  }

  async spans(batch: SpanBatch): Promise<void> {
    const redactor = this.#redactorFor(batch.context);
    if (!redactor.empty) {
      // A scan of the text the batch would store: most requests hold nothing to redact, and keep their fast path.
      const json = batch.peekJson();
      const text = json?.toString(redactor.asciiOnly ? "latin1" : "utf8");
      if (text === undefined || redactor.mayChangeJson(text)) {
        // A protobuf request's stored text is redacted where it stands when it can be; else its objects.
        const known = json !== undefined && redactor.asciiOnly ? { json, latin1: text! } : undefined;
        if (!batch.editStoredText((latin1) => redactor.redactSpansJsonText(latin1), known)) redactResourceSpans(batch.editResourceSpans(), redactor);
        this.#flush();
      }
    }
    await this.#callback?.maskSpans(batch);
  }

  #flush(): void {
    const labels = { pipeline: this.settings.pipeline, processor: this.settings.id.text };
    for (const [rule, count] of this.#tally) this.settings.metrics.redactions.inc({ ...labels, rule }, count);
    this.#tally.clear();
  }
}

/**
 * Removes secrets and personal data before anything is stored (see src/processors/redact/redactor.ts
 * for the rules, otlp.ts and events.ts for what is walked). In an events pipeline it sees an OTLP
 * request as spans, before conversion, so key rules name the attributes clients send, and the
 * events made of them are what Langfuse's worker would make of the redacted spans.
 */
export const redactProcessorFactory = defineProcessor({
  type: "redact",
  configSchema: redactConfigSchema,
  requires: [{ capability: "project_scope", reason: "rules and the masking callback are per project, and the project is known only after auth" }],
  beforeConversion: "required",
  setup: (settings, config) => new Redaction(settings, config),
  events: (batch, redaction) => redaction.events(batch),
  spans: (batch, redaction) => redaction.spans(batch),
});
