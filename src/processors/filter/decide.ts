import type { CompiledFilter, FilterSubject } from "./rules.js";

/** One span or native observation as the decision sees it. */
export interface FilterItem {
  readonly subject: FilterSubject;
  readonly traceId: string | undefined;
  readonly id: string | undefined;
  readonly parentId: string | undefined;
  /** The parent id as the item holds it, given to a child when this item is dropped and the child reparented. */
  readonly rawParent: unknown;
}

export interface FilterDecision {
  keep: boolean[];
  /** Rule name → items it dropped (`not_kept` for items no keep rule selected, `orphan` for dropped children). */
  dropsByRule: Map<string, number>;
  /** Index of a kept item → its new parent (undefined: none, it becomes a root). */
  reparent: Map<number, unknown>;
  /** Traces a trace-level drop rule selected: everything else of theirs in the request goes too. */
  droppedTraces: Set<string>;
}

/** Why a span-level filter drops one item (`not_kept` or the first drop rule selecting it); undefined: it stays. */
export function spanDropReason(subject: FilterSubject, filter: CompiledFilter): string | undefined {
  if (filter.keep.length > 0 && !filter.keep.some((rule) => rule.matches(subject))) return "not_kept";
  for (const rule of filter.drop) if (rule.matches(subject)) return rule.name;
  return undefined;
}

/** A filter whose every rule looks at one span at a time, and keeps orphans: decideEachSpan decides it. */
export function isSpanLevel(filter: CompiledFilter): boolean {
  return filter.orphans === "keep" && [...filter.keep, ...filter.drop].every((rule) => rule.level === "span");
}

/**
 * Decides which items stay: those a keep rule selects (when there are keep rules), less those a
 * drop rule selects; trace-level rules select every item of a trace one of its items matches.
 * Then children of dropped items are kept, reparented or dropped, by `orphans`. Only items of
 * this request are seen: a trace split over several requests is decided per request.
 */
export function decideFilter(items: readonly FilterItem[], filter: CompiledFilter): FilterDecision {
  const reasons: Array<string | undefined> = new Array(items.length).fill(undefined);
  const tracesOf = (rule: { matches(subject: FilterSubject): boolean }): Set<string> => {
    const traces = new Set<string>();
    for (const item of items) if (item.traceId !== undefined && rule.matches(item.subject)) traces.add(item.traceId);
    return traces;
  };

  if (filter.keep.length > 0) {
    const keptTraces = filter.keep.filter((rule) => rule.level === "trace").map(tracesOf);
    const spanRules = filter.keep.filter((rule) => rule.level === "span");
    items.forEach((item, index) => {
      const selected = spanRules.some((rule) => rule.matches(item.subject)) || keptTraces.some((traces) => item.traceId !== undefined && traces.has(item.traceId));
      if (!selected) reasons[index] = "not_kept";
    });
  }

  const dropRules = filter.drop.map((rule) => ({ rule, traces: rule.level === "trace" ? tracesOf(rule) : undefined }));
  items.forEach((item, index) => {
    if (reasons[index] !== undefined) return;
    for (const { rule, traces } of dropRules) {
      const selected = traces === undefined ? rule.matches(item.subject) : item.traceId === undefined ? rule.matches(item.subject) : traces.has(item.traceId);
      if (selected) {
        reasons[index] = rule.name;
        return;
      }
    }
  });

  const reparent = new Map<number, unknown>();
  if (filter.orphans !== "keep" && reasons.some((reason) => reason !== undefined)) {
    const byId = new Map<string, number>();
    items.forEach((item, index) => item.id !== undefined && !byId.has(item.id) && byId.set(item.id, index));
    const droppedParent = (index: number): number | undefined => {
      const parent = items[index]!.parentId;
      const parentIndex = parent === undefined ? undefined : byId.get(parent);
      return parentIndex !== undefined && parentIndex !== index && reasons[parentIndex] !== undefined ? parentIndex : undefined;
    };
    if (filter.orphans === "drop") {
      // Parents may come after their children: repeat until nothing changes (bounded by the depth).
      for (let changed = true; changed; ) {
        changed = false;
        items.forEach((_, index) => {
          if (reasons[index] === undefined && droppedParent(index) !== undefined) {
            reasons[index] = "orphan";
            changed = true;
          }
        });
      }
    } else {
      items.forEach((_, index) => {
        if (reasons[index] !== undefined) return;
        let ancestor = droppedParent(index);
        if (ancestor === undefined) return;
        // Up through dropped ancestors; a cycle of ids cannot hold it longer than there are items.
        let top = ancestor;
        for (let steps = 0; ancestor !== undefined && steps < items.length; steps += 1) {
          top = ancestor;
          ancestor = droppedParent(ancestor);
        }
        // The topmost dropped ancestor's parent, unless that is dropped too (it is its own parent,
        // or the ancestors form a cycle): then there is no kept ancestor, and the item becomes a root.
        const parentId = items[top]!.parentId;
        const parentIndex = parentId === undefined ? undefined : byId.get(parentId);
        const newParent = parentIndex !== undefined && reasons[parentIndex] !== undefined ? undefined : items[top]!.rawParent;
        reparent.set(index, newParent === "" || newParent === null ? undefined : newParent);
      });
    }
  }

  const droppedTraces = new Set<string>();
  for (const { traces } of dropRules) for (const traceId of traces ?? []) droppedTraces.add(traceId);
  const dropsByRule = new Map<string, number>();
  for (const reason of reasons) if (reason !== undefined) dropsByRule.set(reason, (dropsByRule.get(reason) ?? 0) + 1);
  return { keep: reasons.map((reason) => reason === undefined), dropsByRule, reparent, droppedTraces };
}
