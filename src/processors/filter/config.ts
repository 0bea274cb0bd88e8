import { z } from "zod";
import { PRESET_NAMES } from "./presets.js";

const OBSERVATION_TYPES = ["SPAN", "GENERATION", "EVENT", "EMBEDDING", "AGENT", "TOOL", "CHAIN", "RETRIEVER", "GUARDRAIL", "EVALUATOR"] as const;

function checkRegex(regex: string, flags: string | undefined, context: z.RefinementCtx): void {
  try {
    new RegExp(regex, flags);
  } catch (error) {
    context.addIssue({ code: "custom", path: ["regex"], message: `not a valid regular expression: ${(error as Error).message}` });
  }
}

const regexSchema = z
  .strictObject({
    regex: z.string().min(1).describe("A JavaScript regular expression, searched in the text (anchor it with ^ and $ for the whole text)."),
    flags: z.string().regex(/^[imsu]*$/, "flags from i, m, s and u").optional(),
  })
  .superRefine((matcher, context) => checkRegex(matcher.regex, matcher.flags, context));

const textMatcherSchema = z
  .union([z.string().describe("the exact text"), z.strictObject({ prefix: z.string().min(1).describe("the text starts with this") }), regexSchema])
  .describe("The exact text, `{prefix: …}` or `{regex: …, flags: …}`.");

const textMatchersSchema = z
  .union([textMatcherSchema, z.array(textMatcherSchema).min(1)])
  .transform((value) => (Array.isArray(value) ? value : [value]))
  .describe("A matcher, or a list of them (any one matches).");

const scalar = z.union([z.string(), z.number(), z.boolean()]);

const attributeConditionSchema = z
  .union([
    scalar.describe("equal to this (compared as text: 200 matches an int 200 and a string \"200\")"),
    z.strictObject({ exists: z.boolean().describe("true: the key is present (any value); false: it is absent") }),
    z.strictObject({ equals: scalar }),
    regexSchema,
  ])
  .describe("A value to equal, `{exists: true|false}`, `{equals: …}` or `{regex: …}`.");

const attributesSchema = z.record(z.string().min(1), attributeConditionSchema);

const ruleSchema = z
  .strictObject({
    name: z
      .string()
      .regex(/^[a-z][a-z0-9_]*$/, "a name of lower-case letters, digits and _, starting with a letter")
      .optional()
      .describe("The rule's name in the metrics (`rule` label); default `keep_<n>` or `drop_<n>` by its place in the list."),
    level: z
      .enum(["span", "trace"])
      .default("span")
      .describe("`span`: the rule selects the spans it matches; `trace`: a match selects every span of that trace in the request, so traces stay whole."),
    preset: z.enum(PRESET_NAMES).optional().describe("A Langfuse SDK's default export filter: `langfuse_sdk_default` (what either SDK exports), `langfuse_js_sdk_default`, `langfuse_python_sdk_default`."),
    span_name: textMatchersSchema.optional().describe("The span's name (native events: the observation's name): the exact text, `{prefix: …}`, `{regex: …, flags: …}`, or a list of these (any one matches)."),
    scope_name: textMatchersSchema.optional().describe("The instrumentation scope's name (native events have none), matched as `span_name` is."),
    observation_type: z
      .union([z.string(), z.array(z.string()).min(1)])
      .transform((value) => (Array.isArray(value) ? value : [value]).map((type) => type.toUpperCase()))
      .pipe(z.array(z.enum(OBSERVATION_TYPES)))
      .optional()
      .describe(`The Langfuse observation type the span converts to, or a list: ${OBSERVATION_TYPES.map((type) => `\`${type}\``).join(", ")} (case ignored).`),
    status: z
      .union([z.enum(["unset", "ok", "error"]), z.array(z.enum(["unset", "ok", "error"])).min(1)])
      .transform((value) => (Array.isArray(value) ? value : [value]))
      .optional()
      .describe("The span's status code, or a list (native events: `error` for level ERROR, else `unset`)."),
    attributes: attributesSchema.optional().describe("Span attribute key → condition, all must hold: a value to equal (compared as text, so 200 matches an int and a string), `{exists: true|false}`, `{equals: …}` or `{regex: …, flags: …}`. Native events: the observation's top-level metadata keys."),
    resource_attributes: attributesSchema.optional().describe("Resource attribute key → condition, as `attributes` (native events have none)."),
  })
  .refine((rule) => Object.keys(rule).some((key) => key !== "name" && key !== "level"), {
    message: "a rule needs at least one condition (preset, span_name, scope_name, observation_type, status, attributes or resource_attributes)",
  })
  .describe("Conditions that must all hold.");

export type FilterRuleConfig = z.output<typeof ruleSchema>;
export type TextMatcherConfig = z.output<typeof textMatcherSchema>;
export type AttributeConditionConfig = z.output<typeof attributeConditionSchema>;

export const filterConfigSchema = z
  .strictObject({
    keep: z
      .array(ruleSchema)
      .default([])
      .describe("When not empty, only spans that one of these rules selects are kept (then `drop` applies to them). Counted as rule `not_kept`."),
    drop: z.array(ruleSchema).default([]).describe("Spans that one of these rules selects are dropped, counted under the first rule that selects them."),
    orphans: z
      .enum(["keep", "reparent", "drop"])
      .default("keep")
      .describe(
        "Children of a dropped span in the same request: `keep` them as they are (Langfuse shows their parent as missing, as after the SDKs' own filter), `reparent` them to the nearest ancestor that is kept (or make them roots), or `drop` them too (rule `orphan`).",
      ),
  })
  .superRefine((config, context) => {
    const seen = new Set<string>();
    for (const [list, rules] of [["keep", config.keep], ["drop", config.drop]] as const) {
      rules.forEach((rule, index) => {
        const name = rule.name ?? `${list}_${index}`;
        if (seen.has(name)) context.addIssue({ code: "custom", path: [list, index, "name"], message: `the rule name ${name} is used twice` });
        seen.add(name);
      });
    }
    if (config.keep.length === 0 && config.drop.length === 0) context.addIssue({ code: "custom", path: [], message: "a filter needs a keep or a drop rule" });
  })
  .describe(
    "Drops spans (and native observations) by name, scope, observation type, status and attributes before anything is stored; a preset keeps what Langfuse's SDKs export by default. In an events pipeline it must come before every processor but auth and redact. Drops count as successes for the client; `filter_dropped_total` counts them by rule. See docs/privacy.md.",
  );

export type FilterConfig = z.output<typeof filterConfigSchema>;
