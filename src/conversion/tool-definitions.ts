/**
 * Mapping spec §6, last paragraph: tool definitions that instrumentations record as metadata are
 * moved into the observation's input, so the input shows what the model was offered.
 * Observations only; trace bodies keep input and metadata untouched (case 45).
 *
 * The rules are Langfuse's (its ingestion tool normalisation), including when a list counts as
 * tools: every entry must look like a tool, string entries are read as JSON, and a tool name seen
 * once is not added again.
 */
import { isPlainObject, parseJson } from "./values.js";

/** JSON text → its value; other values, and text that is not JSON, as they are. */
function parseIfString(value: unknown): unknown {
  if (typeof value !== "string") return value;
  const parsed = parseJson(value);
  return parsed.ok ? parsed.value : value;
}

/** A list, or JSON text of a list; undefined otherwise. */
function listOf(value: unknown): unknown[] | undefined {
  if (Array.isArray(value)) return value;
  if (typeof value !== "string") return undefined;
  const parsed = parseJson(value);
  return parsed.ok && Array.isArray(parsed.value) ? parsed.value : undefined;
}

function own(value: unknown, key: string): unknown {
  return typeof value === "object" && value !== null && Object.hasOwn(value, key) ? (value as Record<string, unknown>)[key] : undefined;
}

/** A tool's name: of its `function` when it has one (OpenAI Chat Completions), else its own. */
function toolName(tool: unknown): unknown {
  const value = parseIfString(tool);
  if (typeof value !== "object" || value === null) return undefined;
  return own(own(value, "function") ?? value, "name");
}

/** A tool entry: an object with a name, or (for provider tools such as `web_search`) with a string type. */
function isToolEntry(tool: unknown, allowProviderToolWithoutName: boolean): boolean {
  const value = parseIfString(tool);
  if (!isPlainObject(value)) return false;
  if (toolName(value)) return true;
  return allowProviderToolWithoutName && typeof value.type === "string";
}

/**
 * The tool entries of a list (or its JSON text), string entries parsed: `[]` for an empty list,
 * undefined when there are none, or (with `requireEveryItem`) when any entry is not a tool.
 */
function toolList(value: unknown, requireEveryItem: boolean, allowProviderToolWithoutName: boolean): unknown[] | undefined {
  const list = listOf(value);
  if (list === undefined) return undefined;
  const entries = list.map(parseIfString);
  if (entries.length === 0) return [];
  const tools = entries.filter((entry) => isToolEntry(entry, allowProviderToolWithoutName));
  if (requireEveryItem && tools.length !== entries.length) return undefined;
  return tools.length > 0 ? tools : undefined;
}

/** Keeps the first tool of each name; tools without a name all stay. */
function withoutRepeatedNames(tools: unknown[]): unknown[] {
  const seen = new Set<unknown>();
  return tools.filter((tool) => {
    const name = toolName(tool);
    if (!name) return true;
    if (seen.has(name)) return false;
    seen.add(name);
    return true;
  });
}

const LLM_TOOL_SCHEMA_KEY = /^llm\.tools\.(\d+)\.tool\.json_schema$/;

/** Tool definitions found in the metadata, and the metadata without them. */
function collectTools(metadata: Record<string, unknown>): { tools: unknown[]; metadata: Record<string, unknown> } {
  let tools: unknown[] = [];
  const cleaned: Record<string, unknown> = { ...metadata };

  const metadataTools = toolList(metadata.tools, true, false);
  if (metadataTools !== undefined && metadataTools.length > 0) {
    tools = tools.concat(metadataTools);
    delete cleaned.tools;
  }

  const attributes = parseIfString(metadata.attributes);
  if (!isPlainObject(attributes)) return { tools: withoutRepeatedNames(tools), metadata: cleaned };
  const cleanedAttributes: Record<string, unknown> = { ...attributes };
  /** Takes the tools of a list; an empty list counts as taken (and is removed) too. */
  const take = (value: unknown, allowProviderToolWithoutName: boolean): boolean => {
    const found = toolList(value, true, allowProviderToolWithoutName);
    if (found === undefined) return false;
    tools = tools.concat(found);
    return true;
  };

  // Vercel AI SDK: the tools offered, including provider tools that have a type but no name.
  if (take(attributes["ai.prompt.tools"], true)) delete cleanedAttributes["ai.prompt.tools"];
  // OpenTelemetry GenAI.
  if (take(attributes["gen_ai.tool.definitions"], false)) delete cleanedAttributes["gen_ai.tool.definitions"];

  // pydantic-ai: `function_tools` inside `model_request_parameters`, which keeps the rest.
  const requestParameters = parseIfString(attributes.model_request_parameters);
  if (isPlainObject(requestParameters)) {
    const rest: Record<string, unknown> = { ...requestParameters };
    if (take(requestParameters.function_tools, false)) delete rest.function_tools;
    if (Object.keys(rest).length > 0) {
      cleanedAttributes.model_request_parameters = typeof attributes.model_request_parameters === "string" ? JSON.stringify(rest) : rest;
    } else {
      delete cleanedAttributes.model_request_parameters;
    }
  }

  // OpenInference: one JSON schema per `llm.tools.<n>.tool.json_schema` key, in index order.
  const indexed = Object.keys(attributes)
    .map((key) => ({ key, match: LLM_TOOL_SCHEMA_KEY.exec(key) }))
    .filter((entry): entry is { key: string; match: RegExpExecArray } => entry.match !== null)
    .sort((a, b) => Number(a.match[1]) - Number(b.match[1]));
  for (const { key } of indexed) {
    const tool = parseIfString(attributes[key]);
    if (isToolEntry(tool, false)) {
      tools.push(tool);
      delete cleanedAttributes[key];
    }
  }

  if (Object.keys(cleanedAttributes).length > 0) cleaned.attributes = cleanedAttributes;
  else delete cleaned.attributes;
  return { tools: withoutRepeatedNames(tools), metadata: cleaned };
}

/**
 * The input with the tools added: a list becomes `{messages, tools}`, an object gains `tools`
 * (merged with tools it already lists, when those read as tools), text becomes `{prompt, tools}`,
 * nothing becomes `{tools}`. Undefined when the input cannot take them (a number, or an object
 * whose own `tools` are not tools).
 */
function withTools(input: unknown, tools: unknown[]): unknown {
  if (typeof input === "string") {
    const parsed = parseJson(input);
    if (!parsed.ok) return { prompt: input, tools };
    return merge(parsed.value, tools);
  }
  return merge(input, tools);
}

function merge(value: unknown, tools: unknown[]): unknown {
  if (Array.isArray(value)) return { messages: value, tools };
  if (isPlainObject(value)) {
    const merged: Record<string, unknown> = { ...value };
    if (value.tools != null) {
      const existing = toolList(value.tools, false, true);
      if (existing === undefined) return undefined;
      merged.tools = withoutRepeatedNames(existing.concat(tools));
    } else {
      merged.tools = tools;
    }
    return merged;
  }
  if (value === null || value === undefined) return { tools };
  if (typeof value === "string") return { prompt: value, tools };
  return undefined;
}

export interface ToolNormalisation {
  input: unknown;
  metadata: Record<string, unknown>;
}

/**
 * Moves tool definitions from `metadata.tools` and from the known `metadata.attributes` keys into
 * the input. Returns the arguments themselves when there are none or the input cannot take them;
 * otherwise new objects, so metadata shared with the trace body is never modified.
 */
export function moveToolDefinitionsIntoInput(input: unknown, metadata: Record<string, unknown>): ToolNormalisation {
  const collected = collectTools(metadata);
  if (collected.tools.length === 0) return { input, metadata };
  const merged = withTools(input, collected.tools);
  if (merged === undefined) return { input, metadata };
  return { input: merged, metadata: collected.metadata };
}
