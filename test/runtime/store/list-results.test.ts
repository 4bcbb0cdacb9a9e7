/**
 * ResultStore.listResults on a real SQLite file of 10,000 results over two stations: each filter and their
 * combinations, keyset (afterSequence) and index (offset) paging, oldest first.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { INSPECTION_ERROR } from '../../../runtime/decision/rules.ts';
import { ResultStore, type ResultFilter } from '../../../runtime/store/sqlite-store.ts';
import { makeResult } from '../../fakes/make-result.ts';

const LINE = 'line-1';
const ROWS = 10_000;

let dir: string;
let path: string;
let store: ResultStore;

/** Row i: station st-10 when i is even; part P-7 when i % 10 < 2; NOK when i % 5 === 0, an inspection error when i % 15 === 0. */
function row(i: number) {
  const station = i % 2 === 0 ? 'st-10' : 'st-20';
  const verdict = i % 5 === 0 ? ('NOK' as const) : ('OK' as const);
  const reasons = i % 15 === 0 ? [{ code: INSPECTION_ERROR, source: 'surface-anomaly', detail: 'worker crashed' }] : undefined;
  return makeResult({ line: LINE, station, verdict, reasons, partId: i % 10 < 2 ? 'P-7' : `P-${i}` });
}

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'ls-list-'));
  path = join(dir, 'results.db');
  store = new ResultStore(path, { checkpointInWorker: false });
  for (let i = 0; i < ROWS; i++) store.appendStored(row(i), []);
}, 120_000);

afterAll(() => {
  store?.close();
  rmSync(dir, { recursive: true, force: true });
});

function list(filter: Partial<ResultFilter>) {
  return store.listResults({ line: LINE, station: 'st-10', limit: ROWS, ...filter }).map((s) => s.result);
}

/** What a filter must return, computed from the inserted rows (st-10 holds the even i, sequence i / 2 + 1). */
function expected(pick: (i: number) => boolean): number[] {
  const out: number[] = [];
  for (let i = 0; i < ROWS; i += 2) if (pick(i)) out.push(i / 2 + 1);
  return out;
}

describe('ResultStore.listResults', () => {
  it('lists one station only, oldest first, up to the limit', () => {
    const all = list({});
    expect(all).toHaveLength(ROWS / 2);
    expect(all.every((r) => r.station === 'st-10')).toBe(true);
    expect(all.map((r) => r.sequence)).toEqual(expected(() => true));
    expect(list({ limit: 3 }).map((r) => r.sequence)).toEqual([1, 2, 3]);
    expect(list({ limit: 0 })).toEqual([]);
    expect(store.listResults({ line: 'line-2', station: 'st-10', limit: 10 })).toEqual([]);
  });

  it('filters by part id, verdict and recipe, alone and together', () => {
    const p7 = list({ partId: 'P-7' });
    expect(p7.map((r) => r.sequence)).toEqual(expected((i) => i % 10 < 2));
    expect(p7.every((r) => r.partId === 'P-7')).toBe(true);
    expect(list({ verdict: 'NOK' }).map((r) => r.sequence)).toEqual(expected((i) => i % 5 === 0));
    expect(list({ partId: 'P-7', verdict: 'NOK' }).map((r) => r.sequence)).toEqual(expected((i) => i % 10 === 0));
    expect(list({ recipe: 'housing-a' })).toHaveLength(ROWS / 2);
    expect(list({ recipe: 'housing-b' })).toEqual([]);
    expect(list({ partId: "P-7' OR '1'='1" })).toEqual([]);
  });

  it('filters by the presence or absence of a reason code', () => {
    const failed = list({ reason: { code: INSPECTION_ERROR, present: true } });
    expect(failed.map((r) => r.sequence)).toEqual(expected((i) => i % 15 === 0));
    expect(failed.every((r) => r.reasons.some((x) => x.code === INSPECTION_ERROR))).toBe(true);
    expect(list({ reason: { code: INSPECTION_ERROR, present: false } }).map((r) => r.sequence)).toEqual(expected((i) => i % 15 !== 0));
    expect(list({ reason: { code: 'SCRATCH', present: true }, partId: 'P-7' }).map((r) => r.sequence)).toEqual(
      expected((i) => i % 10 === 0 && i % 15 !== 0),
    );
  });

  it('pages by afterSequence and by offset, the pages joining up to the whole list', () => {
    const whole = list({ partId: 'P-7' }).map((r) => r.sequence);
    const byKey: number[] = [];
    for (let after = 0; ;) {
      const page = list({ partId: 'P-7', afterSequence: after, limit: 300 }).map((r) => r.sequence);
      if (page.length === 0) break;
      byKey.push(...page);
      after = page.at(-1)!;
    }
    expect(byKey).toEqual(whole);
    const byOffset: number[] = [];
    for (let offset = 0; offset < whole.length + 300; offset += 300)
      byOffset.push(...list({ partId: 'P-7', offset, limit: 300 }).map((r) => r.sequence));
    expect(byOffset).toEqual(whole);
    expect(list({ afterSequence: 4998 }).map((r) => r.sequence)).toEqual([4999, 5000]);
    expect(list({ offset: 10, limit: 2 }).map((r) => r.sequence)).toEqual([11, 12]);
  });

  it('reads back the stored record whole', () => {
    const [first] = list({ limit: 1 });
    expect(first).toEqual(store.getBySequence(LINE, 'st-10', 1)?.result);
    expect(first).toMatchObject({ verdict: 'NOK', reasons: [{ code: INSPECTION_ERROR }], partId: 'P-7' });
  });
});
