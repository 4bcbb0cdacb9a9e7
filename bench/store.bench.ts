/**
 * ResultStore.append latency (one result + two outbox rows per transaction, WAL, synchronous=NORMAL), with
 * WAL checkpoints run inside commits (SQLite's default auto-checkpoint) and from the worker-thread
 * checkpointer (runtime/store/wal-checkpointer.ts). Same results, same disk, alternating blocks.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { ResultStore } from '../runtime/store/sqlite-store.ts';
import type { InspectionResult } from '../runtime/results/result.ts';
import { machine, percentile, stats, table } from './lib.ts';
import { envInt, scriptArgs } from '../training/script-args.ts';

const USAGE = `usage: npx tsx bench/store.bench.ts   (or npm run bench -- store)

Benchmark: ResultStore.append latency with in-commit and worker-thread WAL checkpoints. No options; sizes from the environment (whole numbers ≥ 1):
  BENCH_STORE_N=20000  appends`;
scriptArgs(process.argv.slice(2), { usage: USAGE });
const N = envInt('BENCH_STORE_N', 20_000, 1, 1e9);
const BLOCK = 1000;
const dir = mkdtempSync(path.join(tmpdir(), 'ls-store-bench-'));

function result(i: number): InspectionResult {
  return {
    sequence: 0,
    line: 'bench',
    station: 'surface',
    recipe: 'r',
    partId: `P-${i}`,
    frameSequence: i,
    verdict: i % 5 === 0 ? 'NOK' : 'OK',
    reasons: i % 5 === 0 ? [{ code: 'SURFACE_DEFECT', source: 'surface-anomaly', detail: 'score 0.91 ≥ 0.5' }] : [],
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

const variants = [
  {
    name: 'auto-checkpoint inside commits (SQLite default)',
    store: new ResultStore(path.join(dir, 'inline.sqlite'), { checkpointInWorker: false }),
    samples: [] as number[],
  },
  { name: 'checkpoints in a worker thread (Linesight)', store: new ResultStore(path.join(dir, 'worker.sqlite')), samples: [] as number[] },
];
const sinks = ['surface/modbus', 'surface/opcua'];
for (let done = 0, i = 0; done < N; done += BLOCK) {
  for (const v of variants) {
    for (let k = 0; k < BLOCK; k++) {
      const r = result(i + k);
      const t0 = performance.now();
      v.store.append(r, sinks);
      v.samples.push(performance.now() - t0);
    }
    // Give the worker its timer ticks, as the event loop does between frames in the daemon.
    await new Promise((r) => setTimeout(r, 5));
  }
  i += BLOCK;
}
const rows = variants.map((v) => {
  const s = stats(v.samples);
  return [v.name, s.n, s.p50, s.p99, percentile(v.samples, 99.9), Math.max(...v.samples)];
});
for (const v of variants) v.store.close();
const walPages = variants.map((v) => {
  const db = new Database(v.store.path, { readonly: true });
  const n = db.pragma('page_count', { simple: true }) as number;
  db.close();
  return n;
});
process.stdout.write(`store benchmark — ${machine()}, ${N} appends per variant, result + 2 outbox rows each\n`);
process.stdout.write(table('ResultStore.append latency (ms)', ['variant', 'n', 'p50', 'p99', 'p99.9', 'max'], rows));
process.stdout.write(`\ndatabase pages after the run: ${walPages.join(' / ')}\n\n`);
rmSync(dir, { recursive: true, force: true });
