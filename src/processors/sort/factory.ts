import { z } from "zod";
import { compareOrderKeys, ingestionOrderKey, type IngestionOrderKey } from "../../model/events.js";
import type { EventRecord } from "../../pipeline/batch.js";
import type { ProcessorFactory } from "../../pipeline/component.js";

export const sortConfigSchema = z.strictObject({});

/**
 * Sorts `items` in place by the ingestion order of each one's event, stable. Each key is computed
 * once, not at every comparison: one sort cannot be sliced, and with a timestamp parse per
 * comparison (n log n of them) it was the longest block of a very large request.
 */
function sortByIngestionOrder<T>(items: T[], eventOf: (item: T) => EventRecord["event"]): void {
  const keyed = items.map((item): { key: IngestionOrderKey; item: T } => ({ key: ingestionOrderKey(eventOf(item)), item }));
  keyed.sort((a, b) => compareOrderKeys(a.key, b.key));
  keyed.forEach((entry, index) => (items[index] = entry.item));
}

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
      for (const group of batch.groups) if (group.length > 1) sortByIngestionOrder(group, (record) => record.event);
      sortByIngestionOrder(batch.groups, (group) => group[0]!.event);
    },
  }),
};
