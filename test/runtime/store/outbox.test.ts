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
  constructor(readonly name = 'plc') {}
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

function setup(sink: ArraySink, options: { maxBacklog?: number } = {}) {
  const store = new ResultStore(file);
  cleanups.push(() => store.close());
  const dispatcher = new OutboxDispatcher({ store, sink, initialBackoffMs: 1, maxBackoffMs: 20, ...options });
  cleanups.push(() => dispatcher.close());
  const append = (n: number) => {
    for (let i = 0; i < n; i++) {
      store.append(makeResult(), [sink.name]);
      dispatcher.notify();
    }
  };
  return { store, dispatcher, append };
}

const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);

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
