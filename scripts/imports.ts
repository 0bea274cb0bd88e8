/**
 * The daemon's import graph, and the layering rules it must keep:
 *
 * - the pipeline core (`src/pipeline`, `src/spool`) imports no component (processor, exporter,
 *   receiver), not the registry and not the service or the commands;
 * - telemetry imports no receiver;
 * - a component imports no other kind of component, nor the service;
 * - no import cycle, type-only imports included.
 *
 * `npm run imports` prints the graph between areas (top-level folders and files of src) and every
 * violation; test/unit/layering.test.ts fails on any violation.
 */
import { readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";

export type ImportGraph = Map<string, string[]>;

const IMPORT = /(?:^|\n)\s*(?:import|export)\s+(?:type\s+)?(?:[^"';]*?\sfrom\s+)?["'](\.[^"']+)["']/g;
const DYNAMIC_IMPORT = /import\(\s*["'](\.[^"']+)["']\s*\)/g;

/** Every module under `root` (paths relative to it) with the modules it imports. */
export function importGraph(root: string): ImportGraph {
  const files: string[] = [];
  const walk = (folder: string) => {
    for (const name of readdirSync(folder)) {
      const path = join(folder, name);
      if (statSync(path).isDirectory()) walk(path);
      else if (path.endsWith(".ts")) files.push(path);
    }
  };
  walk(root);
  const graph: ImportGraph = new Map();
  for (const file of files) {
    const text = readFileSync(file, "utf8");
    const targets = new Set<string>();
    for (const pattern of [IMPORT, DYNAMIC_IMPORT]) {
      for (const match of text.matchAll(pattern)) targets.add(relative(root, resolve(dirname(file), match[1]!.replace(/\.js$/, ".ts"))));
    }
    graph.set(relative(root, file), [...targets].sort());
  }
  return graph;
}

/** A module's area: its top-level folder, or its own name for a file at the top. */
export function areaOf(module: string): string {
  return module.split("/")[0]!.replace(/\.ts$/, "");
}

const COMPONENTS = ["processors", "exporters", "receivers"];
const TOP = ["service", "components", "cli", "serve", "primary-start", "dead-letter-commands", "workers"];

/** Why `from` may not import `to`, or undefined when it may. */
function forbidden(from: string, to: string): string | undefined {
  const source = areaOf(from);
  const target = areaOf(to);
  if ((source === "pipeline" || source === "spool") && (COMPONENTS.includes(target) || TOP.includes(target))) {
    return "the pipeline core imports no component, registry, service or command";
  }
  if (source === "telemetry" && target === "receivers") return "telemetry imports no receiver";
  if (COMPONENTS.includes(source) && source !== target && (COMPONENTS.includes(target) || TOP.includes(target))) {
    return "a component imports no other kind of component, nor the service";
  }
  return undefined;
}

/** The strongly connected groups of more than one module (Tarjan). */
export function cycles(graph: ImportGraph): string[][] {
  let counter = 0;
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const found: string[][] = [];
  const visit = (node: string) => {
    index.set(node, counter);
    low.set(node, counter);
    counter += 1;
    stack.push(node);
    onStack.add(node);
    for (const next of graph.get(node) ?? []) {
      if (!graph.has(next)) continue;
      if (!index.has(next)) {
        visit(next);
        low.set(node, Math.min(low.get(node)!, low.get(next)!));
      } else if (onStack.has(next)) {
        low.set(node, Math.min(low.get(node)!, index.get(next)!));
      }
    }
    if (low.get(node) !== index.get(node)) return;
    const group: string[] = [];
    let member: string;
    do {
      member = stack.pop()!;
      onStack.delete(member);
      group.push(member);
    } while (member !== node);
    if (group.length > 1) found.push(group.sort());
  };
  for (const node of [...graph.keys()].sort()) if (!index.has(node)) visit(node);
  return found;
}

/** Every broken rule, one line each. */
export function violations(graph: ImportGraph): string[] {
  const problems: string[] = [];
  for (const [from, targets] of graph) {
    for (const to of targets) {
      const reason = forbidden(from, to);
      if (reason !== undefined) problems.push(`${from} imports ${to}: ${reason}`);
    }
  }
  for (const group of cycles(graph)) problems.push(`import cycle: ${group.join(" -> ")}`);
  return problems.sort();
}

/** Edges between areas, with how many module imports make each. */
export function areaEdges(graph: ImportGraph): Array<[string, string, number]> {
  const counts = new Map<string, number>();
  for (const [from, targets] of graph) {
    for (const to of targets) {
      const edge = `${areaOf(from)} -> ${areaOf(to)}`;
      if (areaOf(from) !== areaOf(to)) counts.set(edge, (counts.get(edge) ?? 0) + 1);
    }
  }
  return [...counts].sort(([a], [b]) => a.localeCompare(b)).map(([edge, count]) => [...(edge.split(" -> ") as [string, string]), count]);
}

if (process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const graph = importGraph(resolve(dirname(fileURLToPath(import.meta.url)), "../src"));
  for (const [from, to, count] of areaEdges(graph)) process.stdout.write(`${from} -> ${to} (${count})\n`);
  const problems = violations(graph);
  process.stdout.write(problems.length === 0 ? "no layering violations, no import cycles\n" : `${problems.join("\n")}\n`);
  process.exitCode = problems.length === 0 ? 0 : 1;
}
