import type { IngestionEvent } from "../../model/events.js";
import type { Redactor } from "./redactor.js";

/**
 * Body fields that are structure, not content: ids, times, enums, numbers Langfuse computes with.
 * Redacting them would break the event (Langfuse refuses it, or files it under another entity)
 * and they carry no free text.
 */
const STRUCTURE_FIELDS: ReadonlySet<string> = new Set([
  "id",
  "traceId",
  "parentObservationId",
  "observationId",
  "startTime",
  "endTime",
  "completionStartTime",
  "timestamp",
  "type",
  "environment",
  "level",
  "usage",
  "usageDetails",
  "costDetails",
  "promptVersion",
  "dataType",
  "datasetId",
  "datasetItemId",
  "datasetRunId",
  "runId",
  "configId",
  "queueId",
  "annotationQueueId",
]);

/**
 * Redacts one Langfuse ingestion event in place: every body field that holds content (input,
 * output, metadata, name, status message, user and session ids, tags, model parameters, score
 * comments, …), and the envelope's metadata. Key rules match keys inside those values, never the
 * body's own field names (a rule `*name*` does not blank `name`). User and session ids are
 * content: an e-mail address used as a user id is redacted, and with `with: hash` it becomes a
 * stable pseudonym, so traces still group by user.
 *
 * The event is unchecked (validate may come later): anything not shaped as expected is skipped.
 */
export function redactIngestionEvent(event: IngestionEvent, redactor: Redactor): void {
  if (typeof event !== "object" || event === null) return;
  const body = (event as { body?: unknown }).body;
  if (typeof body === "object" && body !== null && !Array.isArray(body)) {
    const fields = body as Record<string, unknown>;
    for (const field of Object.keys(fields)) {
      if (STRUCTURE_FIELDS.has(field)) continue;
      const value = fields[field];
      // A numeric score value is structure; a categorical one is text.
      if (typeof value === "number" || typeof value === "boolean") continue;
      const redacted = redactor.value(value, 1);
      // Own data property, even for "__proto__" (JSON.parse makes it one; assigning would set the prototype).
      if (redacted !== value) Object.defineProperty(fields, field, { value: redacted, enumerable: true, writable: true, configurable: true });
    }
  }
  const envelope = event as { metadata?: unknown };
  if (envelope.metadata !== undefined) {
    const redacted = redactor.value(envelope.metadata, 1);
    if (redacted !== envelope.metadata) envelope.metadata = redacted;
  }
}
