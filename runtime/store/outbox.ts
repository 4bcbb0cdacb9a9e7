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
   * Backlog above which a warning is logged (and `backlogWarnings` counted) once per crossing. With the default
   * overflow 'keep' nothing is dropped: every stored result stays owed to the sink. Either way the store keeps
   * every result, because it is the traceability record.
   */
  readonly maxBacklog?: number;
  /**
   * What a backlog above maxBacklog means. keep (default): warn only. drop-oldest: the oldest pending results
   * beyond maxBacklog are given up for this sink (stay in the store, counted in `dropped`, logged) — for PLCs to
   * which a result that old is useless because the part has left the station.
   */
  readonly overflow?: 'keep' | 'drop-oldest';
}

export interface OutboxCounters {
  delivered: number;
  /** Deliveries that threw. */
  failures: number;
  /** Retry rounds started after a backoff. */
  retries: number;
  backlogWarnings: number;
  /** Results given up by the drop-oldest overflow policy. */
  dropped: number;
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
  readonly counters: OutboxCounters = { delivered: 0, failures: 0, retries: 0, backlogWarnings: 0, dropped: 0 };
  private readonly store: ResultStore;
  private readonly log: Logger | undefined;
  private readonly initialBackoffMs: number;
  private readonly maxBackoffMs: number;
  private readonly jitter: number;
  private readonly batchSize: number;
  private readonly maxBacklog: number;
  private readonly overflow: 'keep' | 'drop-oldest';
  /** performance.now() of the first failure of the current outage, null while healthy. */
  private failingSince: number | null = null;
  private deliveredInOutage = 0;
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
    this.overflow = options.overflow ?? 'keep';
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
    this.sink.interrupt?.(); // a delivery waiting on a PLC acknowledgement must not hold shutdown
    await this.running;
    const waiters = this.drainWaiters.splice(0);
    for (const w of waiters) w.reject(closedError(this.sink.name));
  }

  private async drain(): Promise<void> {
    const name = this.sink.name;
    let emptied = false;
    try {
      // Yield once: the frame path that called notify() finishes its turn (verdict listeners, slot release)
      // before the outbox reads its rows, so the store stage times the append alone.
      await undefined;
      for (;;) {
        const batch = this.store.pending(name, this.batchSize);
        if (batch.length === 0) break;
        if (this.checkBacklog(batch.length)) continue; // rows were dropped: read the batch again
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
          if (this.failingSince !== null) this.deliveredInOutage++;
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
    if (this.failingSince !== null) {
      const replayMs = performance.now() - this.failingSince;
      this.log?.info({ sink: name, replayed: this.deliveredInOutage, sinceFirstFailureMs: Math.round(replayMs) }, 'outbox backlog replayed after an outage');
      this.failingSince = null;
      this.deliveredInOutage = 0;
    }
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
    if (this.failingSince === null) this.failingSince = performance.now();
    // One COUNT per failure (not per delivery): the backlog size and age belong in the log while the PLC is down.
    let backlog: Backlog | null = null;
    try {
      backlog = this.backlog();
    } catch {
      // the store error is logged by drain
    }
    this.log?.warn(
      { err, sink: this.sink.name, sequence: row.result.sequence, attempts: row.attempts + 1, retryInMs: delayMs, backlog },
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

  /** Returns true when it dropped rows (drop-oldest), so the caller re-reads its batch. */
  private checkBacklog(batchLength: number): boolean {
    // Only count when a full batch hints the backlog may be large: COUNT(*) stays off the hot path.
    if (this.maxBacklog === Infinity || batchLength < Math.min(this.batchSize, this.maxBacklog)) return false;
    if (this.overBacklog && this.overflow === 'keep') return false;
    const backlog = this.backlog();
    if (backlog.count <= this.maxBacklog) return false;
    if (!this.overBacklog) {
      this.overBacklog = true;
      this.counters.backlogWarnings++;
      this.log?.warn({ sink: this.sink.name, ...backlog, maxBacklog: this.maxBacklog, overflow: this.overflow }, 'outbox backlog above maxBacklog');
    }
    if (this.overflow !== 'drop-oldest') return false;
    const dropped = this.store.dropOldestPending(this.sink.name, this.maxBacklog);
    this.counters.dropped += dropped;
    this.log?.warn({ sink: this.sink.name, dropped, kept: this.maxBacklog }, 'outbox dropped the oldest results for this sink (they stay in the store)');
    return dropped > 0;
  }
}

function closedError(sink: string): LinesightError {
  return new LinesightError('LS_ERR_SINK_DELIVERY_FAILED', 'outbox dispatcher closed before the backlog drained', { sink });
}
