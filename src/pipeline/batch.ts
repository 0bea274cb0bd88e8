import type { IngestionEvent } from "../model/events.js";
import { Pacer } from "./pacing.js";
import type { ItemRejection, RequestContext } from "./payload.js";

/** One event on its way through the processors, with the request item it came from. */
export interface EventRecord {
  event: IngestionEvent;
  /** Index of the OTLP span or ingestion-batch event this event came from. */
  origin: number;
  /** A trace-create that only exists because its trace had not been seen (see pipeline/seen-traces.ts). */
  shallowTrace?: boolean;
}

/** Why an event left the batch without being an error. Counted for logs and metrics. */
export type DropReason = "sampled" | "sdk_log" | "seen_trace" | "filtered";

/**
 * The events of one request inside one pipeline. Events live in groups: before the `group`
 * processor each event is a group of its own, after it a group holds every event of one entity
 * (one blob, one job). Processors filter, reorder and regroup in place; the batch records which
 * request items were refused (per-event errors) or ignored.
 */
export class EventBatch {
  groups: EventRecord[][];
  readonly rejections: ItemRejection[] = [];
  readonly ignored = new Set<number>();
  readonly drops = new Map<DropReason, number>();

  constructor(
    readonly context: RequestContext,
    records: EventRecord[],
  ) {
    this.groups = records.map((record) => [record]);
  }

  get eventCount(): number {
    let count = 0;
    for (const group of this.groups) count += group.length;
    return count;
  }

  *records(): IterableIterator<EventRecord> {
    for (const group of this.groups) yield* group;
  }

  /** Keeps the records for which `keep` returns true; groups left empty disappear. */
  retain(keep: (record: EventRecord) => boolean): void {
    const groups: EventRecord[][] = [];
    for (const group of this.groups) {
      const kept = group.filter(keep);
      if (kept.length > 0) groups.push(kept);
    }
    this.groups = groups;
  }

  /** `retain` for costly checks: a large batch gives the event loop a turn every so many records. */
  async retainPaced(keep: (record: EventRecord) => boolean): Promise<void> {
    const pacer = new Pacer();
    const groups: EventRecord[][] = [];
    for (const group of this.groups) {
      const kept: EventRecord[] = [];
      for (const record of group) {
        if (keep(record)) kept.push(record);
        const pause = pacer.step();
        if (pause) await pause;
      }
      if (kept.length > 0) groups.push(kept);
    }
    this.groups = groups;
  }

  /** Records a per-event error; the caller removes the record (see `retain`). */
  reject(record: EventRecord, status: ItemRejection["status"], message: string, error: string): void {
    const id = (record.event as { id?: unknown } | null)?.id;
    this.rejections.push({ origin: record.origin, id: typeof id === "string" ? id : undefined, status, message, error });
  }

  /** Counts an event that leaves the batch as a success without being exported. */
  drop(reason: DropReason, count = 1): void {
    this.drops.set(reason, (this.drops.get(reason) ?? 0) + count);
  }
}
