/**
 * The store never takes the line down: real SQLite refusing appends. SQLite's own `PRAGMA max_page_count` on
 * the store's connection makes an append that needs a new page fail with SQLITE_FULL ("database or disk is
 * full"), and `PRAGMA query_only` makes every write fail with SQLITE_READONLY ("attempt to write a readonly
 * database") — the same errors, from the same code path, as a full or read-only disk (a real full tmpfs is in
 * store-full-disk.test.ts). The router must not throw, must apply store.onFailure, and must recover.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type Database from 'better-sqlite3';
import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { StoreFailurePolicy } from '../../../runtime/pipeline/station-health.ts';
import type { InspectionResult } from '../../../runtime/results/result.ts';
import { ResultRouter } from '../../../runtime/results/router.ts';
import { HELD_BOUND } from '../../../runtime/results/store-failure.ts';
import { ResultStore } from '../../../runtime/store/sqlite-store.ts';
import { isLinesightError, type LinesightError } from '../../../runtime/errors.ts';
import { makeResult } from '../../fakes/make-result.ts';
import { RecordingSink } from '../../fakes/recording-sink.ts';
import { FlakySink } from '../../fakes/flaky-sink.ts';
import { waitUntil } from '../../helpers/wait.ts';

let dir: string;
const cleanups: (() => unknown)[] = [];
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'ls-store-failure-'));
});
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
  rmSync(dir, { recursive: true, force: true });
});

/** The store's own connection: max_page_count and query_only are per connection. */
function connection(store: ResultStore): Database.Database {
  return (store as unknown as { db: Database.Database }).db; // private on purpose; the test reaches SQLite itself
}

function setup(policy: StoreFailurePolicy, retryEverySeconds = 3600) {
  const lines: { level: number; msg: string; sqliteCode?: string; path?: string; cause?: string }[] = [];
  const log = pino({ level: 'info' }, { write: (line: string) => void lines.push(JSON.parse(line) as (typeof lines)[number]) });
  const store = new ResultStore(join(dir, 'results.sqlite'), { log });
  const plc = new RecordingSink('plc', true);
  const mes = new RecordingSink('mes', false);
  const router = new ResultRouter(store, 'st-10', [plc, mes], log, { onFailure: policy, retryEverySeconds });
  router.start();
  cleanups.push(async () => {
    await router.close(1000);
    store.close();
  });
  const db = connection(store);
  /** Lets the database grow no further: the next append that needs a page fails with SQLITE_FULL. */
  const fill = () => db.pragma(`max_page_count = ${db.pragma('page_count', { simple: true }) as number}`);
  const makeRoom = () => db.pragma('max_page_count = 1073741823');
  /** Parts until the store refuses one (a page holds a few results); returns the results handed back. */
  const untilRefused = (make: () => InspectionResult): InspectionResult[] => {
    const out: InspectionResult[] = [];
    for (let i = 0; i < 100 && !router.health.storeFailed; i++) out.push(router.handle(make()));
    return out;
  };
  const messages = (msg: string) => lines.filter((l) => l.msg.startsWith(msg));
  return { store, plc, mes, router, db, fill, makeRoom, untilRefused, messages };
}

const codes = (r: InspectionResult) => r.reasons.map((x) => x.code);

describe('store failure: stop-line (default)', () => {
  it('a full database makes the part in flight NOK STORE_FAILED, delivered to every sink, and the station recovers', async () => {
    const { store, plc, mes, router, db, fill, makeRoom, untilRefused, messages } = setup('stop-line');
    for (let i = 0; i < 3; i++) router.handle(makeResult());
    fill();
    const handed = untilRefused(() => makeResult({ verdict: 'OK' }));
    const failed = handed.at(-1)!;
    expect(router.health.storeFailed).toBe(true);
    // The part in flight: its verdict was OK, the PLC hears NOK with the store's own error.
    expect(failed.verdict).toBe('NOK');
    expect(codes(failed)).toEqual(['STORE_FAILED']);
    expect(failed.reasons[0]).toMatchObject({ source: 'store' });
    expect(failed.reasons[0]!.detail).toMatch(/SQLITE_FULL: database or disk is full.*inspection said OK/);
    const lastStored = store.lastSequence('line-1', 'st-10');
    expect(failed.sequence).toBe(lastStored + 1); // the sequence it would have had, flagged by STORE_FAILED

    // Every part while the store fails: NOK too, its own sequence, a NOK part keeps its first reason first.
    const during = router.handle(makeResult({ verdict: 'NOK' }));
    expect([during.verdict, codes(during), during.sequence]).toEqual(['NOK', ['SCRATCH', 'STORE_FAILED'], failed.sequence + 1]);
    await waitUntil(() => plc.received.length === handed.length + 3 + 1 && mes.received.length === plc.received.length, {
      what: 'both sinks to receive every result, the unstored ones included',
      detail: () => `plc ${plc.received.length}, mes ${mes.received.length}`,
    });
    expect(plc.received.slice(-2).map((r) => [r.sequence, r.verdict])).toEqual([
      [failed.sequence, 'NOK'],
      [during.sequence, 'NOK'],
    ]);
    expect(plc.health).toHaveLength(1); // told once, on entering, not per part
    expect(plc.health[0]).toMatchObject({ storeFailed: true, stopLine: true, policy: 'stop-line', degraded: true });
    expect(router.health.held).toBe(2);
    expect(router.health.counters).toMatchObject({ storeFailures: 2, unstoredDelivered: 2, storedLate: 0 });
    expect(router.health.faults.map((f) => f.fault)).toEqual(['store-failed']);

    // Logged once on entering, with path, SQLite code and cause — not once per part.
    const entered = messages('result store failed');
    expect(entered).toHaveLength(1);
    expect(entered[0]).toMatchObject({ level: 50, sqliteCode: 'SQLITE_FULL', path: store.path, cause: 'database or disk is full' });

    // Room again: the next part retries, the held results are written under their sequences, the fault clears.
    makeRoom();
    const after = router.handle(makeResult({ verdict: 'OK' }));
    expect([after.verdict, after.reasons, after.sequence]).toEqual(['OK', [], during.sequence + 1]);
    expect(router.health).toMatchObject({ storeFailed: false, stopLine: false, degraded: false, held: 0 });
    expect(router.health.counters).toMatchObject({ storedLate: 2, unstoredLost: 0, recoveries: 1 });
    expect(store.getBySequence('line-1', 'st-10', failed.sequence)?.result).toMatchObject({ verdict: 'NOK', partId: failed.partId });
    expect(codes(store.getBySequence('line-1', 'st-10', during.sequence)!.result)).toEqual(['SCRATCH', 'STORE_FAILED']);
    expect(store.lastSequence('line-1', 'st-10')).toBe(after.sequence);
    // Written late without outbox rows: the PLC already had them and is not offered them again.
    const owed = db.prepare('SELECT COUNT(*) FROM outbox o JOIN results r ON r.id = o.result_id WHERE r.sequence IN (?, ?)').pluck();
    expect(owed.get(failed.sequence, during.sequence)).toBe(0);
    expect(plc.health.at(-1)).toMatchObject({ storeFailed: false });
    expect(messages('result store recovered')).toHaveLength(1);
    await waitUntil(() => plc.received.at(-1)?.sequence === after.sequence, { what: 'the recovered part delivered through the outbox' });
  });

  it('a read-only database (SQLITE_READONLY) degrades the station the same way, and a retry timer recovers it with no part', async () => {
    const { router, db, plc, messages } = setup('stop-line', 0.02);
    router.handle(makeResult());
    db.pragma('query_only = ON');
    const failed = router.handle(makeResult({ verdict: 'OK' }));
    expect([failed.verdict, codes(failed)]).toEqual(['NOK', ['STORE_FAILED']]);
    expect(failed.reasons[0]!.detail).toMatch(/SQLITE_READONLY: attempt to write a readonly database/);
    expect(messages('result store failed')[0]).toMatchObject({ sqliteCode: 'SQLITE_READONLY' });
    await waitUntil(() => router.health.counters.storeFailures >= 3, { what: 'the retry timer to try the store again' });
    expect(router.health.storeFailed).toBe(true);
    db.pragma('query_only = OFF');
    await waitUntil(() => !router.health.storeFailed, { what: 'the retry timer to recover the store without a part' });
    expect(router.health.counters).toMatchObject({ storedLate: 1, recoveries: 1 });
    expect(plc.health.map((h) => h.storeFailed)).toEqual([true, false]);
  });
});

describe('store failure: the hold', () => {
  it('keeps at most HELD_BOUND results for the late write, giving up the oldest (counted, logged once)', () => {
    const { store, router, db, messages } = setup('deliver-unstored');
    db.pragma('query_only = ON');
    const first = router.handle(makeResult());
    for (let i = 0; i < HELD_BOUND; i++) router.handle(makeResult());
    expect(router.health).toMatchObject({ held: HELD_BOUND, counters: { unstoredDelivered: HELD_BOUND + 1, unstoredLost: 1 } });
    expect(messages('too many unstored results held')).toHaveLength(1);
    db.pragma('query_only = OFF');
    expect(router.retry()).toBe(true);
    expect(router.health.counters).toMatchObject({ storedLate: HELD_BOUND, unstoredLost: 1 });
    expect(store.getBySequence('line-1', 'st-10', first.sequence)).toBeNull(); // the one given up
    expect(store.getBySequence('line-1', 'st-10', first.sequence + 1)).not.toBeNull();
  });

  it('at close, tries the held results once more and logs what was never stored', async () => {
    const { router, db, messages } = setup('stop-line');
    db.pragma('query_only = ON');
    router.handle(makeResult());
    router.handle(makeResult());
    await router.close(100);
    expect(router.health.counters).toMatchObject({ unstoredLost: 2, storedLate: 0 });
    expect(messages('results delivered while the store failed were never stored')).toHaveLength(1);
    db.pragma('query_only = OFF');
  });
});

describe('store failure: a durable sink that is behind', () => {
  it('gets what it was owed first, then the unstored results, in sequence order and each once', async () => {
    const log = pino({ level: 'silent' });
    const store = new ResultStore(join(dir, 'results.sqlite'), { log });
    const plc = new FlakySink('plc'); // offline: the outbox keeps what it is owed
    const router = new ResultRouter(store, 'st-10', [plc], log);
    router.start();
    cleanups.push(async () => {
      await router.close(1000);
      store.close();
    });
    const db = connection(store);
    const dispatcher = router.dispatchers[0]!;
    for (let i = 0; i < 3; i++) router.handle(makeResult());
    await waitUntil(() => dispatcher.counters.failures > 0, { what: 'the offline PLC to refuse the first result' });
    // Read-only from here: appends fail, and so does marking a delivery in the outbox.
    db.pragma('query_only = ON');
    const handed = [router.handle(makeResult()), router.handle(makeResult())];
    expect(router.health.counters.unstoredDelivered).toBe(2);
    plc.online = true;
    const all = [1, 2, 3, ...handed.map((r) => r.sequence)];
    await waitUntil(() => plc.received.length >= all.length, { what: 'the PLC to receive every result', detail: () => plc.received.join(',') });
    expect(plc.received).toEqual(all); // in order, none twice, although none of the marks went through
    expect(dispatcher.counters).toMatchObject({ markFailures: 3, unstoredDelivered: 2 });
    expect(store.backlog('st-10/plc').count).toBe(3); // still owed in SQLite, delivered in memory
    db.pragma('query_only = OFF');
    const after = router.handle(makeResult());
    await waitUntil(() => plc.received.at(-1) === after.sequence, { what: 'the part after recovery' });
    await waitUntil(() => store.backlog('st-10/plc').count === 0, { what: 'every outbox row marked once the store takes writes' });
    expect(plc.received).toEqual([...all, after.sequence]);
  });
});

describe('store failure: deliver-unstored', () => {
  it('delivers the true verdicts unstored, counted, and stores them once the store recovers', async () => {
    const { store, plc, router, fill, makeRoom, untilRefused, messages } = setup('deliver-unstored');
    fill();
    let n = 0;
    const handed = untilRefused(() => makeResult({ verdict: n++ % 2 === 0 ? 'OK' : 'NOK' }));
    const failed = handed.at(-1)!;
    const expectedVerdict = (handed.length - 1) % 2 === 0 ? 'OK' : 'NOK';
    expect(failed.verdict).toBe(expectedVerdict);
    expect(codes(failed)).not.toContain('STORE_FAILED');
    const nok = router.handle(makeResult({ verdict: 'NOK' }));
    const ok = router.handle(makeResult({ verdict: 'OK' }));
    expect([nok.verdict, codes(nok), ok.verdict, codes(ok)]).toEqual(['NOK', ['SCRATCH'], 'OK', []]);
    expect(router.health).toMatchObject({ storeFailed: true, stopLine: false, policy: 'deliver-unstored', held: 3 });
    expect(router.health.counters).toMatchObject({ unstoredDelivered: 3, storeFailures: 3 });
    await waitUntil(() => plc.received.at(-1)?.sequence === ok.sequence, { what: 'the unstored results at the durable sink' });
    expect(plc.received.slice(-3).map((r) => r.verdict)).toEqual([expectedVerdict, 'NOK', 'OK']);
    expect(messages('result store failed')).toHaveLength(1);
    expect(messages('result store failed')[0]!.msg).toMatch(/delivered without being stored/);
    makeRoom();
    const after = router.handle(makeResult());
    expect(after.sequence).toBe(ok.sequence + 1);
    expect(store.getBySequence('line-1', 'st-10', ok.sequence)?.result.verdict).toBe('OK');
    expect(router.health.counters).toMatchObject({ storedLate: 3, unstoredLost: 0 });
  });
});

describe('ResultStore open errors', () => {
  it('name the path and the cause: a store path that is a directory', () => {
    let caught: unknown;
    try {
      new ResultStore(dir).close();
    } catch (err) {
      caught = err;
    }
    expect(isLinesightError(caught, 'LS_ERR_STORE_FAILED')).toBe(true);
    expect((caught as Error).message).toBe(`LS_ERR_STORE_FAILED: cannot open the result store at ${dir}: unable to open database file`);
    expect((caught as Error).cause).toBeInstanceOf(Error);
    expect((caught as LinesightError).context).toMatchObject({ path: dir, op: 'open', sqliteCode: 'SQLITE_CANTOPEN' });
  });
});
