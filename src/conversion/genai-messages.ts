/**
 * OTel GenAI message attributes (§6 step 20), shared by the Vercel AI gap filling (step 3), the
 * inference-details event (step 5) and pydantic-ai (step 16).
 */
import type { AttributeMap } from "./attributes.js";
import { isPlainObject, parseJson, toJsonText } from "./values.js";

export interface InputOutput {
  /** undefined means "no value": the key is left out of the body. */
  input: unknown;
  output: unknown;
}

/**
 * `gen_ai.input.messages` / `gen_ai.output.messages` (with the system instructions put in front),
 * or else `gen_ai.tool.call.arguments` / `gen_ai.tool.call.result`.
 */
export function otelGenAiInputOutput(attrs: AttributeMap): InputOutput {
  const inputMessages = attrs.get("gen_ai.input.messages");
  const outputMessages = attrs.get("gen_ai.output.messages");
  if (inputMessages != null || outputMessages != null) {
    return {
      input: withSystemInstructions(inputMessages, attrs.get("gen_ai.system_instructions")),
      output: outputMessages,
    };
  }
  return { input: attrs.get("gen_ai.tool.call.arguments"), output: attrs.get("gen_ai.tool.call.result") };
}

/**
 * Puts `{role:"system", content}` in front of a message array that has no system message yet.
 * A JSON-string input is parsed for the check and re-stringified afterwards, so the value keeps
 * its form; anything that is not (or does not parse to) an array is returned unchanged.
 */
export function withSystemInstructions(input: unknown, instructions: unknown): unknown {
  if (instructions == null) return input;
  let messages: unknown = input;
  if (typeof input === "string") {
    const parsed = parseJson(input);
    if (!parsed.ok) return input;
    messages = parsed.value;
  }
  if (!Array.isArray(messages)) return input;
  if (messages.some((m) => isPlainObject(m) && m.role === "system")) return input;
  const withSystem = [{ role: "system", content: instructionsText(instructions) }, ...messages];
  return typeof input === "string" ? JSON.stringify(withSystem) : withSystem;
}

/** The instructions' parts' `content` joined by newlines, or else their string form. */
function instructionsText(instructions: unknown): string {
  const parts = typeof instructions === "string" ? parseJsonOr(instructions) : instructions;
  if (Array.isArray(parts)) {
    const texts: string[] = [];
    for (const part of parts) {
      if (typeof part === "string") texts.push(part);
      else if (isPlainObject(part) && typeof part.content === "string") texts.push(part.content);
    }
    if (texts.length > 0) return texts.join("\n");
  }
  return typeof instructions === "string" ? instructions : toJsonText(instructions);
}

function parseJsonOr(text: string): unknown {
  const parsed = parseJson(text);
  return parsed.ok ? parsed.value : undefined;
}
