import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { isLinesightError } from '../../../runtime/errors.ts';
import { MIGRATIONS } from '../../../runtime/store/migrations.ts';
import { ResultStore } from '../../../runtime/store/sqlite-store.ts';
import { makeResult } from '../../fakes/make-result.ts';

let dir: string;
let file: string;
const open: ResultStore[] = [];

function openStore(): ResultStore {
  const store = new ResultStore(file);
  open.push(store);
  return store;
}

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'ls-store-'));
  // A nested folder proves the store creates it.
  file = join(dir, 'nested', 'results.db');
});

afterEach(() => {
  for (const s of open.splice(0)) s.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('ResultStore', () => {
  it('migrates a fresh file to the latest version in WAL mode and re-opens without re-running migrations', () => {
    openStore().close();
    const raw = new Database(file, { readonly: true });
    expect(raw.pragma('user_version', { simple: true })).toBe(MIGRATIONS.length);
    expect(raw.pragma('journal_mode', { simple: true })).toBe('wal');
    const tables = raw.prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name").pluck().all();
    expect(tables).toEqual(['outbox', 'results']);
    raw.close();

    const again = openStore();
    expect(again.lastSequence('line-1', 'st-10')).toBe(0);
  });

  it('refuses a file written by a newer schema', () => {
    openStore().close();
    const raw = new Database(file);
    raw.pragma(`user_version = ${MIGRATIONS.length + 1}`);
    raw.close();
    let caught: unknown;
    try {
      openStore();
    } catch (err) {
      caught = err;
    }
    expect(isLinesightError(caught, 'LS_ERR_STORE_FAILED')).toBe(true);
  });

  it('assigns per-station sequences that continue after re-open with no gaps', () => {
    const store = openStore();
    const a = [1, 2, 3].map(() => store.append(makeResult({ station: 'st-10' }), []).sequence);
    const b = [1, 2].map(() => store.append(makeResult({ station: 'st-20' }), []).sequence);
    expect(a).toEqual([1, 2, 3]);
    expect(b).toEqual([1, 2]);
    store.close();

    const reopened = openStore();
    expect(reopened.lastSequence('line-1', 'st-10')).toBe(3);
    const more = [1, 2].map(() => reopened.append(makeResult({ station: 'st-10' }), []).sequence);
    expect(more).toEqual([4, 5]);
    const all = reopened.query({ station: 'st-10', limit: 100 }).map((r) => r.result.sequence);
    expect(all).toEqual([5, 4, 3, 2, 1]);
  });

  it('rehydrates a stored result field for field', () => {
    const store = openStore();
    const original = makeResult({ verdict: 'NOK', partId: null });
    store.append(original, []);
    const stored = store.getBySequence('line-1', 'st-10', original.sequence);
    expect(stored?.result).toEqual(original);
    expect(store.getBySequence('line-1', 'st-10', 99)).toBeNull();
  });

  it('refuses to append a result twice', () => {
    const store = openStore();
    const r = store.append(makeResult(), ['plc']);
    expect(() => store.append(r, ['plc'])).toThrow(/LS_ERR_STORE_FAILED/);
    expect(store.lastSequence('line-1', 'st-10')).toBe(1);
  });

  it('queues one outbox row per durable sink and lists pending in result order', () => {
    const store = openStore();
    for (let i = 0; i < 5; i++) store.append(makeResult(), ['plc', 'mes']);
    store.append(makeResult(), ['plc']); // mes not durable for this one
    expect(store.backlog('plc').count).toBe(6);
    expect(store.backlog('mes').count).toBe(5);
    expect(store.backlog('log')).toEqual({ count: 0, oldestAgeMs: 0 });

    const pending = store.pending('plc', 100);
    expect(pending.map((p) => p.result.sequence)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(pending.map((p) => p.id)).toEqual([...pending.map((p) => p.id)].sort((x, y) => x - y));
    expect(store.pending('plc', 2).map((p) => p.result.sequence)).toEqual([1, 2]);
  });

  it('markDelivered removes a row from pending for that sink only; markFailed records the attempt', () => {
    const store = openStore();
    for (let i = 0; i < 3; i++) store.append(makeResult(), ['plc', 'mes']);
    const [first, second] = store.pending('plc', 10);
    store.markFailed('plc', first.id, new Error('PLC unplugged'));
    store.markDelivered('plc', first.id);
    store.markFailed('plc', second.id, new Error('PLC unplugged'));

    const plc = store.pending('plc', 10);
    expect(plc.map((p) => p.result.sequence)).toEqual([2, 3]);
    expect(plc[0]).toMatchObject({ attempts: 1, lastError: 'PLC unplugged' });
    expect(store.pending('mes', 10).map((p) => p.result.sequence)).toEqual([1, 2, 3]);
    expect(store.backlog('plc').count).toBe(2);
  });

  it('filters queries by verdict, newest first', () => {
    const store = openStore();
    const verdicts = ['OK', 'NOK', 'OK', 'NOK'] as const;
    for (const v of verdicts) store.append(makeResult({ verdict: v }), []);
    expect(store.query({ verdict: 'NOK', limit: 10 }).map((r) => r.result.sequence)).toEqual([4, 2]);
    expect(store.query({ limit: 1 }).map((r) => r.result.sequence)).toEqual([4]);
  });
});
