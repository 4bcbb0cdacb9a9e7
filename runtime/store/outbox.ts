import { EventEmitter } from 'node:events';
import type { Logger } from 'pino';
import type { ResultSink } from '../adapter.ts';
import { LinesightError } from '../errors.ts';
import type { Backlog, PendingResult, ResultStore, StoredResult } from './sqlite-store.ts';

/** Default bound of a dispatcher's in-memory queue (see OutboxOptions.memoryBound). */
export const DEFAULT_MEMORY_BOUND = 256;
/** Most unstored results (offerUnstored) waiting for one sink; beyond it the oldest are given up (counted). */
export const UNSTORED_BOUND = 256;

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
  /**
   * Most results held in memory for this sink (default 256, and never above maxBacklog). A sink that falls
   * further behind than this is served by replaying from SQLite until it has caught up.
   */
  readonly memoryBound?: number;
}

export interface OutboxCounters {
  /** fromMemory + replayed. */
  delivered: number;
  /** Deliveries of a result handed over by offer() (no read from SQLite). */
  fromMemory: number;
  /** Deliveries of a result read back from SQLite (restart, after a failure, behind the memory bound). */
  replayed: number;
  /** Deliveries that threw. */
  failures: number;
  /** Retry rounds started after a backoff. */
  retries: number;
  backlogWarnings: number;
  /** Results given up by the drop-oldest overflow policy. */
  dropped: number;
  /** Results delivered without an outbox row (offerUnstored: the store failed). Not in `delivered`. */
  unstoredDelivered: number;
  /** Unstored results given up: beyond UNSTORED_BOUND, or still waiting at close. */
  unstoredDropped: number;
  /** Deliveries whose markDelivered failed (the store refused the write); marked later, never delivered twice. */
  markFailures: number;
}

export interface OutboxDispatcherEvents {
  delivered: [PendingResult];
  failed: [PendingResult, unknown];
  drained: [];
}

/** A result owed to this sink, held in memory; attempts and lastError are this dispatcher's own view. */
interface MemoryEntry {
  readonly id: number;
  readonly result: StoredResult['result'];
  attempts: number;
  lastError: string | null;
}

/**
 * Delivers one durable sink's outbox strictly in result order, at least once. `offer({ id, result })` right after
 * each append hands it the stored result and wakes it; there is no polling while healthy.
 *
 * Two modes. Caught up (`caughtUp`): the sink's pending rows are exactly the in-memory queue, so results are
 * delivered from memory and SQLite is only written (markDelivered), never read. Behind: at start (a previous run
 * may have left rows pending), after a failed delivery or store error, when the memory queue passes its bound,
 * or after a plain `notify()` (an append that was not handed over): rows are read from SQLite with `pending()`
 * as the outbox always did, while offers keep filling the memory queue (newest `memoryBound` kept). When the
 * replay reaches the oldest in-memory row, copies older than it are dropped (delivered or given up already)
 * and the dispatcher is caught up again. A replay that finds nothing pending is caught up too.
 *
 * On failure it stops at that result, keeps it pending and retries after an exponential backoff, then continues
 * in order. Construct and `start()` once per sink after the store is open: rows left pending by a previous run
 * are replayed first.
 */
export class OutboxDispatcher extends EventEmitter<OutboxDispatcherEvents> {
  readonly sink: ResultSink;
  readonly counters: OutboxCounters = {
    delivered: 0,
    fromMemory: 0,
    replayed: 0,
    failures: 0,
    retries: 0,
    backlogWarnings: 0,
    dropped: 0,
    unstoredDelivered: 0,
    unstoredDropped: 0,
    markFailures: 0,
  };
  private readonly store: ResultStore;
  private readonly log: Logger | undefined;
  private readonly initialBackoffMs: number;
  private readonly maxBackoffMs: number;
  private readonly jitter: number;
  private readonly batchSize: number;
  private readonly maxBacklog: number;
  private readonly overflow: 'keep' | 'drop-oldest';
  private readonly memoryBound: number;
  /** Offered results still owed, oldest first; ids strictly increasing and, while caughtUp, gap-free. */
  private readonly memory: MemoryEntry[] = [];
  /** True while the sink's pending rows are exactly `memory` (see the class comment). False until a replay. */
  private caughtUp = false;
  /** performance.now() of the first failure of the current outage, null while healthy. */
  private failingSince: number | null = null;
  private deliveredInOutage = 0;
  /**
   * True from wake() until drain() returns. Cleared synchronously in drain's finally, in the same turn as its
   * last "nothing pending" check (an empty memory queue or an empty pending() query), so an offer() or notify()
   * can never fall between the two and be lost.
   */
  private active = false;
  private running: Promise<void> = Promise.resolve();
  private retryTimer: NodeJS.Timeout | null = null;
  private consecutiveFailures = 0;
  private overBacklog = false;
  private closed = false;
  private drainWaiters: { resolve: () => void; reject: (err: unknown) => void }[] = [];
  /**
   * Results the store could not take (offerUnstored), oldest first: no outbox row, delivered once each, in
   * sequence order among the outbox rows (before any row with a higher sequence).
   */
  private readonly unstored: StoredResult['result'][] = [];
  /**
   * Rows delivered whose markDelivered failed (the store refuses writes): kept here so a replay does not deliver
   * them again (it reads after the highest), marked at the start of each later drain. Ids in delivery order.
   */
  private readonly unmarked = new Set<number>();

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
    // Caught up, the backlog is the memory queue: keeping it within maxBacklog leaves the policy to the replay.
    this.memoryBound = Math.max(1, Math.min(options.memoryBound ?? DEFAULT_MEMORY_BOUND, this.maxBacklog));
  }

  /** Begins delivering whatever is pending, including rows from before a restart. */
  start(): void {
    this.wake();
  }

  /**
   * A result was appended for this sink and is handed over in memory (`store.appendStored`'s return value).
   * Call once per append, in append order, for every append to this sink; mixing with notify() is allowed (it
   * falls back to replay). While backing off this waits for the retry instead of hammering.
   */
  offer(stored: StoredResult): void {
    if (this.closed) return;
    const last = this.memory[this.memory.length - 1];
    if (last !== undefined && stored.id <= last.id) {
      // Not in append order: the queue could no longer stand for the outbox. Replay instead.
      this.fallBehind();
    } else {
      this.memory.push({ id: stored.id, result: stored.result, attempts: 0, lastError: null });
      if (this.memory.length > this.memoryBound) {
        // Too far behind to hold in memory: keep the newest copies, replay the rest from SQLite.
        this.memory.shift();
        if (this.caughtUp) {
          this.caughtUp = false;
          this.log?.debug({ sink: this.sink.name, memoryBound: this.memoryBound }, 'outbox memory queue full; replaying from the store');
        }
      }
    }
    this.wake();
  }

  /**
   * A result the store could not take (runtime/results/router.ts, docs/store.md "When the store fails"): delivered
   * once, from memory, after every pending row of a lower sequence and before any of a higher one; retried like
   * any delivery, never marked (there is no row). At most UNSTORED_BOUND wait; older ones are given up.
   */
  offerUnstored(result: StoredResult['result']): void {
    if (this.closed) return;
    this.unstored.push(result);
    if (this.unstored.length > UNSTORED_BOUND) {
      const gone = this.unstored.shift();
      this.counters.unstoredDropped++;
      this.log?.warn(
        { sink: this.sink.name, sequence: gone?.sequence, bound: UNSTORED_BOUND },
        'unstored result given up: the sink is too far behind',
      );
    }
    this.wake();
  }

  /**
   * A result was appended for this sink without being handed over: the dispatcher reads it from SQLite. While
   * backing off this waits for the retry instead of hammering.
   */
  notify(): void {
    if (this.closed) return;
    this.fallBehind();
    this.wake();
  }

  backlog(): Backlog {
    return this.store.backlog(this.sink.name);
  }

  /** Resolves the next time the outbox is found empty (at once if it is idle and empty now). */
  drained(): Promise<void> {
    if (this.closed) return Promise.reject(closedError(this.sink.name));
    const idle = !this.active && this.retryTimer === null && this.unstored.length === 0;
    if (idle && this.idleBacklog() === 0) return Promise.resolve();
    return new Promise((resolve, reject) => this.drainWaiters.push({ resolve, reject }));
  }

  /** Rows still owed and not delivered from memory; -1 when the store cannot say (then drained() waits). */
  private idleBacklog(): number {
    try {
      return this.backlog().count - this.unmarked.size;
    } catch {
      return -1;
    }
  }

  /** Stops retries, waits for a delivery in flight to settle and rejects pending `drained()` waiters. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.retryTimer !== null) clearTimeout(this.retryTimer);
    this.retryTimer = null;
    this.sink.interrupt?.(); // a delivery waiting on a PLC acknowledgement must not hold shutdown
    await this.running;
    this.memory.length = 0;
    if (this.unstored.length > 0) {
      this.counters.unstoredDropped += this.unstored.length;
      this.log?.warn({ sink: this.sink.name, count: this.unstored.length }, 'unstored results not delivered before close');
      this.unstored.length = 0;
    }
    const waiters = this.drainWaiters.splice(0);
    for (const w of waiters) w.reject(closedError(this.sink.name));
  }

  private wake(): void {
    if (this.closed || this.active || this.retryTimer !== null) return;
    this.active = true;
    this.running = this.drain();
  }

  /** The memory queue may no longer match the outbox: drop it and replay from SQLite. */
  private fallBehind(): void {
    this.caughtUp = false;
    this.memory.length = 0;
  }

  private async drain(): Promise<void> {
    const name = this.sink.name;
    let emptied = false;
    try {
      // Yield once: the frame path that called offer() finishes its turn (verdict listeners, slot release)
      // before the outbox delivers, so the store stage times the append alone.
      await Promise.resolve();
      this.markLater();
      for (;;) {
        if (this.caughtUp) {
          const entry = this.memory[0];
          if (this.unstoredBefore(entry?.result.sequence ?? Infinity)) {
            if (!(await this.deliverUnstored(entry?.result.sequence ?? Infinity))) return;
            continue; // offers may have come in meanwhile: look again
          }
          if (entry === undefined) break; // nothing owed: the check drain's finally pairs with
          if (this.closed) return;
          if (!(await this.deliverOne(entry, true))) return;
          continue;
        }
        const batch = this.store.pending(name, this.batchSize, this.lastUnmarked());
        if (batch.length === 0) {
          // Replay found nothing pending: any copies left in memory were delivered or given up already.
          this.memory.length = 0;
          this.caughtUp = true;
          continue; // unstored results, if any, then the "nothing owed" check above
        }
        if (this.checkBacklog(batch.length)) continue; // rows were dropped: read the batch again
        for (const row of batch) {
          if (this.closed) return;
          if (this.joinMemory(row)) break; // caught up: the rest of this batch is in memory
          if (this.unstoredBefore(row.result.sequence) && !(await this.deliverUnstored(row.result.sequence))) return;
          if (!(await this.deliverOne(row, false))) return;
        }
      }
      emptied = true;
    } catch (err) {
      // Store trouble (disk, lock): back off like a sink failure rather than lose the loop.
      this.caughtUp = false; // a delivered row may not be marked: read the truth back on the retry
      this.log?.error({ err, sink: name }, 'outbox dispatcher failed reading or updating the store');
      this.scheduleRetry();
    } finally {
      this.active = false;
    }
    if (!emptied) return;
    this.overBacklog = false;
    if (this.failingSince !== null) {
      const replayMs = performance.now() - this.failingSince;
      this.log?.info(
        { sink: name, replayed: this.deliveredInOutage, sinceFirstFailureMs: Math.round(replayMs) },
        'outbox backlog replayed after an outage',
      );
      this.failingSince = null;
      this.deliveredInOutage = 0;
    }
    const waiters = this.drainWaiters.splice(0);
    for (const w of waiters) w.resolve();
    this.emit('drained');
  }

  /** Delivers one result and marks it; false when the delivery failed (the retry is scheduled). */
  private async deliverOne(row: MemoryEntry | PendingResult, fromMemory: boolean): Promise<boolean> {
    try {
      await this.sink.deliver(row.result);
    } catch (err) {
      if (fromMemory) {
        const entry = row as MemoryEntry;
        entry.attempts++;
        entry.lastError = err instanceof Error ? err.message : String(err);
      }
      this.onFailure(row, err, fromMemory);
      return false;
    }
    this.mark(row.id);
    // Offers during the delivery may have pushed this entry out of a full queue.
    if (fromMemory && this.memory[0] === row) this.memory.shift();
    this.counters.delivered++;
    if (fromMemory) this.counters.fromMemory++;
    else this.counters.replayed++;
    if (this.failingSince !== null) this.deliveredInOutage++;
    this.consecutiveFailures = 0;
    this.emit('delivered', row);
    return true;
  }

  private unstoredBefore(sequence: number): boolean {
    const head = this.unstored[0];
    return head !== undefined && head.sequence < sequence;
  }

  /** Delivers the unstored results with a sequence below `before`, in order; false when one failed (retry scheduled). */
  private async deliverUnstored(before: number): Promise<boolean> {
    let r: StoredResult['result'] | undefined;
    while ((r = this.unstored[0]) !== undefined && r.sequence < before) {
      if (this.closed) return false;
      try {
        await this.sink.deliver(r);
      } catch (err) {
        this.counters.failures++;
        const retryInMs = this.scheduleRetry();
        this.log?.warn({ err, sink: this.sink.name, sequence: r.sequence, retryInMs }, 'sink delivery of an unstored result failed; retried');
        return false;
      }
      if (this.unstored[0] === r) this.unstored.shift();
      this.counters.unstoredDelivered++;
      this.consecutiveFailures = 0;
    }
    return true;
  }

  /** Marks a delivered row; when the store refuses, keeps the id so the row is neither lost nor delivered twice. */
  private mark(id: number): void {
    try {
      this.store.markDelivered(this.sink.name, id);
    } catch (err) {
      this.counters.markFailures++;
      if (this.unmarked.size === 0) {
        this.log?.error(
          { err, sink: this.sink.name, resultId: id },
          'cannot mark a delivered result; it is kept in memory and marked once the store takes writes',
        );
      }
      this.unmarked.add(id);
    }
  }

  /** Retries the marks the store refused; stops at the first refusal (the rest wait for the next drain). */
  private markLater(): void {
    for (const id of this.unmarked) {
      try {
        this.store.markDelivered(this.sink.name, id);
      } catch {
        return;
      }
      this.unmarked.delete(id);
    }
  }

  /** Highest delivered-but-unmarked row id: a replay reads after it (rows are delivered in order). 0 when none. */
  private lastUnmarked(): number {
    let last = 0;
    for (const id of this.unmarked) last = id;
    return last;
  }

  /**
   * Called for each replayed row before it is delivered. When the replay has reached the oldest in-memory copy,
   * drops the copies older than `row` (no longer pending: delivered or given up) and, if the queue then starts
   * at `row`, switches to memory delivery and returns true.
   */
  private joinMemory(row: PendingResult): boolean {
    const head = this.memory[0];
    if (head === undefined || row.id < head.id) return false;
    let drop = 0;
    while (drop < this.memory.length && (this.memory[drop] as MemoryEntry).id < row.id) drop++;
    this.memory.splice(0, drop);
    const first = this.memory[0];
    if (first === undefined || first.id !== row.id) {
      // The pending row is not in memory (a gap): the queue cannot stand for the outbox. Keep replaying.
      this.memory.length = 0;
      return false;
    }
    first.attempts = row.attempts;
    first.lastError = row.lastError;
    this.caughtUp = true;
    return true;
  }

  private onFailure(row: MemoryEntry | PendingResult, err: unknown, fromMemory: boolean): void {
    this.counters.failures++;
    // Behind from here: the retry replays from SQLite and re-joins the memory queue at this result.
    if (fromMemory) this.caughtUp = false;
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
      {
        err,
        sink: this.sink.name,
        sequence: row.result.sequence,
        attempts: fromMemory ? row.attempts : row.attempts + 1,
        retryInMs: delayMs,
        backlog,
      },
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
      this.wake();
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
    this.log?.warn(
      { sink: this.sink.name, dropped, kept: this.maxBacklog },
      'outbox dropped the oldest results for this sink (they stay in the store)',
    );
    return dropped > 0;
  }
}

function closedError(sink: string): LinesightError {
  return new LinesightError('LS_ERR_SINK_DELIVERY_FAILED', 'outbox dispatcher closed before the backlog drained', { sink });
}
