import { describe, expect, it } from "vitest";
import { PutLimiter } from "../../../src/exporters/s3/put-limiter.js";

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

describe("S3 PUT limiter", () => {
  it("runs at most `limit` tasks at once and starts each waiting one, in order, as a slot frees", async () => {
    const limiter = new PutLimiter(2);
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
    const limiter = new PutLimiter(1);
    const failing = gate();
    const first = limiter.run(() => failing.settled);
    const second = limiter.run(async () => "second ran");
    failing.fail(new Error("503 SlowDown"));
    await expect(first).rejects.toThrow("503 SlowDown");
    expect(await second).toBe("second ran");
    expect(limiter.active).toBe(0);
  });
});
