import { describe, expect, it } from "vitest";
import { sortPaced } from "../../src/pipeline/paced-sort.js";

/** Items with many equal keys, so stability shows: `order` is the original position. */
function items(count: number, seed: number) {
  let state = seed;
  const random = () => ((state = (state * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
  return Array.from({ length: count }, (_, order) => ({ key: Math.floor(random() * 50), order }));
}

const byKey = (a: { key: number }, b: { key: number }) => a.key - b.key;

describe("sortPaced", () => {
  it.each([0, 1, 999, 1000, 1001, 2000, 5432])("sorts %i items stably, as Array.prototype.sort does", async (count) => {
    const list = items(count, count + 7);
    const expected = [...list].sort(byKey);
    const sorting = sortPaced(list, byKey);
    // A list of one slice or less is sorted at once, with nothing to wait for.
    expect(sorting === undefined).toBe(count <= 1000);
    await sorting;
    expect(list).toEqual(expected);
  });

  it("lets other work run while it sorts a long list", async () => {
    const list = items(20_000, 3);
    let turns = 0;
    let sorting = true;
    const count = () => {
      if (!sorting) return;
      turns += 1;
      setImmediate(count);
    };
    setImmediate(count);
    await sortPaced(list, byKey);
    sorting = false;
    expect(turns).toBeGreaterThan(10);
  });
});
