/**
 * Why preprocessing is our own kernel: the same ROI-resize-normalise into a Float32 tensor, by the runtime's
 * Preprocessor and by sharp (resize to raw bytes, then normalise), for the demo's 512² frames and a 5 MP
 * Mono8 frame. Also heap growth per 1,000 calls, since sharp returns a new Buffer per call.
 */
import sharp from 'sharp';
import { Preprocessor } from '../runtime/inference/preprocess.ts';
import { FrameSlot } from '../runtime/frame/frame-slot.ts';
import { Prng } from '../sim/scenes/prng.ts';
import { gcNow, machine, stats, table } from './lib.ts';
import { envInt, scriptArgs } from '../training/script-args.ts';

const USAGE = `usage: npx tsx bench/preprocess.bench.ts   (or npm run bench -- preprocess)

Benchmark: the runtime's preprocessing kernel against sharp, 512² and 5 MP frames. No options; sizes from the environment (whole numbers ≥ 1):
  BENCH_PREPROCESS_N=300  calls per case`;
scriptArgs(process.argv.slice(2), { usage: USAGE });
const N = envInt('BENCH_PREPROCESS_N', 300, 1, 1e9);

function frame(w: number, h: number): FrameSlot {
  const s = new FrameSlot(0, w * h);
  s.width = w;
  s.height = h;
  const rng = new Prng(3);
  for (let i = 0; i < w * h; i++) s.data[i] = rng.int(0, 255);
  return s;
}

async function time(fn: () => unknown): Promise<{ p50: number; p99: number; heapKbPer1k: number }> {
  for (let i = 0; i < 30; i++) await fn();
  gcNow();
  const h0 = process.memoryUsage().heapUsed + process.memoryUsage().external;
  const samples: number[] = [];
  for (let i = 0; i < N; i++) {
    const t0 = performance.now();
    await fn();
    samples.push(performance.now() - t0);
  }
  const h1 = process.memoryUsage().heapUsed + process.memoryUsage().external;
  const s = stats(samples);
  return { p50: s.p50, p99: s.p99, heapKbPer1k: ((h1 - h0) / 1024) * (1000 / N) };
}

const rows: (string | number)[][] = [];
for (const [w, h, label] of [
  [512, 512, '512² → 256² (exact 2:1)'],
  [500, 500, '500² → 256² (bilinear)'],
  [2448, 2048, '5 MP → 256² (bilinear)'],
] as const) {
  const slot = frame(w, h);
  const out = new Float32Array(256 * 256);
  const pre = new Preprocessor({ width: 256, height: 256, channels: 1, layout: 'NCHW', mean: [0.5], std: [0.25] }, null);
  const own = await time(() => pre.run(slot, out));
  const viaSharp = await time(async () => {
    const buf = await sharp(slot.data.subarray(0, w * h), { raw: { width: w, height: h, channels: 1 } })
      .resize(256, 256, { kernel: 'linear' })
      .raw()
      .toBuffer();
    for (let i = 0; i < buf.length; i++) out[i] = (buf[i]! / 255 - 0.5) / 0.25;
  });
  rows.push([label, 'Preprocessor', own.p50, own.p99, own.heapKbPer1k, 1]);
  rows.push([label, 'sharp + normalise', viaSharp.p50, viaSharp.p99, viaSharp.heapKbPer1k, viaSharp.p50 / own.p50]);
}
process.stdout.write(`preprocess benchmark — ${machine()}, ${N} calls each, sharp.concurrency=${sharp.concurrency()}\n`);
process.stdout.write(
  table(
    'ROI resize + normalise into a 1×1×256×256 Float32 tensor (ms)',
    ['case', 'kernel', 'p50', 'p99', 'heap+external KB per 1k calls', 'p50 ratio vs ours'],
    rows,
  ),
);
process.stdout.write('\n');
