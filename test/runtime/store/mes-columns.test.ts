/**
 * Migration 3 on real SQLite files: the MES job (JobId, MeasId, ProductId, ExternalRecipeId), the configuration
 * hash and the simulation flag written by every write path (append, appendStored, storeLate) and read back
 * exactly (getBySequence, listResults, pending); a version 2 file with a row in it upgraded on open.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { InspectionResult, JobRef } from '../../../runtime/results/result.ts';
import { MIGRATIONS } from '../../../runtime/store/migrations.ts';
import { ResultStore } from '../../../runtime/store/sqlite-store.ts';
import { makeResult } from '../../fakes/make-result.ts';

let dir: string;
let file: string;
const open: ResultStore[] = [];

function openStore(): ResultStore {
  const store = new ResultStore(file, { checkpointInWorker: false });
  open.push(store);
  return store;
}

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'ls-mes-cols-'));
  file = join(dir, 'results.db');
});

afterEach(() => {
  for (const s of open.splice(0)) s.close();
  rmSync(dir, { recursive: true, force: true });
});

const FULL_JOB: JobRef = { jobId: 'J-1', measId: 'M-1', productId: 'PR-1', externalRecipeId: 'ext-recipe-1' };
const BARE_JOB: JobRef = { jobId: 'J-2', measId: null, productId: null, externalRecipeId: null };

function withMes(job: JobRef | null, configId: string, simulated: boolean): InspectionResult {
  return { ...makeResult({ job, simulated }), configId };
}

/** The migration 3 columns of the row with this sequence, as SQLite holds them. */
function rawColumns(sequence: number): unknown {
  const raw = new Database(file, { readonly: true });
  try {
    return raw
      .prepare(
        `SELECT job_id, meas_id, product_id, external_recipe_id, config_id, simulated FROM results
         WHERE station = 'st-10' AND sequence = ?`,
      )
      .get(sequence);
  } finally {
    raw.close();
  }
}

describe('ResultStore, migration 3 columns', () => {
  it('writes the job, configuration and simulation flag through append and appendStored and reads them back exactly', () => {
    const store = openStore();
    const originals = [
      withMes(FULL_JOB, 'cfg-0123456789abcdef', true),
      withMes(BARE_JOB, 'cfg-2', false),
      withMes(null, '', false),
      withMes({ jobId: '', measId: '', productId: 'PR-ü', externalRecipeId: null }, "it's", true),
    ];
    store.append(originals[0]!, ['mes']);
    const stored = [originals[0]!, ...originals.slice(1).map((r) => store.appendStored(r, ['mes']).result)];
    expect(stored.map((r) => r.sequence)).toEqual([1, 2, 3, 4]);
    for (const original of originals) {
      expect(store.getBySequence('line-1', 'st-10', original.sequence)?.result).toEqual(original);
    }
    expect(store.listResults({ line: 'line-1', station: 'st-10', limit: 10 }).map((s) => s.result)).toEqual(originals);
    expect(store.pending('mes', 10).map((p) => p.result)).toEqual(originals);
    expect(rawColumns(1)).toEqual({
      job_id: 'J-1',
      meas_id: 'M-1',
      product_id: 'PR-1',
      external_recipe_id: 'ext-recipe-1',
      config_id: 'cfg-0123456789abcdef',
      simulated: 1,
    });
    expect(rawColumns(3)).toEqual({ job_id: null, meas_id: null, product_id: null, external_recipe_id: null, config_id: '', simulated: 0 });
  });

  it('writes them through storeLate, under the reserved sequence, and after a re-open', () => {
    const store = openStore();
    const late = withMes(FULL_JOB, 'cfg-late', true);
    late.sequence = store.reserveSequence('line-1', 'st-10');
    expect(store.storeLate([late])).toBe(1);
    store.close();
    const reopened = openStore();
    expect(reopened.getBySequence('line-1', 'st-10', late.sequence)?.result).toEqual(late);
    expect(rawColumns(late.sequence)).toMatchObject({ job_id: 'J-1', config_id: 'cfg-late', simulated: 1 });
  });

  it('upgrades a version 2 file with a row in it: the old row gets the defaults, new rows the new fields', () => {
    const v2 = new Database(file);
    for (const step of MIGRATIONS.slice(0, 2)) v2.exec(step);
    v2.pragma('user_version = 2');
    v2.prepare(
      `INSERT INTO results (line, station, sequence, part_id, recipe, frame_sequence, verdict, reasons_json,
       measurements_json, defects_json, models_json, timings_json, captured_at, decided_at)
       VALUES ('line-1', 'st-10', 1, 'P-old', 'housing-a', 9, 'NOK', '[{"code":"SCRATCH","source":"s","detail":"d"}]',
       '{"m":1.5}', '[]', '[]', '{"totalMs":3}', '2026-01-01T00:00:00.000Z', '2026-01-01T00:00:00.020Z')`,
    ).run();
    v2.close();

    const store = openStore();
    const raw = new Database(file, { readonly: true });
    expect(raw.pragma('user_version', { simple: true })).toBe(MIGRATIONS.length);
    expect(MIGRATIONS.length).toBeGreaterThanOrEqual(3);
    const indexes = raw.prepare("SELECT name FROM sqlite_master WHERE type = 'index' AND name LIKE 'results_%' ORDER BY name").pluck().all();
    expect(indexes).toEqual(['results_failed', 'results_job', 'results_meas', 'results_part', 'results_station_id']);
    raw.close();

    expect(store.getBySequence('line-1', 'st-10', 1)?.result).toEqual({
      sequence: 1,
      line: 'line-1',
      station: 'st-10',
      recipe: 'housing-a',
      partId: 'P-old',
      job: null,
      configId: '',
      simulated: false,
      frameSequence: 9,
      verdict: 'NOK',
      reasons: [{ code: 'SCRATCH', source: 's', detail: 'd' }],
      measurements: { m: 1.5 },
      defects: [],
      models: [],
      timings: { totalMs: 3 },
      capturedAt: '2026-01-01T00:00:00.000Z',
      decidedAt: '2026-01-01T00:00:00.020Z',
    });
    const next = store.append(withMes(FULL_JOB, 'cfg-new', true), []);
    expect(next.sequence).toBe(2);
    expect(store.getBySequence('line-1', 'st-10', 2)?.result).toEqual(next);
    expect(store.listResults({ line: 'line-1', station: 'st-10', configId: '', limit: 10 }).map((s) => s.result.sequence)).toEqual([1]);
    expect(store.listResults({ line: 'line-1', station: 'st-10', jobId: 'J-1', limit: 10 }).map((s) => s.result.sequence)).toEqual([2]);
  });
});
