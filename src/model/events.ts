/**
 * Langfuse ingestion events: the unit that processors and exporters work on.
 * Facts from the Langfuse ingestion contract (event types, entity types, what counts as an update).
 */

/** An ingestion event envelope. Before `validate` runs, `body` and the other fields are unchecked. */
export interface IngestionEvent {
  id: string;
  timestamp: string;
  type: string;
  body: Record<string, unknown>;
  metadata?: unknown;
}

export type EntityType = "trace" | "observation" | "score" | "dataset_run_item" | "sdk_log";

const ENTITY_TYPE_BY_EVENT_TYPE: ReadonlyMap<string, EntityType> = new Map<string, EntityType>([
  ["trace-create", "trace"],
  ["score-create", "score"],
  ["dataset-run-item-create", "dataset_run_item"],
  ["dataset_run_item-create", "dataset_run_item"],
  ["sdk-log", "sdk_log"],
  ...[
    "observation-create",
    "observation-update",
    "event-create",
    "span-create",
    "span-update",
    "generation-create",
    "generation-update",
    "agent-create",
    "tool-create",
    "chain-create",
    "retriever-create",
    "evaluator-create",
    "embedding-create",
    "guardrail-create",
  ].map((type): [string, EntityType] => [type, "observation"]),
]);

/** The storage entity an event type belongs to, or undefined for a type Langfuse does not know. */
export function entityTypeOf(eventType: string): EntityType | undefined {
  return ENTITY_TYPE_BY_EVENT_TYPE.get(eventType);
}

/** Langfuse orders updates after creates; only these three types count as updates. */
const UPDATE_EVENT_TYPES: ReadonlySet<string> = new Set(["generation-update", "span-update", "observation-update"]);

export function isUpdateEvent(eventType: string): boolean {
  return UPDATE_EVENT_TYPES.has(eventType);
}

/** Events a `scores`-level key (Bearer public key) may write. */
export function isScoresAccessEvent(eventType: string): boolean {
  return eventType === "score-create" || eventType === "sdk-log";
}

/**
 * The trace id Langfuse samples an event by: the body id for trace-create, otherwise `body.traceId`.
 * Undefined when there is none (session or dataset-run scores), which Langfuse always keeps.
 */
export function traceIdForSampling(event: IngestionEvent): string | undefined {
  // Before validate, an "event" is whatever the client sent (null, a number, ...): never assume.
  const body = (event as IngestionEvent | null)?.body;
  if (typeof body !== "object" || body === null) return undefined;
  const value = event.type === "trace-create" ? body.id : body.traceId;
  return typeof value === "string" ? value : undefined;
}

/** Millisecond time of an envelope timestamp; unparsable timestamps sort last. */
function sortTime(event: IngestionEvent): number {
  const ms = Date.parse((event as IngestionEvent | null)?.timestamp as string);
  return Number.isNaN(ms) ? Number.POSITIVE_INFINITY : ms;
}

/** What Langfuse's batch order compares, computed once per event when many are sorted. */
export interface IngestionOrderKey {
  /** 1 for updates, which come after every create. */
  update: number;
  time: number;
}

export function ingestionOrderKey(event: IngestionEvent): IngestionOrderKey {
  // Before validate, events may be anything the client sent (sort may run first).
  return { update: isUpdateEvent((event as IngestionEvent | null)?.type as string) ? 1 : 0, time: sortTime(event) };
}

export function compareOrderKeys(a: IngestionOrderKey, b: IngestionOrderKey): number {
  if (a.update !== b.update) return a.update - b.update;
  return a.time === b.time ? 0 : a.time < b.time ? -1 : 1;
}

/**
 * Langfuse's batch order: every non-update before every update, each part by envelope timestamp.
 * `Array.prototype.sort` is stable, so equal keys keep their input order.
 */
export function compareIngestionOrder(a: IngestionEvent, b: IngestionEvent): number {
  return compareOrderKeys(ingestionOrderKey(a), ingestionOrderKey(b));
}
