import { randomUUID } from "node:crypto";
import { eventObjectKey, otelObjectKey, type EventObjectKey } from "../model/blob-keys.js";
import type { EntityType, IngestionEvent } from "../model/events.js";
import type { ProjectScope, RequestContext } from "./payload.js";

/** Where a blob exporter put a group, in the terms Langfuse's job payloads use. */
export interface BlobRef {
  /** The object's folder, absolute within the bucket, ending in `/`. */
  bucketPrefix: string;
  /** The object's file name without `.json`: the sanitised id of the group's first event, or the raw export's uuid. */
  fileKey: string;
}

/** What a group holds: the events of one Langfuse entity, or one request's raw OTLP spans (`otel`). */
export type GroupKind = EntityType | "otel";

/**
 * One unit of export: one blob and one job. In an events pipeline it is one entity of one request;
 * in an otel pipeline, one request's resource spans. It holds the serialised object body, so the
 * spool, the blob exporters and a replay after a restart all write the same bytes under the same key.
 */
export class ExportGroup {
  /** Set by each blob exporter that stored the group; queue exporters use the latest one. */
  blob: BlobRef | undefined;
  /** The pool the body was borrowed from, if any: the one place that decides when it goes back. */
  #bodyPool: BodyPool | undefined;

  constructor(
    readonly entityType: GroupKind,
    /** The raw (unsanitised) body id every event of the group shares; "" for `otel`. */
    readonly eventBodyId: string,
    /** Envelope id of the group's first event (or the raw export's uuid): names the object. */
    readonly firstEventId: string,
    /** Type of the group's first event: the job's `type`; "" for `otel`. */
    readonly firstEventType: string,
    /** The object content: the JSON array of the group's events, or of the resource spans. */
    readonly body: Buffer,
    /** How many events (or spans) the body holds (for batching by count). */
    readonly eventCount: number = 1,
    /** When an `otel` group was received (epoch ms): its key's date folders. */
    readonly receivedAt: number = 0,
  ) {}

  /**
   * A request's resource spans (their JSON text) as one object named by a fresh uuid, as
   * Langfuse's web container stores them. With `pool`, the text may be borrowed from it; the group
   * gives it back when `releaseBody` is called.
   */
  static fromResourceSpansJson(json: Buffer, spanCount: number, receivedAt: number, pool?: BodyPool): ExportGroup {
    const group = new ExportGroup("otel", "", randomUUID(), "", json, spanCount, receivedAt);
    group.#bodyPool = pool;
    return group;
  }

  /**
   * Gives a borrowed body back to its pool; call once nothing reads it any more (every exporter
   * and the spool's writes have settled). Safe to call twice, and for bodies that were not borrowed.
   */
  releaseBody(): void {
    this.#bodyPool?.give(this.body);
    this.#bodyPool = undefined;
  }

  /** The object's key under a blob exporter's prefix; the same on every export attempt of this group. */
  objectKey(prefix: string, projectId: string, maxSegmentBytes: number): EventObjectKey {
    if (this.entityType === "otel") return otelObjectKey(prefix, projectId, new Date(this.receivedAt), this.firstEventId);
    return eventObjectKey(prefix, projectId, this.entityType, this.eventBodyId, this.firstEventId, maxSegmentBytes);
  }

  static fromEvents(entityType: EntityType, eventBodyId: string, events: readonly IngestionEvent[]): ExportGroup {
    const first = events[0]!;
    return new ExportGroup(entityType, eventBodyId, first.id, first.type, Buffer.from(JSON.stringify(events), "utf8"), events.length);
  }
}

/** Where a group's body may come from (src/pipeline/buffer-pool.ts): it takes back only what it lent. */
export interface BodyPool {
  give(buffer: Buffer): void;
}

/** Gives the groups' borrowed bodies back; only for groups nothing exports or writes any more. */
export function releaseBodies(groups: Iterable<ExportGroup>): void {
  for (const group of groups) group.releaseBody();
}

export interface ExportRequest {
  context: RequestContext & { scope: ProjectScope };
  groups: readonly ExportGroup[];
}

export interface ExportFailure {
  group: ExportGroup;
  error: Error;
}

/**
 * Langfuse's "seen trace" memory (`langfuse:project:<pid>:trace:<traceId>:seen`, 10 minutes):
 * a trace only gets a shallow trace-create the first time one of its spans arrives.
 */
export interface SeenTraceStore {
  /** Marks the traces as seen; returns those that already were. Fails open (empty set) on errors. */
  claim(projectId: string, traceIds: readonly string[]): Promise<{ alreadySeen: ReadonlySet<string>; claimed: string[] }>;
  /** Undoes a claim whose data could not be exported, so a retry emits the trace-create again. */
  release(projectId: string, traceIds: readonly string[]): Promise<void>;
}
