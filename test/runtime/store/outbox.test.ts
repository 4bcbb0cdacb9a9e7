import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { ResultSink } from '../../../runtime/adapter.ts';
import type { InspectionResult } from '../../../runtime/results/result.ts';
import { OutboxDispatcher } from '../../../runtime/store/outbox.ts';
import { ResultStore } from '../../../runtime/store/sqlite-store.ts';
import { makeResult } from '../../fakes/make-result.ts';

/** A real, if small, durable sink: keeps what it receives and refuses while offline or told to fail. */
class ArraySink implements ResultSink {
  readonly type = 'array';
  readonly durable = true;
  readonly received: number[] = [];
  online = true;
  /** Deliveries of this sequence to refuse before accepting it. */
  failSequence = -1;
  failTimes = 0;
  gate: Promise<void> | null = null;
  entered: (() => void) | null = null;
  readonly name: string;
  constructor(name = 'plc') {
    this.name = name;
  }
  async open(): Promise<void> {}
  async close(): Promise<void> {}
  async deliver(result: InspectionResult): Promise<void> {
    this.entered?.();
    if (this.gate) await this.gate;
    if (!this.online) throw new Error('receiver offline');
    if (result.sequence === this.failSequence && this.failTimes > 0) {
      this.failTimes--;
      throw new Error(`refused ${result.sequence}`);
    }
    this.received.push(result.sequence);
  }
}

let dir: string;
let file: string;
const cleanups: (() => unknown)[] = [];

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'ls-outbox-'));
  file = join(dir, 'results.db');
});

afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
  rmSync(dir, { recursive: true, force: true });
});

type SetupOptions = { maxBacklog?: number; overflow?: 'keep' | 'drop-oldest'; memoryBound?: number };

/** Appends the way the router does: appendStored, then offer() the stored result to the dispatcher. */
function setup(sink: ArraySink, options: SetupOptions = {}) {
  const store = new ResultStore(file);
  cleanups.push(() => store.close());
  const dispatcher = new OutboxDispatcher({ store, sink, initialBackoffMs: 1, maxBackoffMs: 20, ...options });
  cleanups.push(() => dispatcher.close());
  const append = (n: number) => {
    for (let i = 0; i < n; i++) dispatcher.offer(store.appendStored(makeResult(), [sink.name]));
  };
  /** An append that is not handed over: the dispatcher must read it back from SQLite. */
  const appendAndNotify = (n: number) => {
    for (let i = 0; i < n; i++) {
      store.append(makeResult(), [sink.name]);
      dispatcher.notify();
    }
  };
  return { store, dispatcher, append, appendAndNotify };
}

const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);

/** Resolves on the dispatcher's `count`-th delivery from now; fails the test after a deadline. */
function deliveries(dispatcher: OutboxDispatcher, count: number, deadlineMs = 5000): Promise<void> {
  return new Promise((resolve, reject) => {
    let seen = 0;
    const timer = setTimeout(() => {
      dispatcher.off('delivered', onDelivered);
      reject(new Error(`only ${seen} of ${count} deliveries within ${deadlineMs} ms`));
    }, deadlineMs);
    const onDelivered = () => {
      if (++seen < count) return;
      clearTimeout(timer);
      dispatcher.off('delivered', onDelivered);
      resolve();
    };
    dispatcher.on('delivered', onDelivered);
  });
}

describe('OutboxDispatcher', () => {
  it('delivers every result in order and empties the outbox', async () => {
    const sink = new ArraySink();
    const { store, dispatcher, append } = setup(sink);
    dispatcher.start();
    append(50);
    await dispatcher.drained();
    expect(sink.received).toEqual(range(1, 50));
    expect(store.backlog('plc').count).toBe(0);
    expect(dispatcher.counters).toMatchObject({ delivered: 50, failures: 0, retries: 0 });
  });

  it('serves a caught-up sink from memory: no result is read back from SQLite while healthy', async () => {
    const sink = new ArraySink();
    const { store, dispatcher, append } = setup(sink);
    dispatcher.start();
    await dispatcher.drained();
    // The start-up replay looked once and found nothing; from here on nothing may be SELECTed back.
    const queriesAfterStart = store.counters.pendingQueries;
    expect(queriesAfterStart).toBe(1);
    for (let round = 0; round < 40; round++) {
      const delivered = deliveries(dispatcher, 5);
      append(5);
      await delivered;
    }
    await dispatcher.drained();
    expect(sink.received).toEqual(range(1, 200));
    expect(store.counters).toEqual({ pendingQueries: queriesAfterStart, pendingRows: 0 });
    expect(dispatcher.counters).toMatchObject({ delivered: 200, fromMemory: 200, replayed: 0 });
    expect(store.backlog('plc').count).toBe(0);
  });

  it('a plain notify() (append not handed over) still delivers, by replaying from SQLite', async () => {
    const sink = new ArraySink();
    const { store, dispatcher, append, appendAndNotify } = setup(sink);
    dispatcher.start();
    append(3);
    appendAndNotify(2);
    append(3);
    await dispatcher.drained();
    expect(sink.received).toEqual(range(1, 8));
    expect(dispatcher.counters.delivered).toBe(8);
    expect(dispatcher.counters.replayed).toBeGreaterThanOrEqual(2);
    expect(store.backlog('plc').count).toBe(0);
  });

  it('stops at a failing result, retries it with backoff and resumes in order without loss or duplicates', async () => {
    const sink = new ArraySink();
    sink.failSequence = 4;
    sink.failTimes = 3;
    const { store, dispatcher, append } = setup(sink);
    dispatcher.start();
    append(10);
    await dispatcher.drained();
    expect(sink.received).toEqual(range(1, 10));
    expect(dispatcher.counters).toMatchObject({ delivered: 10, failures: 3, retries: 3 });
    expect(store.backlog('plc').count).toBe(0);
  });

  it('a sink that fails and recovers gets everything exactly from the failure point, in order, then memory again', async () => {
    const sink = new ArraySink();
    const { store, dispatcher, append } = setup(sink);
    dispatcher.start();
    append(5);
    await dispatcher.drained();
    expect(dispatcher.counters).toMatchObject({ fromMemory: 5, replayed: 0 });
    const queriesHealthy = store.counters.pendingQueries;

    sink.online = false;
    const failed = once(dispatcher, 'failed');
    append(4); // 6..9 while the receiver is down
    const [row] = (await failed) as [{ result: InspectionResult }];
    expect(row.result.sequence).toBe(6);
    append(3); // 10..12 during the backoff
    await once(dispatcher, 'failed'); // a retry replayed from the store and failed at 6 again
    expect(store.counters.pendingQueries).toBeGreaterThan(queriesHealthy);
    expect(store.backlog('plc').count).toBe(7);
    sink.online = true;
    await dispatcher.drained();
    expect(sink.received).toEqual(range(1, 12));
    expect(dispatcher.counters.delivered).toBe(12);
    expect(dispatcher.counters.fromMemory + dispatcher.counters.replayed).toBe(12);

    // Caught up again: new results come from memory without another read.
    const queriesRecovered = store.counters.pendingQueries;
    const fromMemory = dispatcher.counters.fromMemory;
    const delivered = deliveries(dispatcher, 4);
    append(4);
    await delivered;
    expect(sink.received).toEqual(range(1, 16));
    expect(dispatcher.counters.fromMemory).toBe(fromMemory + 4);
    expect(store.counters.pendingQueries).toBe(queriesRecovered);
  });

  it('past the memory bound it drops the copies, replays from SQLite and re-joins memory without loss or duplicates', async () => {
    const sink = new ArraySink();
    let release!: () => void;
    sink.gate = new Promise((resolve) => (release = resolve));
    const entered = new Promise<void>((resolve) => (sink.entered = resolve));
    const { store, dispatcher, append } = setup(sink, { memoryBound: 8 });
    dispatcher.start();
    await dispatcher.drained();
    append(1);
    await entered; // result 1 is in flight from memory and the sink holds it
    append(99); // 2..100: far past the bound of 8
    release();
    await dispatcher.drained();
    expect(sink.received).toEqual(range(1, 100));
    expect(store.backlog('plc').count).toBe(0);
    const { fromMemory, replayed, delivered } = dispatcher.counters;
    expect(delivered).toBe(100);
    expect(fromMemory + replayed).toBe(100);
    // 1 was in flight from memory; the newest 8 copies were kept and re-joined; 2..92 were replayed.
    expect(replayed).toBe(91);
    expect(fromMemory).toBe(9);
    expect(store.counters.pendingRows).toBeGreaterThanOrEqual(91);

    const rows = store.counters.pendingRows;
    const next = deliveries(dispatcher, 3);
    append(3);
    await next;
    expect(sink.received).toEqual(range(1, 103));
    expect(store.counters.pendingRows).toBe(rows);
  });

  it('drop-oldest still bounds the backlog of a sink fed from memory', async () => {
    const sink = new ArraySink();
    sink.online = false;
    const { store, dispatcher, append } = setup(sink, { maxBacklog: 5, overflow: 'drop-oldest' });
    dispatcher.start();
    await dispatcher.drained();
    const failed = once(dispatcher, 'failed');
    append(1);
    await failed;
    const dropped = new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('no drop within 5 s')), 5000);
      dispatcher.on('failed', () => {
        if (dispatcher.counters.dropped === 0) return;
        clearTimeout(timer);
        resolve();
      });
    });
    append(11);
    await dropped;
    expect(dispatcher.counters.dropped).toBe(7);
    sink.online = true;
    await dispatcher.drained();
    expect(sink.received).toEqual(range(8, 12));
    expect(store.backlog('plc').count).toBe(0);
    expect(store.lastSequence('line-1', 'st-10')).toBe(12);
  });

  it('keeps results pending while the receiver is down and delivers the backlog when it returns', async () => {
    const sink = new ArraySink();
    const { store, dispatcher, append } = setup(sink);
    dispatcher.start();
    append(3);
    await dispatcher.drained();
    sink.online = false;
    const failed = once(dispatcher, 'failed');
    append(5);
    await failed;
    expect(store.backlog('plc').count).toBe(5);
    expect(store.pending('plc', 1)[0]).toMatchObject({ lastError: 'receiver offline' });
    sink.online = true;
    await dispatcher.drained();
    expect(sink.received).toEqual(range(1, 8));
  });

  it('replays only undelivered results after the store is closed and re-opened', async () => {
    const first = new ArraySink();
    const run1 = setup(first);
    run1.dispatcher.start();
    run1.append(3);
    await run1.dispatcher.drained();
    first.online = false;
    const failed = once(run1.dispatcher, 'failed');
    run1.append(4);
    await failed;
    await run1.dispatcher.close();
    run1.store.close();

    const second = new ArraySink();
    const run2 = setup(second);
    expect(run2.store.backlog('plc').count).toBe(4);
    run2.dispatcher.start();
    await run2.dispatcher.drained();
    run2.append(2);
    await run2.dispatcher.drained();
    expect(first.received).toEqual([1, 2, 3]);
    expect(second.received).toEqual(range(4, 9));
    // 4..7 came back from SQLite; 8 and 9 were appended to a caught-up dispatcher.
    expect(run2.dispatcher.counters).toMatchObject({ replayed: 4, fromMemory: 2 });
  });

  it('close() waits for the delivery in flight and then delivers nothing more', async () => {
    const sink = new ArraySink();
    let release!: () => void;
    sink.gate = new Promise((resolve) => (release = resolve));
    const entered = new Promise<void>((resolve) => (sink.entered = resolve));
    const { store, dispatcher, append } = setup(sink);
    append(3);
    await entered;
    let closed = false;
    const closing = dispatcher.close().then(() => (closed = true));
    await new Promise((resolve) => setImmediate(resolve));
    expect(closed).toBe(false);
    release();
    await closing;
    expect(sink.received).toEqual([1]);
    expect(store.backlog('plc').count).toBe(2);
    await expect(dispatcher.drained()).rejects.toThrow(/LS_ERR_SINK_DELIVERY_FAILED/);
  });

  it('warns once when the backlog passes maxBacklog and drops nothing', async () => {
    const sink = new ArraySink();
    sink.online = false;
    const { dispatcher, append } = setup(sink, { maxBacklog: 3 });
    append(1);
    await once(dispatcher, 'failed');
    append(9);
    await once(dispatcher, 'failed');
    await once(dispatcher, 'failed');
    expect(dispatcher.counters.backlogWarnings).toBe(1);
    sink.online = true;
    await dispatcher.drained();
    expect(sink.received).toEqual(range(1, 10));
  });
});
