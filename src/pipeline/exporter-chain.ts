import { entityTypeOf } from "../model/events.js";
import type { EventBatch } from "./batch.js";
import type { Exporter } from "./component.js";
import { PermanentError, RetryableError, isPipelineError } from "./errors.js";
import { ExportGroup, type ExportFailure, type ExportRequest } from "./export.js";
import { Pacer } from "./pacing.js";
import { metrics } from "../telemetry/metrics.js";

/**
 * Turns the batch's groups into export groups (serialising each one's events), giving the event
 * loop a turn every so many groups. Groups whose first event has no body id are skipped:
 * Langfuse stores nothing for them (no key can be built) yet answers them as successes.
 */
export async function prepareExportGroups(batch: EventBatch): Promise<ExportGroup[]> {
  const groups: ExportGroup[] = [];
  const pacer = new Pacer();
  for (const group of batch.groups) {
    const pause = pacer.step();
    if (pause) await pause;
    const first = group[0]!.event;
    const entityType = entityTypeOf(first.type);
    const bodyId = first.body?.id;
    if (entityType === undefined || entityType === "sdk_log" || typeof bodyId !== "string" || bodyId === "") continue;
    groups.push(
      ExportGroup.fromEvents(
        entityType,
        bodyId,
        group.map((record) => record.event),
      ),
    );
  }
  return groups;
}

export interface NamedExporter {
  id: string;
  exporter: Exporter;
  /** Only these projects go through this exporter (the `projects` setting); undefined: all. */
  projects?: ReadonlySet<string>;
}

export interface ChainFailure extends ExportFailure {
  exporter: string;
}

/**
 * Runs the exporters in the order the pipeline lists them; each one gets a group only after
 * every exporter before it succeeded for that group, so a queue job never points at a blob that
 * was not written. Returns the groups that failed, with the exporter that failed them.
 */
export async function runExporterChain(request: ExportRequest, exporters: readonly NamedExporter[]): Promise<ChainFailure[]> {
  let live = request.groups;
  const failures: ChainFailure[] = [];
  for (const { id, exporter, projects } of exporters) {
    if (live.length === 0) break;
    if (projects && !projects.has(request.context.scope.projectId)) continue;
    const failed = await exporter.exportGroups({ context: request.context, groups: live });
    metrics.exporterGroups.inc({ exporter: id, outcome: "exported" }, live.length - failed.length);
    if (failed.length === 0) continue;
    metrics.exporterGroups.inc({ exporter: id, outcome: "failed" }, failed.length);
    const failedGroups = new Set(failed.map((failure) => failure.group));
    live = live.filter((group) => !failedGroups.has(group));
    for (const failure of failed) failures.push({ ...failure, exporter: id });
  }
  return failures;
}

/** A failure nobody should retry: invalid data, or a backend that refused it for good. */
export function isPermanentFailure(failure: ExportFailure): boolean {
  return isPipelineError(failure.error) && failure.error.intent !== "retryable";
}

/** One error for a request whose groups failed: retryable if any failure was. */
export function summariseFailures(failures: readonly ChainFailure[], total: number): Error {
  const first = failures[0]!;
  const byExporter = new Map<string, number>();
  for (const failure of failures) byExporter.set(failure.exporter, (byExporter.get(failure.exporter) ?? 0) + 1);
  const where = [...byExporter].map(([exporter, count]) => `${exporter}: ${count}`).join(", ");
  const message = `export failed for ${failures.length} of ${total} groups (${where}): ${first.error.message}`;
  const retryable = failures.filter((failure) => !isPermanentFailure(failure));
  if (retryable.length > 0) {
    const retryAfterMs = Math.max(...retryable.map((failure) => (failure.error instanceof RetryableError ? failure.error.retryAfterMs : 1000)));
    return new RetryableError(message, retryAfterMs, { cause: first.error });
  }
  return new PermanentError(message, { cause: first.error });
}
