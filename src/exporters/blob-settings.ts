import { z } from "zod";
import { DEFAULT_MAX_SEGMENT_BYTES, MIN_MAX_SEGMENT_BYTES } from "../model/blob-keys.js";
import { integer } from "../config/units.js";

/** Settings every blob exporter shares: the key layout must match what the Langfuse worker is told. */
/** Every exporter can be limited to some projects: one bucket (or Redis) per team, routed by key. */
export const projectRoutingFields = {
  /** Export only data of these projects (the project comes from the request's key); default: all. */
  projects: z.array(z.string().min(1)).min(1).optional(),
};

export const blobLayoutFields = {
  ...projectRoutingFields,
  /** Prepended raw to every key, like LANGFUSE_S3_EVENT_UPLOAD_PREFIX (self-hosted default `events/`). */
  prefix: z.string().default(""),
  /** LANGFUSE_S3_EVENT_KEY_MAX_SEGMENT_BYTES; must match the worker's setting. */
  max_segment_bytes: integer({ min: MIN_MAX_SEGMENT_BYTES, max: DEFAULT_MAX_SEGMENT_BYTES }).default(DEFAULT_MAX_SEGMENT_BYTES),
};
