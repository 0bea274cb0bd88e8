import { compareIngestionOrder, type EntityType, type IngestionEvent } from "../model/events.js";
import { ExportGroup } from "../pipeline/export.js";
import type { ExportContext, SpoolRecord } from "./record-codec.js";

/**
 * Merging spooled records for one export (the `batch` processor): groups of the same entity from
 * different requests become one object and one job, as long as everything the job says about
 * them is the same (project, key, source and SDK attribution). A record never merges with itself
 * differently than it was stored, so merging one record is the identity.
 */
export interface MergedPart {
  context: ExportContext;
  groups: ExportGroup[];
}

function contextKey(context: ExportContext): string {
  const { scope } = context;
  return JSON.stringify([scope.projectId, scope.accessLevel, scope.publicKey, scope.orgId ?? null, context.source, context.sdkName, context.sdkVersion]);
}

function mergeGroups(groups: readonly ExportGroup[]): ExportGroup {
  if (groups.length === 1) return groups[0]!;
  const events = groups.flatMap((group) => JSON.parse(group.body.toString("utf8")) as IngestionEvent[]);
  // Langfuse's order within one object: creates before updates, each by timestamp (stable).
  events.sort(compareIngestionOrder);
  const first = groups[0]!;
  return ExportGroup.fromEvents(first.entityType as EntityType, first.eventBodyId, events);
}

export function mergeRecords(records: readonly SpoolRecord[]): MergedPart[] {
  if (records.length === 1) return [{ context: records[0]!.context, groups: records[0]!.groups }];
  const parts = new Map<string, { context: ExportContext; groups: Map<string, ExportGroup[]> }>();
  for (const record of records) {
    const key = contextKey(record.context);
    let part = parts.get(key);
    if (!part) {
      part = { context: record.context, groups: new Map() };
      parts.set(key, part);
    }
    for (const group of record.groups) {
      // A raw OTLP export is one object of its own: it never merges.
      const groupKey = group.entityType === "otel" ? `otel\u0000${group.firstEventId}` : `${group.entityType}\u0000${group.eventBodyId}`;
      const list = part.groups.get(groupKey);
      if (list) list.push(group);
      else part.groups.set(groupKey, [group]);
    }
  }
  return [...parts.values()].map((part) => ({ context: part.context, groups: [...part.groups.values()].map(mergeGroups) }));
}
