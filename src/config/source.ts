import { readFile } from "node:fs/promises";
import { isMap, isScalar, LineCounter, parseDocument, visit, type Document } from "yaml";
import type { ConfigProblem } from "./problems.js";

/** A parsed YAML file that can say where a path of keys sits in the text. */
export interface ConfigSource {
  file: string;
  /** The document as plain data, or undefined when the YAML could not be parsed. */
  value: unknown;
  /** Syntax problems (duplicate keys, bad indentation, ...), already located. */
  problems: ConfigProblem[];
  /** Attaches file, line and column to a problem. With `atKey`, points at the last path element's key. */
  locate(problem: ConfigProblem, atKey?: boolean): ConfigProblem;
}

export async function readConfigFile(file: string): Promise<ConfigSource> {
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch (error) {
    const reason = (error as NodeJS.ErrnoException).code === "ENOENT" ? "file not found" : (error as Error).message;
    return {
      file,
      value: undefined,
      problems: [{ path: [], message: `cannot read the configuration: ${reason}`, file }],
      locate: (problem) => ({ ...problem, file }),
    };
  }
  return parseConfigText(text, file);
}

export function parseConfigText(text: string, file: string): ConfigSource {
  const lineCounter = new LineCounter();
  const document = parseDocument(text, { lineCounter, uniqueKeys: true, prettyErrors: true });
  const problems: ConfigProblem[] = document.errors.map((error) => {
    const position = error.linePos?.[0];
    return { path: [], message: error.message.split("\n")[0] ?? error.message, file, line: position?.line, column: position?.col };
  });

  const locate = (problem: ConfigProblem, atKey = false): ConfigProblem => {
    const offset = offsetOf(document, problem.path, atKey);
    if (offset === undefined) return { ...problem, file };
    const { line, col } = lineCounter.linePos(offset);
    return { ...problem, file, line, column: col };
  };

  let value: unknown;
  if (problems.length === 0) {
    try {
      const cyclic = cyclicAliasOffset(document);
      if (cyclic !== undefined) {
        // yaml builds a circular object for it, which no later stage could walk.
        const { line, col } = lineCounter.linePos(cyclic);
        problems.push({ path: [], message: "an alias refers to a node that contains it (a cycle)", file, line, column: col });
      } else {
        value = document.toJS({ maxAliasCount: 100 }) as unknown;
      }
    } catch (error) {
      // Aliases fail only here: one with no anchor before it, or an alias bomb past maxAliasCount.
      const offset = unresolvedAliasOffset(document);
      const position = offset === undefined ? undefined : lineCounter.linePos(offset);
      problems.push({ path: [], message: (error as Error).message, file, line: position?.line, column: position?.col });
    }
  }
  return { file, value: value ?? (problems.length > 0 ? undefined : {}), problems, locate };
}

/** Where the first alias that sits inside the node it names is, if any. */
function cyclicAliasOffset(document: Document): number | undefined {
  let found: number | undefined;
  visit(document, {
    Alias(_, node) {
      const start = node.range?.[0];
      const target = node.resolve(document)?.range;
      if (start !== undefined && target !== undefined && target !== null && target[0] <= start && start < target[1]) {
        found = start;
        return visit.BREAK;
      }
      return undefined;
    },
  });
  return found;
}

/** Where the first alias without an anchor sits, or else the first alias (for an alias bomb). */
function unresolvedAliasOffset(document: Document): number | undefined {
  let first: number | undefined;
  let unresolved: number | undefined;
  visit(document, {
    Alias(_, node) {
      const start = node.range?.[0];
      first ??= start;
      if (node.resolve(document) === undefined) {
        unresolved = start;
        return visit.BREAK;
      }
      return undefined;
    },
  });
  return unresolved ?? first;
}

type Ranged = { range?: [number, number, number] } | null | undefined;

/** Offset of the key that holds `path` in its parent map. */
function keyOffset(document: Document, path: ReadonlyArray<string | number>): number | undefined {
  if (path.length === 0) return undefined;
  const parent = document.getIn(path.slice(0, -1), true);
  if (!isMap(parent)) return undefined;
  const last = String(path[path.length - 1]);
  const pair = parent.items.find((item) => isScalar(item.key) && String(item.key.value) === last);
  return (pair?.key as Ranged)?.range?.[0];
}

/**
 * Offset of the node at `path` (or of its key). When the node is missing (a required key that is
 * absent), point at the key of the closest existing ancestor, so the user sees which block lacks it.
 */
function offsetOf(document: Document, path: ReadonlyArray<string | number>, atKey: boolean): number | undefined {
  if (atKey) {
    const offset = keyOffset(document, path);
    if (offset !== undefined) return offset;
  }
  const exact = (path.length === 0 ? document.contents : document.getIn(path, true)) as Ranged;
  if (exact?.range && (exact as { value?: unknown }).value !== null) return exact.range[0];
  for (let length = path.length; length > 0; length -= 1) {
    const offset = keyOffset(document, path.slice(0, length));
    if (offset !== undefined) return offset;
  }
  return (document.contents as Ranged)?.range?.[0];
}
