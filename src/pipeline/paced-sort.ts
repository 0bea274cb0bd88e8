import { ITEMS_PER_TURN, nextTurn, Pacer } from "./pacing.js";

/**
 * A stable sort of `items` in place that gives the event loop a turn every ITEMS_PER_TURN items
 * it moves: runs of that size are sorted by `Array.prototype.sort` (stable), then merged pairwise,
 * the left run first on ties. A list no longer than one run is sorted at once, and then there is
 * no promise to wait for (undefined).
 */
export function sortPaced<T>(items: T[], compare: (a: T, b: T) => number): Promise<void> | undefined {
  if (items.length <= ITEMS_PER_TURN) {
    items.sort(compare);
    return undefined;
  }
  return mergeSort(items, compare);
}

async function mergeSort<T>(items: T[], compare: (a: T, b: T) => number): Promise<void> {
  const run = ITEMS_PER_TURN;
  for (let start = 0; start < items.length; start += run) {
    const sorted = items.slice(start, start + run).sort(compare);
    for (let index = 0; index < sorted.length; index += 1) items[start + index] = sorted[index]!;
    await nextTurn();
  }
  const pacer = new Pacer();
  let source = items;
  let target = new Array<T>(items.length);
  for (let width = run; width < items.length; width *= 2) {
    for (let left = 0; left < items.length; left += 2 * width) {
      const middle = Math.min(left + width, items.length);
      const end = Math.min(left + 2 * width, items.length);
      let i = left;
      let j = middle;
      for (let k = left; k < end; k += 1) {
        target[k] = i < middle && (j >= end || compare(source[j]!, source[i]!) >= 0) ? source[i++]! : source[j++]!;
        const pause = pacer.step();
        if (pause) await pause;
      }
    }
    [source, target] = [target, source];
  }
  if (source !== items) for (let index = 0; index < items.length; index += 1) items[index] = source[index]!;
}
