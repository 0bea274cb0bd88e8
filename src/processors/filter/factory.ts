import { defineProcessor } from "../../pipeline/define-processor.js";
import type { ProcessorSettings } from "../../pipeline/component.js";
import type { EventBatch } from "../../pipeline/batch.js";
import type { SpanBatch } from "../../pipeline/span-batch.js";
import { filterConfigSchema, type FilterConfig } from "./config.js";
import { decideFilter, isSpanLevel, type FilterDecision } from "./decide.js";
import { applyToEvents, observationItems } from "./events.js";
import { compileFilter, type CompiledFilter } from "./rules.js";
import { decideEachSpan, spanItems } from "./spans.js";

class Filter {
  readonly #rules: CompiledFilter;
  readonly #spanLevel: boolean;

  constructor(
    private readonly settings: ProcessorSettings,
    config: FilterConfig,
  ) {
    this.#rules = compileFilter(config);
    this.#spanLevel = isSpanLevel(this.#rules);
  }

  spans(batch: SpanBatch): void {
    let decision: FilterDecision | undefined;
    const dropped = batch.filterSpans((spans) => {
      decision = this.#spanLevel ? decideEachSpan(spans, this.#rules) : decideFilter(spanItems(spans), this.#rules);
      return decision;
    });
    if (dropped > 0) batch.drop("filtered", dropped);
    this.#count(decision);
  }

  events(batch: EventBatch): void {
    const { items, observations } = observationItems(batch);
    if (items.length === 0) return;
    const decision = decideFilter(items, this.#rules);
    const dropped = applyToEvents(batch, observations, decision);
    if (dropped > 0) batch.drop("filtered", dropped);
    this.#count(decision);
  }

  #count(decision: FilterDecision | undefined): void {
    const labels = { pipeline: this.settings.pipeline, processor: this.settings.id.text };
    for (const [rule, count] of decision?.dropsByRule ?? []) this.settings.metrics.filterDrops.inc({ ...labels, rule }, count);
  }
}

/**
 * Drops the spans users do not want stored (health checks, HTTP and database auto-instrumentation,
 * streaming chunks) before anything is stored, on OTLP spans in both pipeline types and on native
 * observations. In an events pipeline it sees an OTLP request's spans before conversion, so a
 * dropped span never becomes an event, and its trace is made by Langfuse's rules from what is left.
 */
export const filterProcessorFactory = defineProcessor({
  type: "filter",
  configSchema: filterConfigSchema,
  beforeConversion: "required",
  setup: (settings, config) => new Filter(settings, config),
  events: (batch, filter) => filter.events(batch),
  spans: (batch, filter) => filter.spans(batch),
});
