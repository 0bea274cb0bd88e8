/**
 * Mapping spec §6, last paragraph: tool definitions that instrumentations record as metadata are
 * moved into the observation's input, so the input shows what the model was offered.
 * Observations only; trace bodies keep input and metadata untouched (case 45).
 */
import { isPlainObject, parseIfJsonString, parseJson, setOwn } from "./values.js";

/** Objects shaped like a tool definition: `{name}` (Vercel, pydantic-ai, Responses) or `{function:{name}}`. */
function looksLikeToolDefinition(value: unknown): boolean {
  if (!isPlainObject(value)) return false;
  if (typeof value.name === "string") return true;
  const fn = value.function;
  return isPlainObject(fn) && typeof fn.name === "string";
}

/** A non-empty list whose every entry is a tool definition, else undefined. */
function asToolList(value: unknown): unknown[] | undefined {
  if (!Array.isArray(value) || value.length === 0) return undefined;
  return value.every(looksLikeToolDefinition) ? value : undefined;
}

const LLM_TOOL_SCHEMA_KEY = /^llm\.tools\.(\d+)\.tool\.json_schema$/;

export interface ToolNormalisation {
  input: unknown;
  metadata: Record<string, unknown>;
}

/**
 * Moves tool definitions from `metadata.tools` and from the known `metadata.attributes` keys into
 * the input. Returns the arguments themselves when there are none; otherwise new objects, so
 * metadata shared with the trace body is never modified.
 */
export function moveToolDefinitionsIntoInput(input: unknown, metadata: Record<string, unknown>): ToolNormalisation {
  const tools: unknown[] = [];
  let newMetadata: Record<string, unknown> | undefined;
  let newAttributes: Record<string, unknown> | undefined;

  const metadataTools = asToolList(metadata.tools);
  if (metadataTools !== undefined) {
    tools.push(...metadataTools);
    newMetadata = { ...metadata };
    delete newMetadata.tools;
  }

  const attributes = metadata.attributes;
  if (isPlainObject(attributes)) {
    const removeKeys: string[] = [];
    const replaced: Array<[string, unknown]> = [];

    // Vercel AI SDK: a string array whose entries are JSON tool definitions.
    const vercel = parseIfJsonString(attributes["ai.prompt.tools"]);
    const vercelTools = Array.isArray(vercel) ? asToolList(vercel.map(parseIfJsonString)) : undefined;
    if (vercelTools !== undefined) {
      tools.push(...vercelTools);
      removeKeys.push("ai.prompt.tools");
    }

    // OTel GenAI.
    const genAiTools = asToolList(parseIfJsonString(attributes["gen_ai.tool.definitions"]));
    if (genAiTools !== undefined) {
      tools.push(...genAiTools);
      removeKeys.push("gen_ai.tool.definitions");
    }

    // pydantic-ai: `function_tools` inside the JSON `model_request_parameters` (or a flattened key).
    const flatPydantic = asToolList(parseIfJsonString(attributes["model_request_parameters.function_tools"]));
    if (flatPydantic !== undefined) {
      tools.push(...flatPydantic);
      removeKeys.push("model_request_parameters.function_tools");
    }
    const requestParameters = attributes.model_request_parameters;
    if (typeof requestParameters === "string") {
      const parsed = parseJson(requestParameters);
      if (parsed.ok && isPlainObject(parsed.value)) {
        const functionTools = asToolList(parsed.value.function_tools);
        if (functionTools !== undefined) {
          tools.push(...functionTools);
          const rest: Record<string, unknown> = {};
          for (const key of Object.keys(parsed.value)) {
            if (key !== "function_tools") setOwn(rest, key, parsed.value[key]);
          }
          replaced.push(["model_request_parameters", JSON.stringify(rest)]);
        }
      }
    }

    // OpenInference: one JSON schema per `llm.tools.<n>.tool.json_schema` key, in index order.
    const openInference: Array<{ index: number; key: string; tool: unknown }> = [];
    for (const key of Object.keys(attributes)) {
      if (!key.startsWith("llm.tools.")) continue;
      const match = LLM_TOOL_SCHEMA_KEY.exec(key);
      if (match === null) continue;
      openInference.push({ index: Number(match[1]), key, tool: parseIfJsonString(attributes[key]) });
    }
    if (openInference.length > 0 && openInference.every((t) => looksLikeToolDefinition(t.tool))) {
      openInference.sort((a, b) => a.index - b.index);
      for (const t of openInference) {
        tools.push(t.tool);
        removeKeys.push(t.key);
      }
    }

    if (removeKeys.length > 0 || replaced.length > 0) {
      newAttributes = { ...attributes };
      for (const key of removeKeys) delete newAttributes[key];
      for (const [key, value] of replaced) setOwn(newAttributes, key, value);
    }
  }

  if (tools.length === 0) return { input, metadata };
  const resultMetadata = newMetadata ?? { ...metadata };
  if (newAttributes !== undefined) resultMetadata.attributes = newAttributes;
  return { input: mergeTools(input, tools), metadata: resultMetadata };
}

/** Array input → `{messages, tools}`; object → `{…input, tools}`; text → `{prompt, tools}`; none → `{tools}`. */
function mergeTools(input: unknown, tools: unknown[]): Record<string, unknown> {
  let value = input;
  if (typeof input === "string") {
    const parsed = parseJson(input);
    value = parsed.ok && (Array.isArray(parsed.value) || isPlainObject(parsed.value)) ? parsed.value : input;
  }
  if (value == null) return { tools };
  if (Array.isArray(value)) return { messages: value, tools };
  if (isPlainObject(value)) {
    const merged: Record<string, unknown> = { ...value };
    merged.tools = tools;
    return merged;
  }
  return { prompt: value, tools };
}
