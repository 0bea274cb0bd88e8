import type { z } from "zod";
import { pipelineTypesOf, type ComponentSettings, type Exporter, type ExporterFactory, type ExporterRole } from "./component.js";
import { PermanentError } from "./errors.js";
import type { ExportFailure, ExportRequest, SeenTraceStore } from "./export.js";

/** What an exporter's own instance may offer besides exporting; every part is optional. */
export interface ExporterInstance {
  start?(): Promise<void>;
  shutdown?(): Promise<void>;
  /** Why it cannot export right now (backend unreachable), if it knows. */
  unreadyReason?(): string | undefined;
  /** Exporters that reach Langfuse's Redis share the "seen trace" memory through it. */
  seenTraceStore?(): SeenTraceStore;
}

/**
 * An exporter as its author writes it: the type, the config schema, its role (`blob` stores
 * objects, `queue` enqueues jobs that point at them), what it sets up (clients, connections), and
 * one function per kind of data it exports: `events` (Langfuse event files and their jobs, events
 * pipelines) and `spans` (raw OTLP objects and their jobs, otel pipelines). It works exactly in the
 * pipeline types it has a function for; the helper gives it lifecycle defaults and routes each
 * request to the function for what it carries.
 */
export interface ExporterDefinition<Schema extends z.ZodType, Instance extends ExporterInstance> {
  type: string;
  configSchema: Schema;
  role: ExporterRole;
  setup: (settings: ComponentSettings, config: z.output<Schema>) => Instance;
  /** Exports every group it can; returns the groups that failed. Never rejects for a single group. */
  events?: (request: ExportRequest, instance: Instance) => Promise<ExportFailure[]>;
  spans?: (request: ExportRequest, instance: Instance) => Promise<ExportFailure[]>;
}

export function defineExporter<Schema extends z.ZodType, Instance extends ExporterInstance>(
  definition: ExporterDefinition<Schema, Instance>,
): ExporterFactory<Schema> {
  return {
    kind: "exporter",
    type: definition.type,
    role: definition.role,
    configSchema: definition.configSchema,
    pipelineTypes: pipelineTypesOf(definition),
    create(settings, config): Exporter {
      const instance = definition.setup(settings, config);
      const exporter: Exporter = {
        role: definition.role,
        start: async () => instance.start?.(),
        shutdown: async () => instance.shutdown?.(),
        async exportGroups(request) {
          if (request.groups.length === 0) return [];
          // A request carries one kind of data: raw OTLP objects, or Langfuse event files.
          const spans = request.groups[0]!.entityType === "otel";
          const exportKind = spans ? definition.spans : definition.events;
          if (exportKind === undefined) {
            const error = new PermanentError(`${definition.type} does not export ${spans ? "raw spans" : "Langfuse events"}`);
            return request.groups.map((group) => ({ group, error }));
          }
          return exportKind(request, instance);
        },
      };
      if (instance.unreadyReason) exporter.unreadyReason = () => instance.unreadyReason!();
      if (instance.seenTraceStore) exporter.seenTraceStore = () => instance.seenTraceStore!();
      return exporter;
    },
  };
}
