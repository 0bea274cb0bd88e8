/**
 * Bounds on how much the exporters and the spool do at once. A request may hold hundreds of
 * thousands of groups (objects, files, jobs); starting work for all of them in one go opens that
 * many files or requests and builds that many promises in one synchronous block, which the rest of
 * the daemon (health checks, other requests) then waits behind.
 */

/**
 * At most `limit` tasks at once across every caller sharing the limiter (one exporter's); the rest
 * wait their turn without having started (an S3 PUT waits unsigned, a file unopened). Each
 * finished task starts the next from its own I/O callback, so request handling interleaves.
 */
export class ConcurrencyLimiter {
  readonly #limit: number;
  #active = 0;
  readonly #waiting: Array<() => void> = [];

  constructor(limit: number) {
    this.#limit = Math.max(1, limit);
  }

  /** Runs `task` when a slot is free; the slot is released when it settles. */
  async run<T>(task: () => Promise<T>): Promise<T> {
    if (this.#active >= this.#limit) await new Promise<void>((resolve) => this.#waiting.push(resolve));
    else this.#active += 1;
    try {
      return await task();
    } finally {
      const next = this.#waiting.shift();
      // The slot passes straight to the next task, so #active stays counted.
      if (next) next();
      else this.#active -= 1;
    }
  }

  get active(): number {
    return this.#active;
  }

  get waiting(): number {
    return this.#waiting.length;
  }
}

/**
 * Runs `task` for every item, at most `limit` at a time, in order of the items. Items are taken as
 * earlier ones finish, so a large list never becomes one promise per item. `task` reports its own
 * failures: one that rejects makes this call reject.
 */
export async function forEachBounded<T>(items: readonly T[], limit: number, task: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) await task(items[next++]!);
  };
  await Promise.all(Array.from({ length: Math.min(Math.max(1, limit), items.length) }, worker));
}

/** The items in consecutive slices of at most `size`, for work sent a slice at a time. */
export function* slicesOf<T>(items: readonly T[], size: number): Generator<T[]> {
  for (let start = 0; start < items.length; start += size) yield items.slice(start, start + size);
}
