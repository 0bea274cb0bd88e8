import { z } from "zod";
import { compareIngestionOrder } from "../../model/events.js";
import type { EventRecord } from "../../pipeline/batch.js";
import type { ProcessorFactory } from "../../pipeline/component.js";

export const sortConfigSchema = z.strictObject({});

const byIngestionOrder = (a: EventRecord, b: EventRecord): number => compareIngestionOrder(a.event, b.event);

/**
 * Langfuse's order: creates before updates, each by envelope timestamp, stable. Within groups and
 * of groups by their first event, so it gives the same result before or after `group`.
 */
export const sortProcessorFactory: ProcessorFactory<typeof sortConfigSchema> = {
  kind: "processor",
  type: "sort",
  configSchema: sortConfigSchema,
  provides: [],
  requires: [],
  unsupportedIn: { otel: "sort orders Langfuse ingestion events; an otel pipeline stores the spans as sent and Langfuse's worker orders them" },
  create: () => ({
    start: async () => {},
    shutdown: async () => {},
    process(batch): void {
      for (const group of batch.groups) if (group.length > 1) group.sort(byIngestionOrder);
      batch.groups.sort((a, b) => byIngestionOrder(a[0]!, b[0]!));
    },
  }),
};
