/**
 * Generates docs/configuration.md, the reference of every configuration key, from the zod schemas
 * the daemon itself parses with: each component type's `configSchema` in the registry
 * (src/components.ts) and the `service` schema (src/config/resolve.ts). Types, defaults, ranges and
 * allowed values come from the schemas' definitions; descriptions from their `.describe()` /
 * `.meta({ description })`. Nothing here lists keys by hand, so the reference cannot drift from the
 * code: `npm run docs` rewrites it, and test/unit/config-docs.test.ts fails while it is stale.
 */
import { writeFileSync } from "node:fs";
import { resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { z } from "zod";
import { builtinComponents, type ComponentRegistry } from "../src/components.js";
import type { AnyFactory, ExporterFactory } from "../src/pipeline/component.js";
import { serviceConfigSchema } from "../src/config/resolve.js";
import { byteSize, durationMs, endpoint, flag, numeric } from "../src/config/units.js";

export const CONFIG_DOCS_PATH = resolve(fileURLToPath(import.meta.url), "../../docs/configuration.md");

/** The parts of a zod 4 definition this generator reads. */
interface Def {
  type: string;
  innerType?: z.ZodType;
  defaultValue?: unknown;
  in?: z.ZodType;
  out?: z.ZodType;
  options?: z.ZodType[];
  shape?: Record<string, z.ZodType>;
  element?: z.ZodType;
  keyType?: z.ZodType;
  valueType?: z.ZodType;
  entries?: Record<string, string | number>;
  values?: unknown[];
  checks?: Array<{ _zod: { def: CheckDef } }>;
  format?: string;
  protocol?: RegExp;
  getter?: () => z.ZodType;
}

interface CheckDef {
  check: string;
  format?: string;
  value?: number;
  inclusive?: boolean;
  minimum?: number;
  maximum?: number;
  prefix?: string;
  suffix?: string;
  pattern?: RegExp | string;
}

const defOf = (schema: z.ZodType): Def => (schema as unknown as { _zod: { def: Def } })._zod.def;

function descriptionOf(schema: z.ZodType): string | undefined {
  const meta = z.globalRegistry.get(schema) as { description?: string } | undefined;
  return meta?.description;
}

/** A row of the reference: one key. */
export interface KeyRow {
  key: string;
  type: string;
  default: string;
  allowed: string;
  description: string;
}

/** What a schema accepts, in words: its type, the values it allows, and how to print its default. */
interface Shape {
  type: string;
  allowed: string[];
  format: (value: unknown) => string;
  /** Set for objects (their keys become rows) and for lists and maps of objects. */
  fields?: { prefix: string; object: z.ZodType };
}

/** The config's own value types (src/config/units.ts). */
const UNITS: Array<{ schema: z.ZodType; type: string; format: (value: unknown) => string }> = [
  { schema: durationMs, type: "duration", format: (value) => formatDuration(value as number) },
  { schema: byteSize, type: "size", format: (value) => formatSize(value as number) },
  { schema: endpoint, type: "host:port", format: (value) => formatEndpoint(value as { host: string; port: number }) },
  { schema: flag, type: "boolean", format: (value) => String(value) },
  { schema: numeric, type: "number", format: (value) => String(value) },
];

/**
 * Whether `schema` is `unit` or a copy of it: `.refine()` and `.describe()` return a clone whose
 * definition differs only in its checks, and shares everything else (the pipe's parts, the options).
 */
function isUnit(schema: z.ZodType, unit: z.ZodType): boolean {
  if (schema === unit) return true;
  const def = defOf(schema) as unknown as Record<string, unknown>;
  const unitDef = defOf(unit) as unknown as Record<string, unknown>;
  return Object.keys(unitDef).every((key) => key === "checks" || def[key] === unitDef[key]);
}

function formatDuration(ms: number): string {
  if (ms === 0) return "0";
  for (const [unit, size] of [["h", 3_600_000], ["m", 60_000], ["s", 1000]] as const) {
    if (ms % size === 0) return `${ms / size}${unit}`;
  }
  return `${ms}ms`;
}

function formatSize(bytes: number): string {
  for (const [unit, size] of [["GiB", 1024 ** 3], ["MiB", 1024 ** 2], ["KiB", 1024]] as const) {
    const value = bytes / size;
    if (value >= 1 && Number.isInteger(value * 100)) return `${value}${unit}`;
  }
  return String(bytes);
}

function formatEndpoint({ host, port }: { host: string; port: number }): string {
  return `${host.includes(":") ? `[${host}]` : host}:${port}`;
}

const formatJson = (value: unknown): string => JSON.stringify(value);

function code(text: string): string {
  return text.includes("`") ? `\`\` ${text} \`\`` : `\`${text}\``;
}

/** Ranges of a number schema's checks; `integer()`'s safe-integer bounds say nothing and are left out. */
function numberShape(schema: z.ZodType): Shape {
  let integer = false;
  let low: string | undefined;
  let high: string | undefined;
  for (const { _zod } of defOf(schema).checks ?? []) {
    const check = _zod.def;
    if (check.check === "number_format" && (check.format === "safeint" || check.format === "int32")) integer = true;
    if (check.check === "greater_than" && check.value !== undefined && Math.abs(check.value) < Number.MAX_SAFE_INTEGER) {
      low = `${check.inclusive ? "≥" : ">"} ${check.value}`;
    }
    if (check.check === "less_than" && check.value !== undefined && Math.abs(check.value) < Number.MAX_SAFE_INTEGER) {
      high = `${check.inclusive ? "≤" : "<"} ${check.value}`;
    }
  }
  const allowed = low?.startsWith("≥") && high?.startsWith("≤") ? [`${low.slice(2)}-${high.slice(2)}`] : [low, high].filter((part): part is string => part !== undefined);
  return { type: integer ? "integer" : "number", allowed: allowed.length > 0 ? [allowed.join(", ")] : [], format: (value) => String(value) };
}

function stringShape(schema: z.ZodType): Shape {
  const def = defOf(schema);
  const allowed: string[] = [];
  let type = "string";
  if (def.format === "url") {
    type = "URL";
    if (def.protocol) allowed.push(`scheme ${code(def.protocol.source)}`);
  }
  for (const { _zod } of def.checks ?? []) {
    const check = _zod.def;
    if (check.check === "min_length" && check.minimum !== undefined) allowed.push(check.minimum === 1 ? "not empty" : `at least ${check.minimum} characters`);
    if (check.check === "max_length" && check.maximum !== undefined) allowed.push(`at most ${check.maximum} characters`);
    if (check.check === "string_format" && check.format === "starts_with") allowed.push(`starts with ${code(check.prefix ?? "")}`);
    if (check.check === "string_format" && check.format === "ends_with") allowed.push(`ends with ${code(check.suffix ?? "")}`);
    if (check.check === "string_format" && check.format === "regex" && check.pattern !== undefined) {
      allowed.push(`matches ${code(typeof check.pattern === "string" ? check.pattern : check.pattern.source)}`);
    }
  }
  return { type, allowed, format: (value) => (value === "" ? '""' : String(value)) };
}

/** What `schema` accepts, once its optional, default and other wrappers are taken off. */
function shapeOf(schema: z.ZodType, path: string): Shape {
  const unit = UNITS.find((candidate) => isUnit(schema, candidate.schema));
  if (unit) return { type: unit.type, format: unit.format, allowed: [] };
  const def = defOf(schema);
  switch (def.type) {
    case "string":
      return stringShape(schema);
    case "number":
      return numberShape(schema);
    case "boolean":
      return { type: "boolean", allowed: [], format: String };
    case "enum": {
      const values = Object.values(def.entries ?? {});
      return { type: typeof values[0] === "number" ? "number" : "string", allowed: [values.map((value) => code(String(value))).join(", ")], format: (value) => String(value) };
    }
    case "literal":
      return { type: "literal", allowed: [(def.values ?? []).map((value) => code(String(value))).join(", ")], format: (value) => String(value) };
    case "object":
      return { type: "object", allowed: [], format: formatJson, fields: { prefix: path, object: schema } };
    case "array": {
      const element = shapeOf(unwrap(def.element!).schema, `${path}[]`);
      return {
        type: `list of ${element.type === "object" ? "objects" : element.type}`,
        allowed: element.allowed.length > 0 ? [`each: ${element.allowed.join(", ")}`] : [],
        format: (value) => ((value as unknown[]).length === 0 ? "[]" : formatJson(value)),
        fields: element.fields,
      };
    }
    case "record": {
      const keyName = descriptionOf(def.keyType!) ?? "name";
      const value = shapeOf(unwrap(def.valueType!).schema, `${path}.<${keyName}>`);
      return {
        type: `map of ${keyName} → ${value.type === "object" ? "object" : value.type}`,
        allowed: value.allowed.length > 0 ? [`each: ${value.allowed.join(", ")}`] : [],
        format: (map) => (Object.keys(map as object).length === 0 ? "{}" : formatJson(map)),
        fields: value.fields,
      };
    }
    case "union": {
      const options = (def.options ?? []).map((option) => shapeOf(unwrap(option).schema, path));
      // `0` and `"0"` print alike: list each spelling once.
      const literals = [...new Set(options.filter((option) => option.type === "literal").flatMap((option) => option.allowed))];
      const others = options.filter((option) => option.type !== "literal");
      const typeNames = [...new Set(others.map((option) => option.type))];
      return {
        type: [...literals, ...typeNames].join(" or "),
        allowed: others.flatMap((option) => option.allowed),
        format: (value) => (typeof value === "string" || typeof value === "number" ? String(value) : (others[0]?.format ?? formatJson)(value)),
        fields: others.find((option) => option.fields)?.fields,
      };
    }
    case "pipe": {
      // A value read one way and checked or converted another: `integer()` and `numeric.pipe(…)`
      // check the number they read, `z.preprocess` (nullAsEmpty) hands its input to the schema after it.
      const out = unwrap(def.out!).schema;
      if (defOf(def.in!).type === "transform") return shapeOf(out, path);
      if (defOf(out).type === "transform") return shapeOf(unwrap(def.in!).schema, path);
      return shapeOf(out, path);
    }
    case "lazy":
      return shapeOf(def.getter!(), path);
    case "nullable": {
      const inner = shapeOf(unwrap(def.innerType!).schema, path);
      return { ...inner, type: `${inner.type} or null` };
    }
    default:
      return { type: def.type, allowed: [], format: formatJson };
  }
}

interface Unwrapped {
  schema: z.ZodType;
  description: string | undefined;
  /** `required`, `optional` (absent: not set), or a default value. */
  presence: { kind: "required" } | { kind: "optional" } | { kind: "default"; value: unknown } | { kind: "prefault" };
}

/** Takes off the wrappers that say whether and how a key may be left out; the first description found wins. */
function unwrap(schema: z.ZodType): Unwrapped {
  let current = schema;
  let description = descriptionOf(current);
  let presence: Unwrapped["presence"] = { kind: "required" };
  for (;;) {
    const def = defOf(current);
    if (def.type === "optional") presence = presence.kind === "required" ? { kind: "optional" } : presence;
    else if (def.type === "default") presence = { kind: "default", value: def.defaultValue };
    else if (def.type === "prefault") presence = presence.kind === "required" ? { kind: "prefault" } : presence;
    else if (def.type === "catch" || def.type === "readonly") {
      // Same values as the inner schema.
    } else if (def.type === "pipe" && defOf(def.in!).type === "transform" && ["optional", "default", "prefault"].includes(defOf(def.out!).type)) {
      // z.preprocess(…, x.optional()): the wrapper sits after the preprocessing step.
      current = def.out!;
      description ??= descriptionOf(current);
      continue;
    } else break;
    current = def.innerType!;
    description ??= descriptionOf(current);
  }
  return { schema: current, description, presence };
}

/** One row per key of `object` (and of the objects inside it), in the schema's order. */
export function keyRows(object: z.ZodType, prefix = ""): KeyRow[] {
  const shape = defOf(unwrap(object).schema).shape ?? {};
  const rows: KeyRow[] = [];
  for (const [name, field] of Object.entries(shape)) {
    const key = prefix === "" ? name : `${prefix}.${name}`;
    const { schema, description, presence } = unwrap(field);
    const described = shapeOf(schema, key);
    const isObject = described.type === "object";
    const defaultText =
      presence.kind === "required" ? "required" : presence.kind === "default" ? code(described.format(presence.value)) : presence.kind === "prefault" ? "`{}`" : "—";
    // An object is listed itself when leaving it out means something (optional) or it says what it is;
    // otherwise its keys, with their dotted paths, say enough.
    if (!isObject || presence.kind === "optional" || presence.kind === "required" || description !== undefined) {
      rows.push({ key, type: described.type, default: defaultText, allowed: described.allowed.join("; "), description: description ?? "" });
    }
    if (described.fields) rows.push(...keyRows(described.fields.object, described.fields.prefix));
  }
  return rows;
}

function cell(text: string): string {
  return text.replace(/\s*\n\s*/g, " ").replaceAll("|", "\\|");
}

function table(rows: KeyRow[]): string {
  if (rows.length === 0) return "No settings: write `{}`.\n";
  const lines = ["| key | type | default | allowed | description |", "|---|---|---|---|---|"];
  for (const row of rows) lines.push(`| ${code(row.key)} | ${cell(row.type)} | ${cell(row.default)} | ${cell(row.allowed)} | ${cell(row.description)} |`);
  return `${lines.join("\n")}\n`;
}

const ROLE: Record<ExporterFactory["role"], string> = {
  blob: "blob exporter: stores each group as an object",
  queue: "queue exporter: enqueues a job that points at the object of the nearest blob exporter listed before it",
};

/** What the registry itself says of a component: where it may go, its role, what must come before it. */
function factsOf(factory: AnyFactory, registry: ComponentRegistry): string[] {
  if (factory.kind === "receiver") return [];
  const facts = [`Pipelines: ${factory.pipelineTypes.map((type) => code(type)).join(" and ")}.`];
  if (factory.kind === "exporter") facts.push(`Role: ${ROLE[factory.role]}.`);
  if (factory.kind === "processor") {
    for (const { capability, reason } of factory.requires) {
      const providers = [...registry.processors.values()].filter((other) => other.provides.includes(capability)).map((other) => code(other.type));
      facts.push(`Must come after ${providers.join(" or ")}: ${reason}.`);
    }
  }
  return facts;
}

const SECTIONS = [
  ["receivers", "Receivers"],
  ["processors", "Processors"],
  ["exporters", "Exporters"],
] as const;

/** The whole of docs/configuration.md. */
export function renderConfigurationDoc(registry: ComponentRegistry = builtinComponents, service: z.ZodType = serviceConfigSchema): string {
  const parts: string[] = [
    "# Configuration reference",
    "",
    "<!-- Generated by `npm run docs` (scripts/config-docs.ts) from the zod schemas the daemon parses its",
    "configuration with. Do not edit by hand: change the schema (its `.describe()` text) and run `npm run docs`;",
    "test/unit/config-docs.test.ts fails while this file is stale. -->",
    "",
    "Every key of every component type and of `service`, as the daemon checks them. How a configuration",
    "is put together, and what each component does, is in [configuration-guide.md](configuration-guide.md).",
    "",
    "- A component is configured under its section as `type` or `type/name` (`s3`, `s3/archive`), and runs",
    "  only when a pipeline lists it. Unknown keys are errors.",
    "- Any value may be written as `${env:NAME}`, `${env:NAME:-default}` or `${file:/path}`; numbers and",
    "  booleans may be written as strings.",
    "- A **duration** is `500ms`, `5s`, `1m`, `1h`, or a number of milliseconds. A **size** is `64MiB`,",
    "  `4.5MiB`, `512KiB`, `1GiB`, `64MB`, or a number of bytes. A **host:port** is `127.0.0.1:4318`,",
    "  `0.0.0.0:4318` or `[::1]:4318`; port 0 picks a free port.",
    "- Default `—`: the key may be left out, and is then not set. `{}`: left out, its own keys take their",
    "  defaults. `required`: it must be given.",
    "",
  ];
  for (const [section, title] of SECTIONS) {
    parts.push(`## ${title}`, "");
    for (const factory of registry[section].values()) {
      parts.push(`### ${code(factory.type)}`, "");
      const description = descriptionOf(factory.configSchema);
      if (description !== undefined) parts.push(description, "");
      const facts = factsOf(factory, registry);
      if (facts.length > 0) parts.push(facts.map((fact) => `- ${fact}`).join("\n"), "");
      parts.push(table(keyRows(factory.configSchema)));
    }
  }
  parts.push("## Service", "");
  const description = descriptionOf(service);
  if (description !== undefined) parts.push(description, "");
  parts.push(table(keyRows(service, "service")));
  return `${parts.join("\n").trimEnd()}\n`;
}

if (process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  writeFileSync(CONFIG_DOCS_PATH, renderConfigurationDoc());
  process.stdout.write(`wrote ${CONFIG_DOCS_PATH}\n`);
}
