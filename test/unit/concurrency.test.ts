import { describe, expect, it } from "vitest";
import { ConcurrencyLimiter, forEachBounded } from "../../src/pipeline/concurrency.js";

/** A task that settles when the test says so. */
function gate() {
  let open!: () => void;
  let fail!: (error: Error) => void;
  const settled = new Promise<void>((resolve, reject) => {
    open = resolve;
    fail = reject;
  });
  return { settled, open, fail };
}

describe("concurrency limiter", () => {
  it("runs at most `limit` tasks at once and starts each waiting one, in order, as a slot frees", async () => {
    const limiter = new ConcurrencyLimiter(2);
    const gates = Array.from({ length: 5 }, gate);
    const started: number[] = [];
    const runs = gates.map((task, index) =>
      limiter.run(async () => {
        started.push(index);
        await task.settled;
        return index;
      }),
    );
    await Promise.resolve();
    expect(started).toEqual([0, 1]);
    expect([limiter.active, limiter.waiting]).toEqual([2, 3]);
    gates[1]!.open();
    await runs[1];
    await new Promise((resolve) => setImmediate(resolve));
    expect(started).toEqual([0, 1, 2]);
    expect(limiter.active).toBe(2);
    for (const task of gates) task.open();
    expect(await Promise.all(runs)).toEqual([0, 1, 2, 3, 4]);
    expect([limiter.active, limiter.waiting]).toEqual([0, 0]);
  });

  it("frees the slot of a task that fails, and passes the failure to its caller", async () => {
    const limiter = new ConcurrencyLimiter(1);
    const failing = gate();
    const first = limiter.run(() => failing.settled);
    const second = limiter.run(async () => "second ran");
    failing.fail(new Error("503 SlowDown"));
    await expect(first).rejects.toThrow("503 SlowDown");
    expect(await second).toBe("second ran");
    expect(limiter.active).toBe(0);
  });
});

describe("forEachBounded", () => {
  it("runs at most `limit` tasks at once, takes items in order as earlier ones finish, and finishes them all", async () => {
    const gates = Array.from({ length: 10 }, gate);
    const started: number[] = [];
    let running = 0;
    let most = 0;
    const done = forEachBounded([...gates.keys()], 3, async (index) => {
      started.push(index);
      running += 1;
      most = Math.max(most, running);
      await gates[index]!.settled;
      running -= 1;
    });
    await Promise.resolve();
    expect(started).toEqual([0, 1, 2]);
    gates[1]!.open();
    await new Promise((resolve) => setImmediate(resolve));
    expect(started).toEqual([0, 1, 2, 3]);
    for (const task of gates) task.open();
    await done;
    expect(started).toEqual([...gates.keys()]);
    expect(most).toBe(3);
  });

  it("does nothing for no items", async () => {
    let calls = 0;
    await forEachBounded([], 4, async () => {
      calls += 1;
    });
    expect(calls).toBe(0);
  });
});
