import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { OutboxDispatcher } from '../../../runtime/store/outbox.ts';
import { ResultStore } from '../../../runtime/store/sqlite-store.ts';
import { FlakySink } from '../../fakes/flaky-sink.ts';
import { makeResult } from '../../fakes/make-result.ts';
import { withDeadline } from '../../helpers/wait.ts';

const dir = mkdtempSync(join(tmpdir(), 'ls-backlog-'));
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe('bounded PLC backlog', () => {
  it('drop-oldest keeps the newest `max` results for the sink, counts the dropped ones and keeps them in the store', async () => {
    const store = new ResultStore(join(dir, 'drop.db'));
    const sink = new FlakySink();
    const d = new OutboxDispatcher({ store, sink, initialBackoffMs: 5, maxBackoffMs: 20, maxBacklog: 5, overflow: 'drop-oldest' });
    d.start();
    const failed = once(d, 'failed');
    for (let i = 0; i < 12; i++) {
      store.append(makeResult(), ['plc']);
      d.notify();
    }
    await withDeadline(failed, 5000, 'the first failed delivery');
    await withDeadline(once(d, 'failed'), 5000, 'the failed retry round'); // the retry round saw 12 > 5 and dropped 7
    expect(d.counters.dropped).toBe(7);
    expect(d.counters.backlogWarnings).toBe(1);
    sink.online = true;
    await withDeadline(d.drained(), 5000, 'the outbox to drain');
    expect(sink.received).toEqual([8, 9, 10, 11, 12]);
    expect(store.lastSequence('line-1', 'st-10')).toBe(12); // traceability keeps everything
    expect(store.backlog('plc').count).toBe(0);
    await d.close();
    store.close();
  });

  it('keep (default) delivers the whole backlog in order after the outage', async () => {
    const store = new ResultStore(join(dir, 'keep.db'));
    const sink = new FlakySink();
    const d = new OutboxDispatcher({ store, sink, initialBackoffMs: 5, maxBackoffMs: 20, maxBacklog: 5 });
    d.start();
    const failed = once(d, 'failed');
    for (let i = 0; i < 12; i++) {
      store.append(makeResult(), ['plc']);
      d.notify();
    }
    await withDeadline(failed, 5000, 'the first failed delivery');
    await withDeadline(once(d, 'failed'), 5000, 'the failed retry round');
    sink.online = true;
    await withDeadline(d.drained(), 5000, 'the outbox to drain');
    expect(sink.received).toEqual(Array.from({ length: 12 }, (_, i) => i + 1));
    expect(d.counters.dropped).toBe(0);
    await d.close();
    store.close();
  });
});
