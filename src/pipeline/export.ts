import type { EntityType, IngestionEvent } from "../model/events.js";
import type { ProjectScope, RequestContext } from "./payload.js";

/** Where a blob exporter put a group's events, in the terms Langfuse's job payload uses. */
export interface BlobRef {
  /** `{prefix}{projectId}/{entityType}/{safe(bodyId)}/`, absolute within the bucket. */
  bucketPrefix: string;
  /** The object's file name without `.json`: the sanitised id of the group's first event. */
  fileKey: string;
}

/**
 * One group of events (one entity of one request) ready for export: one blob, one job. It holds
 * the serialised object body, so the spool, the blob exporters and a replay after a restart all
 * write the same bytes under the same key.
 */
export class ExportGroup {
  /** Set by each blob exporter that stored the group; queue exporters use the latest one. */
  blob: BlobRef | undefined;

  constructor(
    readonly entityType: EntityType,
    /** The raw (unsanitised) body id every event of the group shares. */
    readonly eventBodyId: string,
    /** Envelope id of the group's first event: names the object. */
    readonly firstEventId: string,
    /** Type of the group's first event: the job's `type`. */
    readonly firstEventType: string,
    /** The object content: the JSON array of the group's events. */
    readonly body: Buffer,
    /** How many events the body holds (for batching by event count). */
    readonly eventCount: number = 1,
  ) {}

  static fromEvents(entityType: EntityType, eventBodyId: string, events: readonly IngestionEvent[]): ExportGroup {
    const first = events[0]!;
    return new ExportGroup(entityType, eventBodyId, first.id, first.type, Buffer.from(JSON.stringify(events), "utf8"), events.length);
  }
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
