/**
 * What the frame-acceptance gate costs on the frame path: frame statistics (exposure, contrast, flat tiles,
 * Laplacian focus) on the station's frame and one model's input check, against the baseline of the same
 * frame's preprocessing into a 256² tensor, measured in the same run. 512² is the demo station's frame; 5 MP
 * Mono8 and 2 MP RGB8 are camera frames (sampled on a grid, see runtime/frame/frame-stats.ts).
 */
import { FrameSlot } from '../runtime/frame/frame-slot.ts';
import { Preprocessor, type PreprocessSpec } from '../runtime/inference/preprocess.ts';
import { DEFAULT_ACCEPTANCE, FrameGate } from '../runtime/pipeline/frame-gate.ts';
import { measureInputFeatures, emptyInputFeatures } from '../runtime/inference/input-stats.ts';
import { renderSurface } from '../sim/scenes/surface.ts';
import { gcNow, machine, stats, table } from './lib.ts';
import { envInt, scriptArgs } from '../training/script-args.ts';

const USAGE = `usage: npx tsx bench/frame-gate.bench.ts   (or npm run bench -- frame-gate)

Benchmark: the frame-acceptance gate's frame statistics and model-input check against preprocessing the same frame.
No options; sizes from the environment (whole numbers ≥ 1):
  BENCH_GATE_N=500  calls per case`;
scriptArgs(process.argv.slice(2), { usage: USAGE });
const N = envInt('BENCH_GATE_N', 500, 1, 1e9);

function frame(w: number, h: number, format: 'Mono8' | 'RGB8'): FrameSlot {
  const channels = format === 'Mono8' ? 1 : 3;
  const s = new FrameSlot(0, w * h * channels);
  s.width = w;
  s.height = h;
  s.pixelFormat = format;
  const mono = new Uint8Array(w * h);
  renderSurface({ seed: 1, width: w, height: h, defect: null }, mono);
  for (let i = 0; i < w * h; i++) for (let c = 0; c < channels; c++) s.data[i * channels + c] = mono[i]!;
  return s;
}

function time(fn: () => unknown): { p50: number; p99: number; heapKbPer1k: number } {
  for (let i = 0; i < 50; i++) fn();
  gcNow();
  const h0 = process.memoryUsage().heapUsed;
  const samples: number[] = [];
  for (let i = 0; i < N; i++) {
    const t0 = performance.now();
    fn();
    samples.push(performance.now() - t0);
  }
  const h1 = process.memoryUsage().heapUsed;
  const s = stats(samples);
  return { p50: s.p50, p99: s.p99, heapKbPer1k: ((h1 - h0) / 1024) * (1000 / N) };
}

const spec: PreprocessSpec = { width: 256, height: 256, channels: 1, layout: 'NCHW', mean: [0.5], std: [0.25] };
const rows: (string | number)[][] = [];
for (const [w, h, format, label] of [
  [512, 512, 'Mono8', '512² Mono8 (demo)'],
  [2448, 2048, 'Mono8', '5 MP Mono8'],
  [1920, 1080, 'RGB8', '2 MP RGB8'],
] as const) {
  const slot = frame(w, h, format);
  const tensor = new Float32Array(256 * 256);
  const pre = new Preprocessor(spec, null);
  const gate = new FrameGate(DEFAULT_ACCEPTANCE, { width: w, height: h }, null);
  const measurements: Record<string, number> = {};
  const features = emptyInputFeatures();
  const base = time(() => pre.run(slot, tensor));
  const frameStats = time(() => gate.checkFrame(slot, measurements));
  const inputCheck = time(() => measureInputFeatures(tensor, spec, features));
  rows.push([label, 'preprocess → 256² (baseline)', base.p50, base.p99, base.heapKbPer1k, 1]);
  rows.push([label, 'gate: frame statistics + checks', frameStats.p50, frameStats.p99, frameStats.heapKbPer1k, frameStats.p50 / base.p50]);
  rows.push([label, 'gate: model input features (256²)', inputCheck.p50, inputCheck.p99, inputCheck.heapKbPer1k, inputCheck.p50 / base.p50]);
}
process.stdout.write(`frame-gate benchmark — ${machine()}, ${N} calls each\n`);
process.stdout.write(
  table('Frame-acceptance gate per frame (ms)', ['frame', 'stage', 'p50', 'p99', 'heap KB per 1k calls', 'p50 ratio vs preprocess'], rows),
);
process.stdout.write('\n');
