import { z } from "zod";
import { compareOrderKeys, ingestionOrderKey, type IngestionOrderKey } from "../../model/events.js";
import type { EventRecord } from "../../pipeline/batch.js";
import { defineProcessor } from "../../pipeline/define-processor.js";
import { sortPaced } from "../../pipeline/paced-sort.js";
import { Pacer } from "../../pipeline/pacing.js";

export const sortConfigSchema = z
  .strictObject({})
  .describe("Langfuse's order: creates before updates, each by envelope timestamp, stable; before or after `group` it gives the same groups in the same order.");

/**
 * Sorts `items` in place by the ingestion order of each one's event, stable. Each key is computed
 * once, not at every comparison (a timestamp parse each time), and a long list is sorted in slices
 * with turns of the event loop between them (sortPaced).
 */
function sortByIngestionOrder<T>(items: T[], eventOf: (item: T) => EventRecord["event"]): Promise<void> | undefined {
  const keyed = items.map((item): { key: IngestionOrderKey; item: T } => ({ key: ingestionOrderKey(eventOf(item)), item }));
  const putBack = () => keyed.forEach((entry, index) => (items[index] = entry.item));
  const sorting = sortPaced(keyed, (a, b) => compareOrderKeys(a.key, b.key));
  if (sorting !== undefined) return sorting.then(putBack);
  putBack();
  return undefined;
}

/**
 * Langfuse's order: creates before updates, each by envelope timestamp, stable. Within groups and
 * of groups by their first event, so it gives the same result before or after `group`.
 */
export const sortProcessorFactory = defineProcessor({
  type: "sort",
  configSchema: sortConfigSchema,
  async events(batch): Promise<void> {
    const pacer = new Pacer();
    for (const group of batch.groups) {
      const sorting = group.length > 1 ? sortByIngestionOrder(group, (record) => record.event) : undefined;
      if (sorting) await sorting;
      const pause = pacer.step();
      if (pause) await pause;
    }
    const sorting = sortByIngestionOrder(batch.groups, (group) => group[0]!.event);
    if (sorting) await sorting;
  },
});
