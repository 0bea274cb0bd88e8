/**
 * A token bucket that lets one request overdraw it. A request costs one token per event; it is
 * admitted when the bucket holds at least min(cost, burst) tokens, and its full cost is taken, so
 * the balance may go negative. That admits a request larger than the burst (once the bucket is
 * full) instead of refusing it forever, and the debt makes the following requests wait until the
 * average rate is back under the limit.
 */
export class TokenBucket {
  private tokens: number;
  private updatedAtMs: number;

  constructor(
    private readonly ratePerSecond: number,
    private readonly burst: number,
    nowMs: number,
  ) {
    this.tokens = burst;
    this.updatedAtMs = nowMs;
  }

  /** Takes `cost` tokens and returns 0, or returns how many ms to wait before asking again. */
  take(cost: number, nowMs: number): number {
    this.refill(nowMs);
    const needed = Math.min(cost, this.burst);
    if (this.tokens >= needed) {
      this.tokens -= cost;
      return 0;
    }
    // The epsilon keeps float noise (0.01 tokens at 10/s = 1.0000000000000009 ms) from adding a ms.
    return Math.max(1, Math.ceil(((needed - this.tokens) / this.ratePerSecond) * 1000 - 1e-6));
  }

  /** True when the bucket would hold its whole burst at `nowMs`: indistinguishable from a new one. */
  isFullAt(nowMs: number): boolean {
    return this.balanceAt(nowMs) >= this.burst;
  }

  private balanceAt(nowMs: number): number {
    const elapsedMs = Math.max(0, nowMs - this.updatedAtMs);
    return Math.min(this.burst, this.tokens + (elapsedMs / 1000) * this.ratePerSecond);
  }

  private refill(nowMs: number): void {
    this.tokens = this.balanceAt(nowMs);
    this.updatedAtMs = nowMs;
  }
}
