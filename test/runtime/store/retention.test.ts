import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { RetentionOptions } from '../../../runtime/store/retention.ts';
import { ResultStore } from '../../../runtime/store/sqlite-store.ts';
import { makeResult } from '../../fakes/make-result.ts';

let dir: string;
let file: string;
const open: ResultStore[] = [];

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'ls-retention-'));
  file = join(dir, 'results.db');
});

afterEach(() => {
  for (const s of open.splice(0)) s.close();
  rmSync(dir, { recursive: true, force: true });
});

function openStore(retention: RetentionOptions): ResultStore {
  const store = new ResultStore(file, { retention, log: pino({ level: 'silent' }) });
  open.push(store);
  return store;
}

const daysAgo = (d: number) => new Date(Date.now() - d * 86_400_000).toISOString();

/** Rows actually in the file, read through a second connection. */
function countRows(): { results: number; outbox: number } {
  const raw = new Database(file, { readonly: true });
  const results = raw.prepare('SELECT COUNT(*) FROM results').pluck().get() as number;
  const outbox = raw.prepare('SELECT COUNT(*) FROM outbox').pluck().get() as number;
  raw.close();
  return { results, outbox };
}

/** Appends `n` results for `sinks` and marks them delivered to each, so nothing is owed. */
function appendDelivered(store: ResultStore, n: number, sinks: readonly string[], decidedAt?: string, detailBytes = 0): void {
  for (let i = 0; i < n; i++) {
    const reasons = detailBytes > 0 ? [{ code: 'SCRATCH', source: 'test', detail: 'x'.repeat(detailBytes) }] : undefined;
    const { id } = store.appendStored(makeResult({ decidedAt, reasons }), sinks);
    for (const s of sinks) store.markDelivered(s, id);
  }
}

const sequences = (store: ResultStore, upTo: number) =>
  Array.from({ length: upTo }, (_, i) => i + 1).filter((seq) => store.getBySequence('line-1', 'st-10', seq) !== null);

describe('store retention', () => {
  it('by count: removes the oldest results and their outbox rows down to maxResults', async () => {
    const store = openStore({ maxResults: 20 });
    appendDelivered(store, 50, ['plc', 'mes']);
    expect(countRows()).toEqual({ results: 50, outbox: 100 });
    const report = await store.pruneNow();
    expect(report).toMatchObject({ removed: 30, byCount: 30, byAge: 0, bySize: 0, keptOwed: 0 });
    expect(countRows()).toEqual({ results: 20, outbox: 40 });
    expect(sequences(store, 50)).toEqual(Array.from({ length: 20 }, (_, i) => i + 31));
    expect(store.retentionCounters).toMatchObject({ runs: 1, removed: 30, removedByCount: 30 });
    // Counted appends since the pass: a second pass removes exactly the new excess.
    appendDelivered(store, 5, ['plc']);
    expect(await store.pruneNow()).toMatchObject({ removed: 5, byCount: 5 });
    expect(countRows().results).toBe(20);
    expect(store.append(makeResult(), []).sequence).toBe(56);
  });

  it('by age: removes results decided before maxAgeDays, oldest first, keeps the rest', async () => {
    const store = openStore({ maxAgeDays: 30 });
    appendDelivered(store, 10, ['plc'], daysAgo(45));
    appendDelivered(store, 5, ['plc'], daysAgo(31));
    appendDelivered(store, 7, ['plc'], daysAgo(2));
    const report = await store.pruneNow();
    expect(report).toMatchObject({ removed: 15, byAge: 15, byCount: 0, bySize: 0 });
    expect(sequences(store, 22)).toEqual(Array.from({ length: 7 }, (_, i) => i + 16));
    expect(countRows()).toEqual({ results: 7, outbox: 7 });
    expect(await store.pruneNow()).toMatchObject({ removed: 0 });
  });

  it('by size: removes the oldest results until the pages in use fit maxSizeMB', async () => {
    const store = openStore({ maxSizeMB: 1 });
    appendDelivered(store, 3000, ['plc'], undefined, 1000); // ≈ 1 KiB of reasons each: well over 1 MiB
    const before = store.usedBytes();
    expect(before).toBeGreaterThan(3 * 1024 * 1024);
    const report = await store.pruneNow();
    expect(report.sizeBeforeBytes).toBe(before);
    expect(report.bySize).toBeGreaterThan(1000);
    expect(report.removed).toBe(report.bySize);
    expect(store.usedBytes()).toBeLessThanOrEqual(1024 * 1024);
    expect(report.sizeAfterBytes).toBe(store.usedBytes());
    // Oldest first: what is left is the newest, contiguous up to the last result.
    const left = countRows().results;
    expect(left).toBe(3000 - report.removed);
    expect(store.getBySequence('line-1', 'st-10', 3000 - left)).toBeNull();
    expect(store.getBySequence('line-1', 'st-10', 3000 - left + 1)).not.toBeNull();
    expect(store.lastSequence('line-1', 'st-10')).toBe(3000);
  });

  const limits: [string, RetentionOptions][] = [
    ['count', { maxResults: 3 }],
    ['age', { maxAgeDays: 1 }],
    ['size', { maxSizeMB: 0.05 }],
    ['all three', { maxResults: 3, maxAgeDays: 1, maxSizeMB: 0.05 }],
  ];
  for (const [name, retention] of limits) {
    it(`never removes a result still owed to a sink (${name})`, async () => {
      const store = openStore(retention);
      appendDelivered(store, 5, ['plc'], daysAgo(10), 500);
      // A sink that has gone for good: its row stays pending forever.
      store.append(makeResult({ decidedAt: daysAgo(9) }), ['plc', 'dead']);
      store.markDelivered('plc', store.pending('plc', 1)[0]?.id ?? -1);
      appendDelivered(store, 100, ['plc'], daysAgo(8), 500);
      const owedId = store.pending('dead', 1)[0]?.id;
      expect(owedId).toBeDefined();

      const report = await store.pruneNow();
      expect(report.removed).toBeGreaterThan(5);
      expect(report.keptOwed).toBe(1);
      const owed = store.pending('dead', 10);
      expect(owed.map((p) => p.result.sequence)).toEqual([6]);
      expect(store.getBySequence('line-1', 'st-10', 6)).not.toBeNull();
      // Results older than the owed one were still removed: a dead sink does not stop retention.
      expect(sequences(store, 5)).toEqual([]);
      expect(store.backlog('dead').count).toBe(1);
    });
  }

  it('keeps the newest result of each station, so sequences continue', async () => {
    const store = openStore({ maxResults: 1 });
    for (let i = 0; i < 3; i++) store.append(makeResult({ station: 'st-10' }), []);
    for (let i = 0; i < 4; i++) store.append(makeResult({ station: 'st-20' }), []);
    expect(await store.pruneNow()).toMatchObject({ removed: 5 });
    expect(store.lastSequence('line-1', 'st-10')).toBe(3);
    expect(store.lastSequence('line-1', 'st-20')).toBe(4);
    expect(store.append(makeResult({ station: 'st-10' }), []).sequence).toBe(4);
  });

  it('without limits removes nothing', async () => {
    const store = openStore({});
    appendDelivered(store, 10, ['plc'], daysAgo(400));
    expect(await store.pruneNow()).toMatchObject({ removed: 0 });
    expect(countRows().results).toBe(10);
  });

  it('runs on its timer', async () => {
    const store = openStore({ maxResults: 2, everySeconds: 0.02 });
    appendDelivered(store, 10, []);
    const deadline = Date.now() + 5000;
    while (store.retentionCounters.runs === 0) {
      if (Date.now() > deadline) throw new Error('retention timer did not run within 5 s');
      await new Promise((r) => setTimeout(r, 10));
    }
    expect(store.retentionCounters.removedByCount).toBe(8);
  });

  it('survives a restart: a re-opened store prunes what the previous run left', async () => {
    const first = openStore({});
    appendDelivered(first, 30, ['plc']);
    first.close();
    const second = openStore({ maxResults: 10 });
    expect(await second.pruneNow()).toMatchObject({ removed: 20 });
    expect(countRows()).toEqual({ results: 10, outbox: 10 });
  });
});
