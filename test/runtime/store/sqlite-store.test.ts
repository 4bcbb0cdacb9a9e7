import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
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
    const all = [1, 2, 3, 4, 5, 6].map((q) => reopened.getBySequence('line-1', 'st-10', q)?.result.sequence ?? null);
    expect(all).toEqual([1, 2, 3, 4, 5, null]);
  });

  it('rehydrates a stored result field for field', () => {
    const store = openStore();
    const original = makeResult({ verdict: 'NOK', partId: null });
    store.append(original, []);
    const stored = store.getBySequence('line-1', 'st-10', original.sequence);
    expect(stored?.result).toEqual(original);
    expect(store.getBySequence('line-1', 'st-10', 99)).toBeNull();
  });

  it('appendStored returns the row id that pending() reports, with the same result object', () => {
    const store = openStore();
    const a = store.appendStored(makeResult(), ['plc']);
    const b = store.appendStored(makeResult(), ['plc']);
    expect(b.id).toBeGreaterThan(a.id);
    expect(a.result.sequence).toBe(1);
    expect(store.pending('plc', 10).map((p) => p.id)).toEqual([a.id, b.id]);
    expect(store.pending('plc', 10)[1]?.result).toEqual(b.result);
    expect(store.counters).toEqual({ pendingQueries: 2, pendingRows: 4 });
  });

  it('migrates an existing v1 database, keeping its results and pending outbox rows', () => {
    const v1 = MIGRATIONS[0];
    if (v1 === undefined) throw new Error('no v1 migration');
    // A file as a v1 Linesight left it: the v1 schema, one result still owed to the PLC.
    mkdirSync(dirname(file), { recursive: true });
    const raw = new Database(file);
    raw.pragma('journal_mode = WAL');
    raw.exec(v1);
    raw.pragma('user_version = 1');
    const at = new Date().toISOString();
    raw
      .prepare(
        `INSERT INTO results (line, station, sequence, part_id, recipe, frame_sequence, verdict, reasons_json,
      measurements_json, defects_json, models_json, timings_json, captured_at, decided_at)
      VALUES ('line-1', 'st-10', 1, 'P-1', 'housing-a', 1, 'OK', '[]', '{}', '[]', '[]', '{}', ?, ?)`,
      )
      .run(at, at);
    raw.prepare("INSERT INTO outbox (result_id, sink) VALUES (1, 'plc')").run();
    raw.close();

    const store = openStore();
    const after = new Database(file, { readonly: true });
    expect(after.pragma('user_version', { simple: true })).toBe(MIGRATIONS.length);
    const indexes = after.prepare("SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'outbox'").pluck().all();
    expect(indexes).toContain('outbox_result');
    after.close();
    expect(store.pending('plc', 10).map((p) => p.result.sequence)).toEqual([1]);
    expect(store.append(makeResult(), ['plc']).sequence).toBe(2);
    expect(store.backlog('plc').count).toBe(2);
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
    if (first === undefined || second === undefined) throw new Error('expected two pending results');
    store.markFailed('plc', first.id, new Error('PLC unplugged'));
    store.markDelivered('plc', first.id);
    store.markFailed('plc', second.id, new Error('PLC unplugged'));

    const plc = store.pending('plc', 10);
    expect(plc.map((p) => p.result.sequence)).toEqual([2, 3]);
    expect(plc[0]).toMatchObject({ attempts: 1, lastError: 'PLC unplugged' });
    expect(store.pending('mes', 10).map((p) => p.result.sequence)).toEqual([1, 2, 3]);
    expect(store.backlog('plc').count).toBe(2);
  });
});
