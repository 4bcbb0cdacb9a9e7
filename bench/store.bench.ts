/**
 * ResultStore.append latency (one result + two outbox rows per transaction, WAL, synchronous=NORMAL), with
 * WAL checkpoints run inside commits (SQLite's default auto-checkpoint) and from the worker-thread
 * checkpointer (runtime/store/wal-checkpointer.ts). Same results, same disk, alternating blocks. Then what
 * migration 3's MES indexes cost an append and buy a GetResultListFiltered query (bench/store-mes.ts), each
 * against the schema without them in the same run.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { ResultStore } from '../runtime/store/sqlite-store.ts';
import { BACKSTOP_AUTOCHECKPOINT_PAGES } from '../runtime/store/wal-checkpointer.ts';
import { machine, percentile, stats, table } from './lib.ts';
import { benchResult, fillStore, makeStoreFile, queryTable, walPagesPerAppend, type PartKind } from './store-mes.ts';
import { envInt, scriptArgs } from '../training/script-args.ts';

const USAGE = `usage: npx tsx bench/store.bench.ts   (or npm run bench -- store)

Benchmark: ResultStore.append latency with in-commit and worker-thread WAL checkpoints, with and without the
MES indexes, and listResults first pages over many stored results. No options; sizes from the environment
(whole numbers):
  BENCH_STORE_N=20000          appends per variant
  BENCH_STORE_QUERY_N=100000   stored results the queries run over
  BENCH_STORE_QUERY_REPS=30    runs of each query per schema
  BENCH_STORE_PACE_MS=0        pause between two appends (a line's part rate; 0: back to back, 1,000 at a time)`;
scriptArgs(process.argv.slice(2), { usage: USAGE });
const N = envInt('BENCH_STORE_N', 20_000, 1, 1e9);
const QUERY_N = envInt('BENCH_STORE_QUERY_N', 100_000, 1, 1e8);
const QUERY_REPS = envInt('BENCH_STORE_QUERY_REPS', 30, 1, 1e6);
const PACE_MS = envInt('BENCH_STORE_PACE_MS', 0, 0, 60_000);
const BLOCK = 1000;
const SLOW_MS = 5;
const dir = mkdtempSync(path.join(tmpdir(), 'ls-store-bench-'));

interface Variant {
  readonly name: string;
  readonly store: ResultStore;
  readonly samples: number[];
}

/** Appends N results to each variant's store in alternating blocks; returns the latency rows. */
async function appendRows(variants: readonly Variant[], kind: PartKind): Promise<(string | number)[][]> {
  const sinks = ['surface/modbus', 'surface/opcua'];
  for (let done = 0; done < N; done += BLOCK) {
    for (const v of variants) {
      for (let k = done; k < Math.min(N, done + BLOCK); k++) {
        const r = benchResult(k, kind);
        const t0 = performance.now();
        v.store.append(r, sinks);
        v.samples.push(performance.now() - t0);
        if (PACE_MS > 0) await new Promise((r) => setTimeout(r, PACE_MS));
      }
      // Give the worker its timer ticks, as the event loop does between frames in the daemon.
      await new Promise((r) => setTimeout(r, 5));
    }
  }
  return variants.map((v) => {
    const s = stats(v.samples);
    const slow = v.samples.filter((x) => x > SLOW_MS).length;
    return [v.name, s.n, s.p50, s.p99, percentile(v.samples, 99.9), Math.max(...v.samples), String(slow)];
  });
}

function pageCount(file: string): number {
  const db = new Database(file, { readonly: true });
  const n = db.pragma('page_count', { simple: true }) as number;
  db.close();
  return n;
}

const latencyHeader = ['variant', 'n', 'p50', 'p99', 'p99.9', 'max', `> ${SLOW_MS} ms`];
const file = (name: string) => path.join(dir, name);

const checkpointVariants: Variant[] = [
  {
    name: 'auto-checkpoint inside commits (SQLite default)',
    store: new ResultStore(file('inline.sqlite'), { checkpointInWorker: false }),
    samples: [],
  },
  { name: 'checkpoints in a worker thread (Linesight)', store: new ResultStore(file('worker.sqlite')), samples: [] },
];
const checkpointRows = await appendRows(checkpointVariants, 'part');
for (const v of checkpointVariants) v.store.close();

makeStoreFile(file('mes-indexed.sqlite'), true);
makeStoreFile(file('mes-baseline.sqlite'), false);
const indexVariants: Variant[] = [
  { name: 'migration 3 indexes (shipped)', store: new ResultStore(file('mes-indexed.sqlite')), samples: [] },
  { name: 'without the MES indexes (baseline)', store: new ResultStore(file('mes-baseline.sqlite')), samples: [] },
];
const indexRows = await appendRows(indexVariants, 'job');
for (const v of indexVariants) v.store.close();

const walRows: (string | number)[][] = [];
for (const kind of ['job', 'part', 'free-run'] as const) {
  for (const withIndexes of [true, false]) {
    const f = file(`wal-${kind}-${withIndexes}.sqlite`);
    makeStoreFile(f, withIndexes);
    const pages = walPagesPerAppend(f, kind, 500);
    const schema = withIndexes ? 'migration 3 indexes' : 'no MES indexes';
    walRows.push([kind, schema, pages, (N * pages) / BACKSTOP_AUTOCHECKPOINT_PAGES]);
  }
}

makeStoreFile(file('query-indexed.sqlite'), true);
makeStoreFile(file('query-baseline.sqlite'), false);
fillStore(file('query-indexed.sqlite'), QUERY_N);
fillStore(file('query-baseline.sqlite'), QUERY_N);
const queries = queryTable(file('query-indexed.sqlite'), file('query-baseline.sqlite'), QUERY_N, QUERY_REPS);

const out = process.stdout;
const pace = PACE_MS > 0 ? `, ${PACE_MS} ms between appends` : ', back to back';
out.write(`store benchmark — ${machine()}, ${N} appends per variant${pace}, result + 2 outbox rows each\n`);
out.write(table('ResultStore.append latency (ms), parts with a part id', latencyHeader, checkpointRows));
out.write(`\ndatabase pages after the run: ${checkpointVariants.map((v) => pageCount(v.store.path)).join(' / ')}\n`);
out.write(table('ResultStore.append latency (ms), worker checkpoints, parts with a part id and an MES job', latencyHeader, indexRows));
out.write('\n');
const walHeader = ['part carries', 'schema', 'WAL pages / append', `backstop checkpoints per ${N} appends`];
out.write(
  table(`WAL pages written per append (4 KiB each; backstop auto-checkpoint every ${BACKSTOP_AUTOCHECKPOINT_PAGES} pages)`, walHeader, walRows),
);
out.write(`\n${queries}\n\n`);
rmSync(dir, { recursive: true, force: true });
