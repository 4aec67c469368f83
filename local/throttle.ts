/**
 * API Gateway stage throttling: a token bucket refilled at `rateLimit` tokens per second holding at
 * most `burstLimit` tokens; a request that finds it empty is answered 429.
 */
export class TokenBucket {
  private tokens: number;
  private last: number;
  constructor(
    readonly rateLimit: number,
    readonly burstLimit: number,
    private readonly clock: () => number = () => Date.now(),
  ) {
    this.tokens = burstLimit;
    this.last = clock();
  }

  private refill(): void {
    const now = this.clock();
    const elapsed = (now - this.last) / 1000;
    this.last = now;
    this.tokens = Math.min(this.burstLimit, this.tokens + elapsed * this.rateLimit);
  }

  /** Takes a token; false when none is left. */
  take(): boolean {
    this.refill();
    if (this.tokens >= 1) {
      this.tokens -= 1;
      return true;
    }
    return false;
  }

  /** Whole seconds until a token is available (at least 1), for `Retry-After`. */
  retryAfterSeconds(): number {
    this.refill();
    if (this.rateLimit <= 0) return 60;
    return Math.max(1, Math.ceil((1 - this.tokens) / this.rateLimit));
  }
}
