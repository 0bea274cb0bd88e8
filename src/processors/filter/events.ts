import type { EventBatch, EventRecord } from "../../pipeline/batch.js";
import type { FilterDecision, FilterItem } from "./decide.js";
import type { FilterSubject } from "./rules.js";

/** `span-create`, `generation-update`, …: observation events; `observation-*` carries its type in the body. */
const OBSERVATION_EVENT = /^([a-z]+)-(create|update)$/;
const NOT_OBSERVATIONS = new Set(["trace", "score", "dataset", "sdk"]);

interface Observation {
  records: EventRecord[];
  body: Record<string, unknown>;
  type: string | undefined;
}

function bodyOf(record: EventRecord): Record<string, unknown> | undefined {
  const body = (record.event as { body?: unknown }).body;
  return typeof body === "object" && body !== null && !Array.isArray(body) ? (body as Record<string, unknown>) : undefined;
}

function text(value: unknown): string | undefined {
  return typeof value === "string" ? value : undefined;
}

/**
 * A native batch's observations (their create and update events together, by observation id) as
 * FilterItems. Fields a rule reads come from the first event of the observation that has them.
 */
export function observationItems(batch: EventBatch): { items: FilterItem[]; observations: Observation[] } {
  const byId = new Map<string, Observation>();
  const observations: Observation[] = [];
  for (const record of batch.records()) {
    const match = OBSERVATION_EVENT.exec(String((record.event as { type?: unknown }).type));
    const body = bodyOf(record);
    if (!match || NOT_OBSERVATIONS.has(match[1]!) || body === undefined) continue;
    const id = text(body.id);
    const type = match[1] === "observation" ? text(body.type)?.toUpperCase() : match[1]!.toUpperCase();
    let observation = id === undefined ? undefined : byId.get(id);
    if (observation === undefined) {
      observation = { records: [], body: {}, type: undefined };
      observations.push(observation);
      if (id !== undefined) byId.set(id, observation);
    }
    observation.records.push(record);
    for (const [field, value] of Object.entries(body)) if (observation.body[field] === undefined && value !== undefined && value !== null) observation.body[field] = value;
    observation.type ??= type;
  }
  const items = observations.map((observation): FilterItem => {
    const { body } = observation;
    const metadata = typeof body.metadata === "object" && body.metadata !== null && !Array.isArray(body.metadata) ? (body.metadata as Record<string, unknown>) : {};
    const subject: FilterSubject = {
      name: text(body.name),
      scopeName: undefined,
      status: body.level === "ERROR" ? "error" : "unset",
      native: true,
      observationType: () => observation.type,
      attribute: (key) => (key in metadata ? scalarText(metadata[key]) : undefined),
      resourceAttribute: () => undefined,
      attributeKeys: () => Object.keys(metadata),
    };
    return { subject, traceId: text(body.traceId), id: text(body.id), parentId: text(body.parentObservationId) || undefined, rawParent: body.parentObservationId };
  });
  return { items, observations };
}

function scalarText(value: unknown): string | null {
  return typeof value === "string" || typeof value === "number" || typeof value === "boolean" ? String(value) : null;
}

/**
 * Applies a decision to the batch: the events of dropped observations leave it; a trace-level
 * drop also takes the trace's other events (trace-create, scores) with it; reparented
 * observations get their new parent in every event that names one. Returns how many events left.
 */
export function applyToEvents(batch: EventBatch, observations: readonly Observation[], decision: FilterDecision): number {
  const traceLevelDrops = decision.droppedTraces;
  const leaving = new Set<EventRecord>();
  observations.forEach((observation, index) => {
    if (!decision.keep[index]) for (const record of observation.records) leaving.add(record);
    else if (decision.reparent.has(index)) {
      const parent = decision.reparent.get(index);
      for (const record of observation.records) {
        const body = bodyOf(record)!;
        if (body.parentObservationId === undefined && record !== observation.records[0]) continue;
        if (parent === undefined) delete body.parentObservationId;
        else body.parentObservationId = parent;
      }
    }
  });
  if (traceLevelDrops.size > 0) {
    for (const record of batch.records()) {
      const body = bodyOf(record);
      const type = (record.event as { type?: unknown }).type;
      const traceId = type === "trace-create" ? text(body?.id) : text(body?.traceId);
      if (traceId !== undefined && traceLevelDrops.has(traceId)) leaving.add(record);
    }
  }
  if (leaving.size > 0) batch.retain((record) => !leaving.has(record));
  return leaving.size;
}
