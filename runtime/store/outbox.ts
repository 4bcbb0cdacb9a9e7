import { EventEmitter } from 'node:events';
import type { Logger } from 'pino';
import type { ResultSink } from '../adapter.ts';
import { LinesightError } from '../errors.ts';
import type { Backlog, PendingResult, ResultStore } from './sqlite-store.ts';

export interface OutboxOptions {
  readonly store: ResultStore;
  /** A durable sink; the dispatcher neither opens nor closes it. Its `name` is the outbox key. */
  readonly sink: ResultSink;
  readonly log?: Logger;
  /** First retry delay after a failed delivery. */
  readonly initialBackoffMs?: number;
  /** Retry delay cap; the delay doubles per consecutive failure up to this. */
  readonly maxBackoffMs?: number;
  /** Fraction of the delay randomised (±), so stations do not retry a shared receiver in lockstep. */
  readonly jitter?: number;
  /** Rows read from the store per query. */
  readonly batchSize?: number;
  /**
   * Backlog above which a warning is logged (and `backlogWarnings` counted) once per crossing. Nothing is dropped:
   * every stored result stays owed to the sink, because the store is the traceability record.
   */
  readonly maxBacklog?: number;
}

export interface OutboxCounters {
  delivered: number;
  /** Deliveries that threw. */
  failures: number;
  /** Retry rounds started after a backoff. */
  retries: number;
  backlogWarnings: number;
}

export interface OutboxDispatcherEvents {
  delivered: [PendingResult];
  failed: [PendingResult, unknown];
  drained: [];
}

/**
 * Delivers one durable sink's outbox strictly in result order, at least once. `notify()` after each append wakes
 * it; there is no polling while healthy. On failure it stops at that result, keeps it pending and retries after an
 * exponential backoff, then continues in order. Construct and `start()` once per sink after the store is open:
 * rows left pending by a previous run are replayed first.
 */
export class OutboxDispatcher extends EventEmitter<OutboxDispatcherEvents> {
  readonly sink: ResultSink;
  readonly counters: OutboxCounters = { delivered: 0, failures: 0, retries: 0, backlogWarnings: 0 };
  private readonly store: ResultStore;
  private readonly log: Logger | undefined;
  private readonly initialBackoffMs: number;
  private readonly maxBackoffMs: number;
  private readonly jitter: number;
  private readonly batchSize: number;
  private readonly maxBacklog: number;
  /**
   * True from notify() until drain() returns. Cleared synchronously in drain's finally, in the same turn as its
   * last "nothing pending" query, so a notify() can never fall between the two and be lost.
   */
  private active = false;
  private running: Promise<void> = Promise.resolve();
  private retryTimer: NodeJS.Timeout | null = null;
  private consecutiveFailures = 0;
  private overBacklog = false;
  private closed = false;
  private drainWaiters: { resolve: () => void; reject: (err: unknown) => void }[] = [];

  constructor(options: OutboxOptions) {
    super();
    this.store = options.store;
    this.sink = options.sink;
    this.log = options.log;
    this.initialBackoffMs = options.initialBackoffMs ?? 100;
    this.maxBackoffMs = Math.max(options.maxBackoffMs ?? 5000, this.initialBackoffMs);
    this.jitter = Math.min(Math.max(options.jitter ?? 0.2, 0), 1);
    this.batchSize = options.batchSize ?? 64;
    this.maxBacklog = options.maxBacklog ?? Infinity;
  }

  /** Begins delivering whatever is pending, including rows from before a restart. */
  start(): void {
    this.notify();
  }

  /** A result was appended for this sink. While backing off this waits for the retry instead of hammering. */
  notify(): void {
    if (this.closed || this.active || this.retryTimer !== null) return;
    this.active = true;
    this.running = this.drain();
  }

  backlog(): Backlog {
    return this.store.backlog(this.sink.name);
  }

  /** Resolves the next time the outbox is found empty (at once if it is idle and empty now). */
  drained(): Promise<void> {
    if (this.closed) return Promise.reject(closedError(this.sink.name));
    if (!this.active && this.retryTimer === null && this.backlog().count === 0) return Promise.resolve();
    return new Promise((resolve, reject) => this.drainWaiters.push({ resolve, reject }));
  }

  /** Stops retries, waits for a delivery in flight to settle and rejects pending `drained()` waiters. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.retryTimer !== null) clearTimeout(this.retryTimer);
    this.retryTimer = null;
    await this.running;
    const waiters = this.drainWaiters.splice(0);
    for (const w of waiters) w.reject(closedError(this.sink.name));
  }

  private async drain(): Promise<void> {
    const name = this.sink.name;
    let emptied = false;
    try {
      for (;;) {
        const batch = this.store.pending(name, this.batchSize);
        if (batch.length === 0) break;
        this.checkBacklog(batch.length);
        for (const row of batch) {
          if (this.closed) return;
          try {
            await this.sink.deliver(row.result);
          } catch (err) {
            this.onFailure(row, err);
            return;
          }
          this.store.markDelivered(name, row.id);
          this.counters.delivered++;
          this.consecutiveFailures = 0;
          this.emit('delivered', row);
        }
      }
      emptied = true;
    } catch (err) {
      // Store trouble (disk, lock): back off like a sink failure rather than lose the loop.
      this.log?.error({ err, sink: name }, 'outbox dispatcher failed reading or updating the store');
      this.scheduleRetry();
    } finally {
      this.active = false;
    }
    if (!emptied) return;
    this.overBacklog = false;
    const waiters = this.drainWaiters.splice(0);
    for (const w of waiters) w.resolve();
    this.emit('drained');
  }

  private onFailure(row: PendingResult, err: unknown): void {
    this.counters.failures++;
    try {
      this.store.markFailed(this.sink.name, row.id, err);
    } catch (storeErr) {
      this.log?.error({ err: storeErr, sink: this.sink.name }, 'cannot record a failed delivery');
    }
    const delayMs = this.scheduleRetry();
    this.log?.warn(
      { err, sink: this.sink.name, sequence: row.result.sequence, attempts: row.attempts + 1, retryInMs: delayMs },
      'sink delivery failed; result kept pending',
    );
    this.emit('failed', row, err);
  }

  private scheduleRetry(): number {
    if (this.closed) return 0;
    const exp = Math.min(this.maxBackoffMs, this.initialBackoffMs * 2 ** this.consecutiveFailures);
    this.consecutiveFailures = Math.min(this.consecutiveFailures + 1, 30);
    const delayMs = Math.round(Math.min(this.maxBackoffMs, exp * (1 - this.jitter + 2 * this.jitter * Math.random())));
    this.retryTimer = setTimeout(() => {
      this.retryTimer = null;
      this.counters.retries++;
      this.notify();
    }, delayMs);
    // Not unref'd: a shutdown awaiting drained() must not let the process exit mid-backlog. close() clears it.
    return delayMs;
  }

  private checkBacklog(batchLength: number): void {
    // Only count when a full batch hints the backlog may be large: COUNT(*) stays off the hot path.
    if (this.maxBacklog === Infinity || this.overBacklog || batchLength < Math.min(this.batchSize, this.maxBacklog)) return;
    const backlog = this.backlog();
    if (backlog.count <= this.maxBacklog) return;
    this.overBacklog = true;
    this.counters.backlogWarnings++;
    this.log?.warn({ sink: this.sink.name, ...backlog, maxBacklog: this.maxBacklog }, 'outbox backlog above maxBacklog');
  }
}

function closedError(sink: string): LinesightError {
  return new LinesightError('LS_ERR_SINK_DELIVERY_FAILED', 'outbox dispatcher closed before the backlog drained', { sink });
}
