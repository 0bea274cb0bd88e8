/**
 * Large requests are worked through in slices with a turn of the event loop between them, so one
 * request of 300,000 spans does not hold health checks and other requests until it is done: at
 * each turn the daemon answers what arrived meanwhile, then goes on. A slice is large enough that
 * ordinary requests (a few hundred spans) never pause at all.
 */
export const ITEMS_PER_TURN = 1000;

/** Resolves on the event loop's next turn, after the I/O that is ready now was handled. */
export function nextTurn(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/**
 * Counts items of one loop. `step()` returns a promise of the next turn every ITEMS_PER_TURN
 * items and undefined otherwise, so loops await only then (`const pause = pacer.step(); if
 * (pause) await pause;`), and small inputs pay one counter increment per item.
 */
export class Pacer {
  #count = 0;

  constructor(private readonly every: number = ITEMS_PER_TURN) {}

  step(): Promise<void> | undefined {
    this.#count += 1;
    return this.#count % this.every === 0 ? nextTurn() : undefined;
  }
}
