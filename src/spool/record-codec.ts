import { ExportGroup, type GroupKind } from "../pipeline/export.js";
import type { ProjectScope, RequestContext } from "../pipeline/payload.js";

/** What an exporter needs to know about the request a spooled record came from. Never the credentials. */
export type ExportContext = Omit<RequestContext, "authorization" | "scope"> & { authorization: undefined; scope: ProjectScope };

export interface SpoolRecord {
  context: ExportContext;
  groups: ExportGroup[];
}

interface Header {
  v: 1;
  context: Omit<ExportContext, "authorization">;
  groups: Array<{ entityType: GroupKind; eventBodyId: string; firstEventId: string; firstEventType: string; bytes: number; events?: number; receivedAt?: number }>;
}

/**
 * A record's payload: a 4-byte header length, the JSON header (context and group descriptions),
 * then each group's object body as raw bytes. Bodies are stored exactly as they will be written
 * to S3, so an export after a restart writes byte-identical objects under identical keys.
 */
/** The payload as its parts (length, header, each body), written one after the other: the bodies are never copied. */
export function encodeRecord(record: SpoolRecord): Buffer[] {
  const { authorization: _omitted, ...context } = record.context;
  const header: Header = {
    v: 1,
    context,
    groups: record.groups.map((group) => ({
      entityType: group.entityType,
      eventBodyId: group.eventBodyId,
      firstEventId: group.firstEventId,
      firstEventType: group.firstEventType,
      bytes: group.body.length,
      events: group.eventCount,
      ...(group.receivedAt !== 0 ? { receivedAt: group.receivedAt } : {}),
    })),
  };
  const headerBytes = Buffer.from(JSON.stringify(header), "utf8");
  const length = Buffer.allocUnsafe(4);
  length.writeUInt32BE(headerBytes.length, 0);
  return [length, headerBytes, ...record.groups.map((group) => group.body)];
}

export function decodeRecord(payload: Buffer): SpoolRecord {
  const headerLength = payload.readUInt32BE(0);
  const header = JSON.parse(payload.subarray(4, 4 + headerLength).toString("utf8")) as Header;
  if (header.v !== 1) throw new Error(`unknown spool record version ${String(header.v)}`);
  let offset = 4 + headerLength;
  const groups = header.groups.map((group) => {
    const body = payload.subarray(offset, offset + group.bytes);
    offset += group.bytes;
    return new ExportGroup(group.entityType, group.eventBodyId, group.firstEventId, group.firstEventType, body, group.events ?? 1, group.receivedAt ?? 0);
  });
  if (offset !== payload.length) throw new Error("spool record length does not match its header");
  return { context: { ...header.context, authorization: undefined }, groups };
}
