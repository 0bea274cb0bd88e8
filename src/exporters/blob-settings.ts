import { z } from "zod";
import { DEFAULT_MAX_SEGMENT_BYTES, MIN_MAX_SEGMENT_BYTES } from "../model/blob-keys.js";
import { integer } from "../config/units.js";

/** Every exporter can be limited to some projects: one bucket (or Redis) per team, routed by key. */
export const projectRoutingFields = {
  projects: z
    .array(z.string().min(1))
    .min(1)
    .optional()
    .describe("Export only requests whose key belongs to one of these projects; the exporter chain skips this exporter for the others. When absent: every project."),
};

/** Settings every blob exporter shares: the key layout must match what the Langfuse worker is told. */
export const blobLayoutFields = {
  ...projectRoutingFields,
  prefix: z.string().default("").describe("Prepended raw to every key, like LANGFUSE_S3_EVENT_UPLOAD_PREFIX (self-hosted default `events/`)."),
  max_segment_bytes: integer({ min: MIN_MAX_SEGMENT_BYTES, max: DEFAULT_MAX_SEGMENT_BYTES })
    .default(DEFAULT_MAX_SEGMENT_BYTES)
    .describe("LANGFUSE_S3_EVENT_KEY_MAX_SEGMENT_BYTES: longer ids are shortened with Langfuse's safe-segment rule; must match the worker's setting."),
};
