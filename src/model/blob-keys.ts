import { createHash } from "node:crypto";
import type { EntityType } from "./events.js";

/**
 * Langfuse's S3 key layout for ingestion events and its "safe key segment" rule, which keeps ids
 * that contain `/`, `\`, control characters or too many bytes from escaping their place in the key.
 */

/** Langfuse's default and upper bound for `LANGFUSE_S3_EVENT_KEY_MAX_SEGMENT_BYTES`. */
export const DEFAULT_MAX_SEGMENT_BYTES = 2048;
export const MIN_MAX_SEGMENT_BYTES = 64;

const FORBIDDEN = /[\x00-\x1f/\\]/;
const FORBIDDEN_ALL = /[\x00-\x1f/\\]/g;
const HASH_HEX_LENGTH = 16;

function sha256Hex(text: string): string {
  return createHash("sha256").update(text, "utf8").digest("hex");
}

/** Cuts a string to at most `maxBytes` UTF-8 bytes without splitting a code point. */
function truncateUtf8(text: string, maxBytes: number): string {
  const bytes = Buffer.from(text, "utf8");
  if (bytes.length <= maxBytes) return text;
  let end = maxBytes;
  // Back up over continuation bytes (10xxxxxx) so the cut lands on a code point boundary.
  while (end > 0 && (bytes[end]! & 0xc0) === 0x80) end -= 1;
  return bytes.subarray(0, end).toString("utf8");
}

/**
 * Unchanged when short enough and free of forbidden characters; otherwise forbidden characters
 * become `_`, the result is cut to `maxBytes - 17` bytes and `_` + 16 hex of sha256(original) is
 * appended, so distinct ids stay distinct.
 */
export function safeKeySegment(segment: string, maxBytes = DEFAULT_MAX_SEGMENT_BYTES): string {
  if (Buffer.byteLength(segment, "utf8") <= maxBytes && !FORBIDDEN.test(segment)) return segment;
  const replaced = segment.replace(FORBIDDEN_ALL, "_");
  const kept = truncateUtf8(replaced, Math.max(0, maxBytes - HASH_HEX_LENGTH - 1));
  return `${kept}_${sha256Hex(segment).slice(0, HASH_HEX_LENGTH)}`;
}

/** The object's file name stem: leaves room for the `.json` suffix within the segment limit. */
export function safeFileStem(eventId: string, maxBytes = DEFAULT_MAX_SEGMENT_BYTES): string {
  return safeKeySegment(eventId, maxBytes - ".json".length);
}

export interface EventObjectKey {
  bucketPrefix: string;
  fileKey: string;
  objectKey: string;
}

/**
 * Where Langfuse's web container stores a raw OTLP export for the worker:
 * `{prefix}otel/{projectId}/YYYY/MM/DD/hh/mm/{uuid}.json`. Langfuse takes the date from local
 * time, which is UTC in its containers; the daemon always uses UTC. The worker reads the object by
 * its full key from the job, so the date folders only sort objects for people and lifecycle rules.
 */
export function otelObjectKey(prefix: string, projectId: string, receivedAt: Date, uuid: string): EventObjectKey {
  const two = (value: number) => String(value).padStart(2, "0");
  const folder = `${receivedAt.getUTCFullYear()}/${two(receivedAt.getUTCMonth() + 1)}/${two(receivedAt.getUTCDate())}/${two(receivedAt.getUTCHours())}/${two(receivedAt.getUTCMinutes())}`;
  const bucketPrefix = `${prefix}otel/${projectId}/${folder}/`;
  return { bucketPrefix, fileKey: uuid, objectKey: `${bucketPrefix}${uuid}.json` };
}

/** `{prefix}{projectId}/{entityType}/{safe(bodyId)}/{safeStem(firstEventId)}.json`; the prefix is prepended raw. */
export function eventObjectKey(
  prefix: string,
  projectId: string,
  entityType: EntityType,
  eventBodyId: string,
  firstEventId: string,
  maxSegmentBytes = DEFAULT_MAX_SEGMENT_BYTES,
): EventObjectKey {
  const bucketPrefix = `${prefix}${projectId}/${entityType}/${safeKeySegment(eventBodyId, maxSegmentBytes)}/`;
  const fileKey = safeFileStem(firstEventId, maxSegmentBytes);
  return { bucketPrefix, fileKey, objectKey: `${bucketPrefix}${fileKey}.json` };
}
