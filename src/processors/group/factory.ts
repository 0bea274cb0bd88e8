import { z } from "zod";
import { entityTypeOf } from "../../model/events.js";
import type { EventRecord } from "../../pipeline/batch.js";
import { defineProcessor } from "../../pipeline/define-processor.js";
import { Pacer } from "../../pipeline/pacing.js";

export const groupConfigSchema = z
  .strictObject({})
  .describe(
    "One group per entity (the event type's entity and the body id): one blob and one job each. Without `group`, every event is its own blob and job (still valid for the worker, just more objects).",
  );

/** `${entityType}-${body.id}`, or undefined for events that cannot be stored (no body id). */
export function groupKey(record: EventRecord): string | undefined {
  const entityType = entityTypeOf(record.event.type);
  const bodyId = record.event.body?.id;
  if (entityType === undefined || typeof bodyId !== "string" || bodyId === "") return undefined;
  return `${entityType}-${bodyId}`;
}

/**
 * One group per entity of the request (a trace and a span with the same id are two entities):
 * one blob and one job each, instead of one per event. Groups keep the order of their first event.
 * Events without a body id stay alone; the exporters skip them, as Langfuse does.
 */
export const groupProcessorFactory = defineProcessor({
  type: "group",
  configSchema: groupConfigSchema,
  requires: [{ capability: "validated_events", reason: "groups are keyed by event type and body id, which validate checks" }],
  async events(batch): Promise<void> {
    const byKey = new Map<string, EventRecord[]>();
    const groups: EventRecord[][] = [];
    const pacer = new Pacer();
    for (const record of batch.records()) {
      const key = groupKey(record);
      const group = key === undefined ? undefined : byKey.get(key);
      if (group) {
        group.push(record);
      } else {
        const created = [record];
        if (key !== undefined) byKey.set(key, created);
        groups.push(created);
      }
      const pause = pacer.step();
      if (pause) await pause;
    }
    batch.groups = groups;
  },
});
