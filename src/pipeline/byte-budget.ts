import { OverloadedError, PayloadTooLargeError } from "./errors.js";

/**
 * A budget of bytes shared by every request of the process: request bodies being read and
 * decompressed count against it until their request is answered. A request whose next bytes do
 * not fit is refused as overloaded (429 / RESOURCE_EXHAUSTED with a retry delay) instead of
 * growing memory, so many large or compressed bodies at once cost at most the budget, however
 * far they would inflate.
 */
export class ByteBudget {
  #limit: number;
  #used = 0;

  constructor(
    limit: number,
    private readonly retryAfterMs = 1_000,
  ) {
    this.#limit = limit;
  }

  /** Applied to reservations made from now on; reservations already held stay. */
  setLimit(limit: number): void {
    this.#limit = limit;
  }

  get limit(): number {
    return this.#limit;
  }

  get used(): number {
    return this.#used;
  }

  /** A reservation for one request, to grow as its bytes arrive and to give back whole when it is done. */
  open(): BudgetLease {
    return new BudgetLease(this);
  }

  /** @internal Reserves `bytes`, or throws OverloadedError when they do not fit. */
  reserve(bytes: number): void {
    if (this.#used + bytes > this.#limit) {
      throw new OverloadedError(
        `request bodies being read use ${Math.round(this.#used / 1024 ** 2)} of ${Math.round(this.#limit / 1024 ** 2)} MiB (service.max_inflight_request_bytes); try again shortly`,
        this.retryAfterMs,
      );
    }
    this.#used += bytes;
  }

  /** @internal */
  release(bytes: number): void {
    this.#used = Math.max(0, this.#used - bytes);
  }
}

/** What one request holds of a ByteBudget. Closing it twice gives back nothing more. */
export class BudgetLease {
  #held = 0;
  #closed = false;

  constructor(private readonly budget: ByteBudget) {}

  get held(): number {
    return this.#held;
  }

  /**
   * Reserves `bytes` more for this request. Throws OverloadedError (retryable) when the budget is
   * spent by other requests, and PayloadTooLargeError (final) when this request alone would need
   * more than the whole budget, because waiting would not help it.
   */
  grow(bytes: number): void {
    if (this.#closed) throw new Error("the budget lease is closed");
    if (this.#held + bytes > this.budget.limit) throw new PayloadTooLargeError(this.budget.limit);
    this.budget.reserve(bytes);
    this.#held += bytes;
  }

  /** Gives back `bytes` this request no longer holds (a buffer it dropped). */
  shrink(bytes: number): void {
    const returned = Math.min(bytes, this.#held);
    this.#held -= returned;
    this.budget.release(returned);
  }

  /**
   * Moves `bytes` out of this lease without giving them back yet: the returned function gives
   * them back once (used for memory that is dropped but not yet freed).
   */
  detach(bytes: number): () => void {
    const moved = Math.min(bytes, this.#held);
    this.#held -= moved;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.budget.release(moved);
    };
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.budget.release(this.#held);
    this.#held = 0;
  }
}

/** `service.max_inflight_request_bytes` when the configuration does not set it. */
export const DEFAULT_INFLIGHT_REQUEST_BYTES = 128 * 1024 * 1024;

