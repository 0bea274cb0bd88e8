/**
 * At most `limit` PUTs at once across every export of one S3 exporter; the rest wait their turn
 * unsigned. A record on the converted-events path holds ~110 objects: starting them all in one go
 * signed and queued 110 requests in one synchronous block (~8 ms of event loop per record, more
 * with several records exporting), which incoming requests had to wait behind. With the limit, each
 * finished PUT starts the next from its own I/O callback, so request handling interleaves, and
 * every request is signed just before it is sent.
 */
export class PutLimiter {
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
