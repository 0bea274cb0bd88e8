/**
 * Mapping spec §6 steps 18–19: rebuilding message lists that instrumentations flattened into
 * dotted attribute keys (`gen_ai.prompt.0.role`, `llm.input_messages.1.message.content`, …).
 */
import type { AttributeMap } from "./attributes.js";
import { MAX_NESTING_DEPTH } from "./values.js";

/**
 * Total array slots all arrays of one reconstruction may hold. Without it a single key such as
 * `gen_ai.prompt.4294967295.x` would allocate a gigantic array.
 */
export const ARRAY_SLOT_BUDGET = 10_001;

/** Path segments that could reach a prototype if used as object keys. */
const FORBIDDEN_SEGMENTS: ReadonlySet<string> = new Set(["__proto__", "constructor", "prototype"]);

const INDEX = /^\d+$/;

type Container = unknown[] | Record<string, unknown>;

function isContainer(value: unknown): value is Container {
  return typeof value === "object" && value !== null;
}

/**
 * The value for `base`: the bare attribute when present, otherwise the structure rebuilt from
 * every `base.`-prefixed key, or undefined when there is none.
 *
 * The top level is an array when some suffix starts with `<digits>.`; deeper, a container is an
 * array exactly when the segment that indexes into it is numeric. Keys that conflict with what
 * earlier keys built (a value where a container is needed, an array indexed by a name), keys with
 * a forbidden segment, keys nesting too deeply and keys that would overrun the slot budget are
 * dropped.
 */
export function reconstructFlattened(attrs: AttributeMap, base: string): unknown {
  const bare = attrs.get(base);
  if (bare !== undefined) return bare;

  const prefix = `${base}.`;
  const paths: Array<{ segments: string[]; value: unknown }> = [];
  let topIsArray = false;
  for (const [key, value] of attrs) {
    if (!key.startsWith(prefix)) continue;
    const segments = key.slice(prefix.length).split(".");
    // Each segment is one level of nesting in the result, which later stages must serialise.
    if (segments.length > MAX_NESTING_DEPTH || segments.some((s) => FORBIDDEN_SEGMENTS.has(s))) continue;
    if (segments.length > 1 && INDEX.test(segments[0] ?? "")) topIsArray = true;
    paths.push({ segments, value });
  }
  if (paths.length === 0) return undefined;

  const root: Container = topIsArray ? [] : {};
  let slotsUsed = 0;
  for (const { segments, value } of paths) {
    const cost = slotCost(root, segments);
    if (cost === undefined || slotsUsed + cost > ARRAY_SLOT_BUDGET) continue;
    slotsUsed += cost;
    write(root, segments, value);
  }
  return root;
}

/**
 * How many new array slots writing `segments` would add, or undefined when the key conflicts
 * with the structure built so far. Runs before any mutation, so a rejected key changes nothing.
 */
function slotCost(root: Container, segments: readonly string[]): number | undefined {
  let node: unknown = root;
  let cost = 0;
  for (let i = 0; i < segments.length; i++) {
    const segment = segments[i] as string;
    const last = i === segments.length - 1;
    let child: unknown;
    if (Array.isArray(node)) {
      if (!INDEX.test(segment)) return undefined;
      const index = Number(segment);
      cost += Math.max(0, index + 1 - node.length);
      child = node[index];
    } else {
      const record = node as Record<string, unknown>;
      child = Object.hasOwn(record, segment) ? record[segment] : undefined;
    }
    if (last) return isContainer(child) ? undefined : cost;
    if (child === undefined) {
      // Everything below is new: each numeric segment indexes a fresh array.
      for (let j = i + 1; j < segments.length; j++) {
        const s = segments[j] as string;
        if (INDEX.test(s)) cost += Number(s) + 1;
      }
      return cost;
    }
    if (!isContainer(child)) return undefined;
    const next = segments[i + 1] as string;
    if (Array.isArray(child) && !INDEX.test(next)) return undefined;
    node = child;
  }
  return cost;
}

function write(root: Container, segments: readonly string[], value: unknown): void {
  let node: Container = root;
  for (let i = 0; i < segments.length; i++) {
    const segment = segments[i] as string;
    const key: string | number = Array.isArray(node) ? Number(segment) : segment;
    if (i === segments.length - 1) {
      (node as Record<string | number, unknown>)[key] = value;
      return;
    }
    let child = (node as Record<string | number, unknown>)[key];
    if (!isContainer(child)) {
      child = INDEX.test(segments[i + 1] as string) ? [] : {};
      (node as Record<string | number, unknown>)[key] = child;
    }
    node = child as Container;
  }
}
