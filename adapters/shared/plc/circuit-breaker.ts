/**
 * Circuit breaker with exponential backoff for a PLC link. Closed: calls go through. After `failureThreshold`
 * consecutive failures it opens for `initialBackoffMs`, doubling per failed trial up to `maxBackoffMs`; while
 * open, calls fail at once (no socket, no timeout) so a dead PLC costs the outbox nothing. After the wait one
 * trial call is let through (half-open): success closes it, failure re-opens it with the next backoff.
 */
export type BreakerState = 'closed' | 'open' | 'half-open';

export interface BreakerOptions {
  readonly failureThreshold: number;
  readonly initialBackoffMs: number;
  readonly maxBackoffMs: number;
  /** Injected for tests; performance.now by default. */
  readonly now?: () => number;
}

export class CircuitBreaker {
  private readonly options: BreakerOptions;
  private readonly now: () => number;
  private failures = 0;
  private openUntil = 0;
  private backoffMs: number;
  private trialInFlight = false;
  /** Times the breaker opened. */
  opened = 0;

  constructor(options: BreakerOptions) {
    this.options = options;
    this.now = options.now ?? (() => performance.now());
    this.backoffMs = options.initialBackoffMs;
  }

  get state(): BreakerState {
    if (this.failures < this.options.failureThreshold) return 'closed';
    return this.now() >= this.openUntil ? 'half-open' : 'open';
  }

  /** Milliseconds until a trial is allowed (0 when closed or half-open). */
  get retryInMs(): number {
    return this.state === 'open' ? Math.max(0, this.openUntil - this.now()) : 0;
  }

  /** Whether a call may go out now; in half-open only one trial at a time. */
  tryAcquire(): boolean {
    const s = this.state;
    if (s === 'closed') return true;
    if (s === 'open' || this.trialInFlight) return false;
    this.trialInFlight = true;
    return true;
  }

  success(): void {
    this.failures = 0;
    this.trialInFlight = false;
    this.backoffMs = this.options.initialBackoffMs;
  }

  failure(): void {
    const wasTrial = this.trialInFlight;
    this.trialInFlight = false;
    this.failures++;
    if (this.failures < this.options.failureThreshold) return;
    if (wasTrial) this.backoffMs = Math.min(this.options.maxBackoffMs, this.backoffMs * 2);
    this.openUntil = this.now() + this.backoffMs;
    this.opened++;
  }
}
