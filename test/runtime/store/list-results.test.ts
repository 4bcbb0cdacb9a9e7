/**
 * ResultStore.listResults on a real SQLite file of 10,000 results over two stations: each filter and their
 * combinations, keyset (afterSequence) and index (offset) paging, oldest first; and the query plans that use
 * migration 3's indexes (EXPLAIN QUERY PLAN).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { INSPECTION_ERROR } from '../../../runtime/decision/rules.ts';
import type { InspectionResult, JobRef } from '../../../runtime/results/result.ts';
import { listQuery, ResultStore, type ResultFilter } from '../../../runtime/store/sqlite-store.ts';
import { makeResult } from '../../fakes/make-result.ts';

const LINE = 'line-1';
const ROWS = 10_000;

let dir: string;
let path: string;
let store: ResultStore;

/**
 * Row i: station st-10 when i is even; part P-7 when i % 10 < 2; NOK when i % 5 === 0, an inspection error when
 * i % 15 === 0; an MES job unless i % 3 === 0 (job(i)); configuration cfg-a for the first half, cfg-b after.
 */
function row(i: number): InspectionResult {
  const station = i % 2 === 0 ? 'st-10' : 'st-20';
  const verdict = i % 5 === 0 ? ('NOK' as const) : ('OK' as const);
  const reasons = i % 15 === 0 ? [{ code: INSPECTION_ERROR, source: 'surface-anomaly', detail: 'worker crashed' }] : undefined;
  const result = makeResult({ line: LINE, station, verdict, reasons, partId: i % 10 < 2 ? 'P-7' : `P-${i}`, job: job(i) });
  return { ...result, configId: i < ROWS / 2 ? 'cfg-a' : 'cfg-b', simulated: i % 11 === 0 };
}

/** Job J-⌊i/30⌋ (10 parts of st-10 each), MeasId M-(i % 50) unless i % 4 === 0, product PR-(i % 7), external recipe on i % 6 === 2. */
function job(i: number): JobRef | null {
  if (i % 3 === 0) return null;
  return {
    jobId: `J-${Math.floor(i / 30)}`,
    measId: i % 4 === 0 ? null : `M-${i % 50}`,
    productId: `PR-${i % 7}`,
    externalRecipeId: i % 6 === 2 ? 'ext-1' : null,
  };
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

/** The sequences of a filter's matches, read page by page with afterSequence. */
function pagedByKey(filter: Partial<ResultFilter>, limit: number): number[] {
  const out: number[] = [];
  for (let after = 0; ;) {
    const page = list({ ...filter, afterSequence: after, limit }).map((r) => r.sequence);
    if (page.length === 0) return out;
    expect(page.length).toBeLessThanOrEqual(limit);
    out.push(...page);
    after = page.at(-1)!;
  }
}

/** The same with offset (StartIndex) paging, one page past the end. */
function pagedByOffset(filter: Partial<ResultFilter>, limit: number, total: number): number[] {
  const out: number[] = [];
  for (let offset = 0; offset < total + limit; offset += limit) out.push(...list({ ...filter, offset, limit }).map((r) => r.sequence));
  return out;
}

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

  it('filters by jobId, measId, productId, externalRecipeId and configId, each paged both ways', () => {
    const cases: [Partial<ResultFilter>, (i: number) => boolean, number][] = [
      [{ jobId: 'J-17' }, (i) => job(i)?.jobId === 'J-17', 3],
      [{ measId: 'M-22' }, (i) => job(i)?.measId === 'M-22', 7],
      [{ productId: 'PR-3' }, (i) => job(i)?.productId === 'PR-3', 100],
      [{ externalRecipeId: 'ext-1' }, (i) => job(i)?.externalRecipeId === 'ext-1', 100],
      [{ configId: 'cfg-b' }, (i) => i >= ROWS / 2, 300],
      [{ jobId: 'J-17', partId: 'P-7' }, (i) => job(i)?.jobId === 'J-17' && i % 10 < 2, 1],
      [{ measId: 'M-22', configId: 'cfg-a' }, (i) => job(i)?.measId === 'M-22' && i < ROWS / 2, 5],
    ];
    for (const [filter, pick, pageSize] of cases) {
      const want = expected(pick);
      expect(want.length, JSON.stringify(filter)).toBeGreaterThan(pageSize); // more than one page
      expect(
        list(filter).map((r) => r.sequence),
        JSON.stringify(filter),
      ).toEqual(want);
      expect(pagedByKey(filter, pageSize), JSON.stringify(filter)).toEqual(want);
      expect(pagedByOffset(filter, pageSize, want.length), JSON.stringify(filter)).toEqual(want);
    }
    expect(list({ jobId: 'J-17' }).every((r) => r.job?.jobId === 'J-17')).toBe(true);
    expect(list({ configId: 'cfg-b' }).every((r) => r.configId === 'cfg-b')).toBe(true);
    for (const f of [{ jobId: 'J-none' }, { measId: 'M-none' }, { productId: 'PR-none' }, { externalRecipeId: 'x' }, { configId: '' }])
      expect(list(f), JSON.stringify(f)).toEqual([]);
  });

  it('reads back the stored record whole', () => {
    const [first] = list({ limit: 1 });
    expect(first).toEqual(store.getBySequence(LINE, 'st-10', 1)?.result);
    expect(first).toMatchObject({ verdict: 'NOK', reasons: [{ code: INSPECTION_ERROR }], partId: 'P-7' });
  });
});

describe('listResults query plans (migration 3 indexes)', () => {
  const plan = (filter: Partial<ResultFilter>): string => {
    const { sql, params } = listQuery({ line: LINE, station: 'st-10', limit: 101, ...filter });
    const raw = new Database(path, { readonly: true });
    try {
      return (raw.prepare(`EXPLAIN QUERY PLAN ${sql}`).all(...params) as { detail: string }[]).map((p) => p.detail).join(' | ');
    } finally {
      raw.close();
    }
  };

  it('finds a part, a job and a measurement through their partial indexes, in sequence order', () => {
    expect(plan({ partId: 'P-7' })).toMatch(/^SEARCH r USING INDEX results_part \(line=\? AND station=\? AND part_id=\? AND sequence>\?\)/);
    expect(plan({ jobId: 'J-17', afterSequence: 10 })).toMatch(/USING INDEX results_job \(line=\? AND station=\? AND job_id=\?/);
    expect(plan({ measId: 'M-22', offset: 5 })).toMatch(/USING INDEX results_meas \(line=\? AND station=\? AND meas_id=\?/);
    // Ordered by the index itself: no sort step for "oldest first".
    for (const f of [{ partId: 'P-7' }, { jobId: 'J-17' }, { measId: 'M-22' }]) expect(plan(f)).not.toMatch(/TEMP B-TREE/);
  });

  it('finds ResultState Failed (an INSPECTION_ERROR reason) through results_failed, and nothing else does', () => {
    expect(plan({ reason: { code: INSPECTION_ERROR, present: true } })).toMatch(/USING INDEX results_failed/);
    expect(plan({ reason: { code: INSPECTION_ERROR, present: false } })).not.toMatch(/results_failed/);
    expect(plan({ reason: { code: 'SCRATCH', present: true } })).not.toMatch(/results_failed/);
    expect(plan({})).not.toMatch(/results_(part|job|meas|failed)/);
  });
});
