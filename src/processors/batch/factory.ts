import { z } from "zod";
import { durationMs, integer } from "../../config/units.js";
import type { ProcessorFactory } from "../../pipeline/component.js";

export const batchConfigSchema = z.strictObject({
  /** Most events per export, like the Langfuse SDKs' `flushAt`. */
  flush_at: integer({ min: 1, max: 100_000 }).default(1000),
  /** Longest a spooled request waits for others to join its export, like the SDKs' `flushInterval`. */
  flush_interval: durationMs.default(1000),
});

export type BatchConfig = z.output<typeof batchConfigSchema>;

/**
 * Merges requests before export: groups of the same entity from different requests (a trace's
 * create and its later updates, typically) become one object and one job, and jobs go out in
 * one `addBulk`. It works on the spool, after each request is already durable, so it never
 * delays an acknowledgement; it only delays the export by up to `flush_interval`. The request
 * itself passes through unchanged.
 */
export const batchProcessorFactory: ProcessorFactory<typeof batchConfigSchema> = {
  kind: "processor",
  type: "batch",
  configSchema: batchConfigSchema,
  provides: [],
  requires: [],
  unsupportedIn: { otel: "batch merges Langfuse entities across requests; an otel pipeline stores each request's spans as one object" },
  exportBatching: (config) => ({ flushAtEvents: config.flush_at, flushIntervalMs: config.flush_interval }),
  create: () => ({
    start: async () => {},
    shutdown: async () => {},
    process: () => {},
  }),
};
