import { z } from "zod";
import { durationMs, numeric } from "../../config/units.js";
import { DETECTOR_NAMES } from "./detectors.js";
import { Redactor, type RedactionRules } from "./redactor.js";

const detectorsSchema = z
  .union([z.literal("all"), z.array(z.enum(DETECTOR_NAMES))])
  .describe(`Built-in detectors: \`all\`, or a list of ${DETECTOR_NAMES.map((name) => `\`${name}\``).join(", ")}.`);

const patternSchema = z
  .strictObject({
    name: z
      .string()
      .regex(/^[a-z][a-z0-9_]*$/, "a name of lower-case letters, digits and _, starting with a letter")
      .describe("The rule's name, in the metrics (`rule` label)."),
    regex: z.string().min(1).describe("A JavaScript regular expression. With a capture group, only the first group is replaced (`password=(\\S+)` keeps `password=`)."),
    flags: z
      .string()
      .regex(/^[imsu]*$/, "flags from i, m, s and u")
      .optional()
      .describe("Regular expression flags (i, m, s, u); every match is replaced."),
  })
  .superRefine((pattern, context) => {
    try {
      new RegExp(pattern.regex, pattern.flags);
    } catch (error) {
      context.addIssue({ code: "custom", path: ["regex"], message: `not a valid regular expression: ${(error as Error).message}` });
    }
  });

/** The rules one project gets (or every project, at the top level). */
const rulesFields = {
  detectors: detectorsSchema.optional(),
  patterns: z.array(patternSchema).optional().describe("Your own value patterns, replaced wherever they match in a text."),
  keys: z
    .array(z.string().min(1))
    .optional()
    .describe(
      "Key globs (`*` any run, `?` one character; case ignored): the whole value under a matching attribute key (resource, scope, span, event, link) or key inside input, output, metadata and JSON held in text is replaced.",
    ),
};

const maskingCallbackSchema = z
  .strictObject({
    url: z.url().describe("LANGFUSE_INGESTION_MASKING_CALLBACK_URL: where each request's spans are POSTed."),
    timeout: durationMs.default(500).describe("LANGFUSE_INGESTION_MASKING_CALLBACK_TIMEOUT_MS: for each attempt."),
    max_retries: numeric.pipe(z.number().int().min(0).max(10)).default(1).describe("LANGFUSE_INGESTION_MASKING_MAX_RETRIES: attempts after the first."),
    fail_closed: z
      .boolean()
      .default(false)
      .describe(
        "LANGFUSE_INGESTION_MASKING_CALLBACK_FAIL_CLOSED. When every attempt failed: false stores the data unmasked (Langfuse's default); true refuses the request with 503 / UNAVAILABLE, so the client sends it again and nothing unmasked is stored (Langfuse drops it).",
      ),
  })
  .describe(
    "Langfuse's ingestion masking callback, so a masking service written for Langfuse works unchanged: one POST per request, of its `resourceSpans` array as Langfuse sends it, with `X-Langfuse-Org-Id`, `X-Langfuse-Project-Id` and the receiver's `propagate_headers`; the JSON array answered replaces the spans. Native ingestion batches are sent as spans too (see docs/privacy.md). Runs after the rules.",
  );

export const redactConfigSchema = z
  .strictObject({
    ...rulesFields,
    with: z
      .enum(["marker", "hash"])
      .default("marker")
      .describe("What replaces a match: `marker`, or `hash` (a keyed HMAC-SHA256, `[HASH:` 16 hex digits `]`: the same value gives the same pseudonym, so traces still group by user)."),
    marker: z.string().min(1).default("[REDACTED]").describe("The marker (with: marker), and what replaces values nested too deep to walk."),
    hash_key: z
      .string()
      .min(16, "at least 16 characters, from ${env:…} or ${file:…}")
      .optional()
      .describe("The HMAC key (with: hash), at least 16 characters; keep it secret, or pseudonyms can be reversed by guessing."),
    projects: z
      .record(
        z.string().min(1).describe("project id"),
        z.strictObject({
          ...rulesFields,
          inherit: z.boolean().default(true).describe("Add the top-level rules to this project's (true), or use only this project's (false)."),
        }),
      )
      .default({})
      .describe("Project id → rules of its own, in addition to the top-level ones unless `inherit: false`."),
    masking_callback: maskingCallbackSchema.optional(),
  })
  .superRefine((config, context) => {
    if (config.with === "hash" && config.hash_key === undefined) context.addIssue({ code: "custom", path: ["hash_key"], message: "with: hash needs a hash_key" });
    // The marker must survive the rules, or a second pass (or a replay) would redact it again.
    for (const [path, rules] of ruleSetsOf(config)) {
      let probe: Redactor;
      try {
        probe = new Redactor(rules);
      } catch {
        return; // an invalid pattern, reported where it is
      }
      if (probe.text(config.marker) !== config.marker) context.addIssue({ code: "custom", path: ["marker"], message: `the marker would itself be redacted by the rules of ${path}` });
    }
  })
  .describe(
    "Removes secrets and personal data before anything is stored: built-in detectors, your patterns and key rules, on OTLP spans (both pipeline types) and native ingestion events alike; optionally Langfuse's masking callback. In an events pipeline it must come before every processor but auth. Counts per rule in `redactions_total`; what it matched is never logged. See docs/privacy.md.",
  );

export type RedactConfig = z.output<typeof redactConfigSchema>;

/** The rule sets of a config: the default one, and each project's. */
export function ruleSetsOf(config: RedactConfig): Array<[string, RedactionRules]> {
  const replacement = { with: config.with, marker: config.marker, key: config.hash_key } as const;
  const base = { detectors: detectorList(config.detectors ?? "all"), patterns: config.patterns ?? [], keys: config.keys ?? [], replacement };
  const sets: Array<[string, RedactionRules]> = [["the default", base]];
  for (const [projectId, project] of Object.entries(config.projects)) {
    const own = { detectors: project.detectors === undefined ? [] : detectorList(project.detectors), patterns: project.patterns ?? [], keys: project.keys ?? [] };
    sets.push([
      `project ${projectId}`,
      project.inherit
        ? {
            detectors: [...new Set([...base.detectors, ...own.detectors])],
            patterns: [...base.patterns, ...own.patterns],
            keys: [...base.keys, ...own.keys],
            replacement,
          }
        : { ...own, replacement },
    ]);
  }
  return sets;
}

function detectorList(detectors: "all" | ReadonlyArray<(typeof DETECTOR_NAMES)[number]>) {
  return detectors === "all" ? [...DETECTOR_NAMES] : [...detectors];
}
