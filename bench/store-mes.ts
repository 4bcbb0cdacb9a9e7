/**
 * The MES side of the store benchmark (bench/store.bench.ts): what migration 3's indexes cost an append (WAL
 * pages written per append, measured) and what they buy a GetResultListFiltered first page (listResults over
 * many stored results), each against the same schema without them (the baseline, in the same run).
 */
import { statSync } from 'node:fs';
import Database from 'better-sqlite3';
import { INSPECTION_ERROR } from '../runtime/decision/rules.ts';
import type { InspectionResult, JobRef } from '../runtime/results/result.ts';
import { ResultStore, type ResultFilter } from '../runtime/store/sqlite-store.ts';
import { percentile, table } from './lib.ts';

/** Migration 3's indexes for the MES queries (runtime/store/migrations.ts). */
export const MES_INDEXES = ['results_part', 'results_job', 'results_meas', 'results_failed'] as const;

/**
 * What a part carries: a part id and an MES job (StartSingleJob), a part id only (a PLC trigger with a part id),
 * or neither (free-run).
 */
export type PartKind = 'job' | 'part' | 'free-run';

const CONFIGS = 4;
const PRODUCTS = 5;
const PARTS_PER_JOB = 10;

/** Bench result i: NOK 1 in 5; an INSPECTION_ERROR (ResultState Failed) 1 in 1000; a job per 10 parts. */
export function benchResult(i: number, kind: PartKind, total = 1): InspectionResult {
  const failed = i % 1000 === 999;
  const job: JobRef = {
    jobId: `J-${Math.floor(i / PARTS_PER_JOB)}`,
    measId: `M-${i}`,
    productId: `PROD-${i % PRODUCTS}`,
    externalRecipeId: 'ext-r',
  };
  return {
    sequence: 0,
    line: 'bench',
    station: 'surface',
    recipe: 'r',
    partId: kind === 'free-run' ? null : `P-${i}`,
    job: kind === 'job' ? job : null,
    configId: `cfg-${Math.floor((i * CONFIGS) / Math.max(total, 1))}`,
    simulated: false,
    frameSequence: i,
    verdict: i % 5 === 0 || failed ? 'NOK' : 'OK',
    reasons: failed
      ? [{ code: INSPECTION_ERROR, source: 'surface-anomaly', detail: 'worker crashed' }]
      : i % 5 === 0
        ? [{ code: 'SURFACE_DEFECT', source: 'surface-anomaly', detail: 'score 0.91 ≥ 0.5' }]
        : [],
    measurements: { 'surface-anomaly.score': 0.1234, 'surface-anomaly.raw_score': 5.4321 },
    defects: [],
    models: [{ name: 'surface-anomaly', sha256: 'ab'.repeat(32) }],
    timings: {
      acquireMs: 0.02,
      queueMs: 0,
      gateMs: 0.3,
      preprocessMs: 0.23,
      inferMs: 11.2,
      decodeMs: 0.1,
      decideMs: 0.01,
      measureMs: 0,
      totalMs: 11.6,
    },
    capturedAt: new Date().toISOString(),
    decidedAt: new Date().toISOString(),
  };
}

/** Creates a store file with the shipped schema, or with the MES indexes dropped (the baseline). */
export function makeStoreFile(file: string, withMesIndexes: boolean): void {
  new ResultStore(file, { checkpointInWorker: false }).close();
  if (withMesIndexes) return;
  const db = new Database(file);
  for (const name of MES_INDEXES) db.exec(`DROP INDEX ${name}`);
  db.close();
}

const WAL_FRAME_BYTES = 24 + 4096;

/**
 * WAL pages one append writes (result + 2 outbox rows), averaged over `n` appends after 2,000 warm-up ones. A
 * reader transaction held open keeps the WAL from being checkpointed and restarted, so its growth is all writes.
 */
export function walPagesPerAppend(file: string, kind: PartKind, n: number): number {
  const store = new ResultStore(file, { checkpointInWorker: false });
  const sinks = ['surface/modbus', 'surface/opcua'];
  for (let i = 0; i < 2000; i++) store.append(benchResult(i, kind), sinks);
  const reader = new Database(file);
  try {
    reader.pragma('wal_checkpoint(TRUNCATE)');
    reader.prepare('BEGIN').run();
    reader.prepare('SELECT COUNT(*) FROM results').get();
    const before = statSync(`${file}-wal`).size;
    for (let i = 2000; i < 2000 + n; i++) store.append(benchResult(i, kind), sinks);
    return (statSync(`${file}-wal`).size - before) / WAL_FRAME_BYTES / n;
  } finally {
    reader.close();
    store.close();
  }
}

/** Stores `n` results in one station through storeLate (5,000 per transaction). */
export function fillStore(file: string, n: number): void {
  const store = new ResultStore(file, { checkpointInWorker: false });
  const batch: InspectionResult[] = [];
  for (let i = 0; i < n; i++) {
    const r = benchResult(i, 'job', n);
    r.sequence = i + 1;
    batch.push(r);
    if (batch.length === 5000 || i === n - 1) store.storeLate(batch.splice(0));
  }
  store.close();
}

interface NamedQuery {
  readonly name: string;
  readonly filter: Partial<ResultFilter>;
}

/** First-page queries as GetResultListFiltered makes them (a page of 100 and one more row to tell IsComplete). */
function queries(n: number): NamedQuery[] {
  const last = n - 1;
  return [
    { name: 'first page, no filter', filter: {} },
    { name: 'PartId, 1 match (newest part)', filter: { partId: `P-${last}` } },
    { name: 'PartId, no match', filter: { partId: 'P-unknown' } },
    { name: `JobId, ${PARTS_PER_JOB} matches (newest job)`, filter: { jobId: `J-${Math.floor(last / PARTS_PER_JOB)}` } },
    { name: 'MeasId, 1 match (newest)', filter: { measId: `M-${last}` } },
    { name: `ResultState Failed, ${Math.floor(n / 1000)} matches`, filter: { reason: { code: INSPECTION_ERROR, present: true } } },
    { name: 'ResultState Completed (most match)', filter: { reason: { code: INSPECTION_ERROR, present: false } } },
    { name: `ProductId, 1 in ${PRODUCTS} match`, filter: { productId: 'PROD-3' } },
    { name: `ConfigId, newest of ${CONFIGS}`, filter: { configId: `cfg-${CONFIGS - 1}` } },
  ];
}

/**
 * Times each first-page query `reps` times on both files (shipped schema and baseline), alternating per
 * repetition, and returns a table of medians and p99s (ms) with the rows each returned.
 */
export function queryTable(indexedFile: string, baselineFile: string, n: number, reps: number): string {
  const stores = [indexedFile, baselineFile].map((f) => new ResultStore(f, { checkpointInWorker: false }));
  const rows: (string | number)[][] = [];
  for (const q of queries(n)) {
    const filter: ResultFilter = { line: 'bench', station: 'surface', limit: 101, ...q.filter };
    const samples: number[][] = [[], []];
    let found = 0;
    for (let k = 0; k < reps + 2; k++) {
      stores.forEach((s, v) => {
        const t0 = performance.now();
        found = s.listResults(filter).length;
        if (k >= 2) samples[v]!.push(performance.now() - t0); // two warm-up runs each (statement, page cache)
      });
    }
    const [withIdx, without] = samples as [number[], number[]];
    rows.push([q.name, String(found), percentile(withIdx, 50), percentile(withIdx, 99), percentile(without, 50), percentile(without, 99)]);
  }
  for (const s of stores) s.close();
  const header = ['first page of', 'rows', 'indexed p50', 'indexed p99', 'no MES index p50', 'no MES index p99'];
  return table(`listResults over ${n} stored results of one station, ms (${reps} runs each, alternating)`, header, rows);
}
