/**
 * Model costs: inference latency of every shipped model at its shipped input size with 1 and 2 onnxruntime
 * intra-op threads (OnnxModel.run on its preallocated tensors, as the station calls it), and the wall time of
 * edge training (`linesight train anomaly`) from 50 good 512² parts, texture and fixtured. Parts are exported
 * to PNG first (not timed): training time includes PNG decoding and preprocessing, as on the edge box.
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { OnnxModel } from '../runtime/inference/onnx-model.ts';
import { exportParts } from '../training/data/export.ts';
import { trainAnomaly } from '../training/edge/padim.ts';
import { machine, stats, table } from './lib.ts';
import { envInt, scriptArgs } from '../training/script-args.ts';

const USAGE = `usage: npx tsx bench/models.bench.ts   (or npm run bench -- models)

Benchmark: inference latency of every shipped model (1 and 2 intra-op threads) and edge training wall time. No options; sizes from the environment (whole numbers ≥ 1):
  BENCH_MODELS_N=50  runs per model`;
scriptArgs(process.argv.slice(2), { usage: USAGE });
const N = envInt('BENCH_MODELS_N', 50, 1, 1e9);
const root = join(import.meta.dirname, '..', 'models');
const MODELS = ['surface-anomaly', 'drilling-defects', 'surface-segmenter', 'hole-defects'];

const rows: (string | number)[][] = [];
for (const name of MODELS) {
  const manifest = join(root, name, 'model.yaml');
  if (!existsSync(manifest)) continue;
  for (const threads of [1, 2]) {
    const m = await OnnxModel.load(manifest, { intraOpThreads: threads });
    for (let i = 0; i < m.input.length; i++) m.input[i] = Math.sin(i * 0.01);
    for (let i = 0; i < 5; i++) await m.run();
    const samples: number[] = [];
    for (let i = 0; i < N; i++) {
      const t0 = performance.now();
      await m.run();
      samples.push(performance.now() - t0);
    }
    const s = stats(samples);
    rows.push([name, m.manifest.input.shape.join('×'), String(threads), s.p50, s.p99, s.mean]);
    await m.close();
  }
}
process.stdout.write(`models benchmark — ${machine()}, ${N} runs each after 5 warm-up runs\n`);
process.stdout.write(table('Inference latency (ms)', ['model', 'input', 'intra-op threads', 'p50', 'p99', 'mean'], rows));
process.stdout.write('\n');

const dir = mkdtempSync(join(tmpdir(), 'ls-bench-train-'));
try {
  const trows: (string | number)[][] = [];
  await exportParts({ kind: 'surface', count: 50, seed: 900_000, out: join(dir, 'cast'), defectRate: 0, family: 'cast' });
  await exportParts({ kind: 'holes', count: 50, seed: 910_000, out: join(dir, 'plates'), defectRate: 0 });
  for (const [label, sub, mode] of [
    ['cast texture, 50 × 512²', 'cast', 'texture'],
    ['drilled plate, 50 × 512²', 'plates', 'fixtured'],
  ] as const) {
    const t0 = performance.now();
    const r = await trainAnomaly({ good: join(dir, sub, 'good'), out: join(dir, `m-${sub}`), size: 256, mode, threads: 2 });
    const wall = (performance.now() - t0) / 1000;
    trows.push([label, r.mode, r.seconds.load, r.seconds.features, r.seconds.fit, r.seconds.calibrate, wall, (r.onnxBytes / 1024).toFixed(0)]);
  }
  process.stdout.write(
    table(
      'Edge training from 50 good parts, 256² model, 2 threads (s; target < 60 s)',
      ['parts', 'mode', 'read+preprocess', 'features', 'fit', 'calibrate', 'total wall', 'ONNX KiB'],
      trows,
    ),
  );
  process.stdout.write('\n');
} finally {
  rmSync(dir, { recursive: true, force: true });
}
