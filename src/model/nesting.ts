/**
 * The one bound on how deeply user data may nest, for every path that reads it: an ingestion
 * event, and an OTLP resource, scope or span in its OTLP/JSON form (a protobuf request measured
 * as the JSON it is stored as), may hold objects and arrays at most this many levels deep, the
 * item itself being level 1. Deeper items are refused one by one (a per-event 400, a span in
 * `partial_success`), never the whole request.
 *
 * Why a bound at all: JSON.parse is iterative, but JSON.stringify, structuredClone, zod and every
 * recursive walk overflow the stack a few thousand levels down, which would fail a whole batch.
 * Real LLM payloads (messages, content parts, tool schemas) nest a few dozen levels at most.
 */
export const MAX_NESTING_DEPTH = 128;

/** Whether objects/arrays nest deeper than `maxDepth` (the value itself is level 1); iterative, so it cannot overflow itself. */
export function nestsDeeperThan(value: unknown, maxDepth: number = MAX_NESTING_DEPTH): boolean {
  if (typeof value !== "object" || value === null) return false;
  const stack: Array<[object, number]> = [[value, 1]];
  while (stack.length > 0) {
    const [node, depth] = stack.pop() as [object, number];
    if (depth > maxDepth) return true;
    for (const child of Object.values(node)) {
      if (typeof child === "object" && child !== null) stack.push([child, depth + 1]);
    }
  }
  return false;
}

/** The reason given for a refused item. */
export const TOO_DEEP = `nested deeper than ${MAX_NESTING_DEPTH} levels`;
