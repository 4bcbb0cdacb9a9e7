/**
 * Edge training of a PaDiM-style anomaly model from good parts (`linesight train anomaly`): images are read
 * and preprocessed by the runtime's own code (readFrameFile + Preprocessor), features come from the fixed
 * filter-bank graph run in onnxruntime, Gaussian statistics are fitted in JS, and the whole model (features +
 * Mahalanobis head) is written as one ONNX graph with model.yaml, golden files and a training report.
 *
 *   good images ──┬─ fit split (4 of 5) ── features ── mean/covariance ── ONNX graph
 *                 └─ calibration split (every 5th) ─┐
 *   bad images (optional) ──────────────────────────┴── image scores ── min/max, threshold ── model.yaml
 */
import { mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import * as ort from 'onnxruntime-node';
import { stringify } from 'yaml';
import { IMAGE_EXTENSIONS, readFrameFile } from '../../runtime/frame/decode-image.ts';
import { Preprocessor, type PreprocessSpec } from '../../runtime/inference/preprocess.ts';
import { measureInputFeatures, summariseInputFeatures, emptyInputFeatures } from '../../runtime/inference/input-stats.ts';
import { AnomalyMapDecoder } from '../../runtime/inference/decoders/anomaly-map.ts';
import { ModelManifestSchema, type AnomalyMapDecoderSpec } from '../../runtime/inference/model-manifest.ts';
import { GraphBuilder } from '../onnx/graph-builder.ts';
import { f1OptimalThreshold, sha256, writeGoldenFiles } from '../common.ts';
import { writeGoldenFrameFromFile } from '../golden/write-golden-frame.ts';
import {
  FIXTURED_CHANNELS,
  FIXTURED_STRIDE,
  fitFixturedStats,
  fitTextureStats,
  fixturedFeatures,
  fixturedHead,
  TEXTURE_CHANNELS,
  textureEnergies,
  textureHead,
} from './features.ts';

export type TrainMode = 'fixtured' | 'texture' | 'auto';

export interface TrainOptions {
  good: string;
  bad?: string;
  out: string;
  size?: number;
  mode?: TrainMode;
  name?: string;
  threads?: number;
  /** Top-k for the image score (top-k mean of the map). */
  topk?: number;
  log?: (line: string) => void;
}

export interface TrainReport {
  name: string;
  mode: 'fixtured' | 'texture';
  modeReason: string;
  size: number;
  images: { good: number; fit: number; calibrationGood: number; bad: number };
  normalization: { min: number; max: number; imageThreshold: number; pixelThreshold: number };
  thresholdRule: string;
  calibrationScores: { good: number[]; bad: number[] };
  seconds: { load: number; features: number; fit: number; calibrate: number; total: number };
  sha256: string;
  onnxBytes: number;
}

export const INPUT = 'image';
export const MAP = 'anomaly_map';
const MEAN = 0.5;
const STD = 0.25;

export function listImages(dir: string): string[] {
  return readdirSync(dir)
    .filter((f) => IMAGE_EXTENSIONS.has(path.extname(f).toLowerCase()))
    .sort()
    .map((f) => path.join(dir, f));
}

/** Decode + preprocess exactly as the line does (Mono8, bilinear half-pixel resize, (p/255 − 0.5)/0.25). */
export async function loadInputs(files: readonly string[], size: number, onFile?: (i: number) => void): Promise<Float32Array[]> {
  const pre = new Preprocessor({ width: size, height: size, channels: 1, layout: 'NCHW', mean: [MEAN], std: [STD] }, null);
  const out: Float32Array[] = [];
  for (let i = 0; i < files.length; i++) {
    const slot = await readFrameFile(files[i]!, 'Mono8');
    const x = new Float32Array(size * size);
    pre.run(slot, x);
    out.push(x);
    onFile?.(i);
  }
  return out;
}

/**
 * Fixtured or texture? Block-average to 64², high-pass (minus a 7×7 box mean: illumination and vignetting,
 * which every part shares, drop out), standardise each image; for aligned parts the mean of the standardised
 * images keeps their structure (variance near 1), for textures with random phase it averages away (≈ 1/n).
 */
export function alignmentRatio(inputs: readonly Float32Array[], size: number): number {
  const G = 64;
  const b = size / G;
  const mean = new Float64Array(G * G);
  const hp = new Float64Array(G * G);
  for (const x of inputs) {
    const lo = new Float64Array(G * G);
    for (let y = 0; y < size; y++) for (let xx = 0; xx < size; xx++) lo[Math.floor(y / b) * G + Math.floor(xx / b)]! += x[y * size + xx]!;
    for (let y = 0; y < G; y++)
      for (let xx = 0; xx < G; xx++) {
        let s = 0;
        let n = 0;
        for (let dy = -3; dy <= 3; dy++)
          for (let dx = -3; dx <= 3; dx++) {
            const yy = y + dy;
            const xq = xx + dx;
            if (yy < 0 || xq < 0 || yy >= G || xq >= G) continue;
            s += lo[yy * G + xq]!;
            n++;
          }
        hp[y * G + xx] = lo[y * G + xx]! - s / n;
      }
    let m = 0;
    for (const v of hp) m += v / hp.length;
    let q = 0;
    for (const v of hp) q += (v - m) ** 2 / hp.length;
    const sd = Math.sqrt(q) || 1;
    for (let i = 0; i < hp.length; i++) mean[i]! += (hp[i]! - m) / sd / inputs.length;
  }
  let v = 0;
  for (const m of mean) v += (m * m) / mean.length;
  const n = inputs.length;
  return (v - 1 / n) / (1 - 1 / n);
}

async function session(bytes: Uint8Array, threads: number): Promise<ort.InferenceSession> {
  return ort.InferenceSession.create(bytes, { intraOpNumThreads: threads, interOpNumThreads: 1, graphOptimizationLevel: 'all' });
}

async function run(s: ort.InferenceSession, x: Float32Array, size: number, out: string): Promise<Float32Array> {
  const r = await s.run({ [INPUT]: new ort.Tensor('float32', x, [1, 1, size, size]) });
  return (r[out]!.data as Float32Array).slice();
}

function energyGraph(size: number): Uint8Array {
  const g = new GraphBuilder('energy');
  g.addInput(INPUT, [1, 1, size, size]);
  g.op('Identity', [textureEnergies(g, INPUT).energy], undefined, 'energy');
  g.addOutput('energy', [1, TEXTURE_CHANNELS, size, size]);
  return g.toBytes();
}

/** Percentile-free small-sample threshold: max(highest good score, mean + 2.576·sd) (99.5th of a normal fit). */
function goodOnlyThreshold(scores: readonly number[]): number {
  const n = scores.length;
  const m = scores.reduce((a, b) => a + b, 0) / n;
  const sd = Math.sqrt(scores.reduce((a, b) => a + (b - m) ** 2, 0) / Math.max(1, n - 1));
  return Math.max(Math.max(...scores), m + 2.576 * sd);
}

export async function trainAnomaly(o: TrainOptions): Promise<TrainReport> {
  const log = o.log ?? (() => {});
  const size = o.size ?? 256;
  const threads = o.threads ?? 2;
  const topk = o.topk ?? 16;
  const name = o.name ?? path.basename(path.resolve(o.out));
  const t0 = performance.now();
  const sec = (): number => (performance.now() - t0) / 1000;
  const progress = (what: string, i: number, n: number): void => {
    if (i + 1 === n || (i + 1) % 10 === 0) log(`[${sec().toFixed(1)}s] ${what} ${i + 1}/${n}`);
  };

  const goodFiles = listImages(o.good);
  const badFiles = o.bad ? listImages(o.bad) : [];
  if (goodFiles.length < 4) throw new Error(`need at least 4 good images in ${o.good}, found ${goodFiles.length}`);
  const good = await loadInputs(goodFiles, size, (i) => progress('read good', i, goodFiles.length));
  const bad = await loadInputs(badFiles, size, (i) => progress('read bad', i, badFiles.length));
  const tLoad = sec();

  // every 5th good part calibrates the threshold (scores on the fitted parts themselves are optimistic)
  const holdOut = good.length >= 10;
  const fit = good.filter((_, i) => !holdOut || i % 5 !== 4);
  const cal = holdOut ? good.filter((_, i) => i % 5 === 4) : good;
  const ratio = alignmentRatio(good, size);
  const mode: 'fixtured' | 'texture' = o.mode && o.mode !== 'auto' ? o.mode : ratio > 0.25 ? 'fixtured' : 'texture';
  const modeReason =
    o.mode && o.mode !== 'auto'
      ? `--mode ${o.mode} (alignment ratio ${ratio.toFixed(3)})`
      : `auto: alignment ratio ${ratio.toFixed(3)} ${ratio > 0.25 ? '>' : '≤'} 0.25`;
  log(
    `[${sec().toFixed(1)}s] mode ${mode} (${modeReason}); fitting on ${fit.length}, calibrating on ${cal.length} good${bad.length ? ` + ${bad.length} bad` : ''}`,
  );

  // features and statistics
  const eSess = await session(energyGraph(size), threads);
  const energies: Float32Array[] = [];
  for (let i = 0; i < fit.length; i++) {
    energies.push(await run(eSess, fit[i]!, size, 'energy'));
    progress('features', i, fit.length);
  }
  await eSess.release();
  const tFeat = sec();
  const g = new GraphBuilder(
    `linesight_${mode}_anomaly`,
    `Linesight edge-trained ${mode} anomaly model (filter bank + Mahalanobis), from ${fit.length} good parts`,
  );
  g.addInput(INPUT, [1, 1, size, size]);
  if (mode === 'texture') {
    const border = Math.round((12 * size) / 256);
    const stats = fitTextureStats(energies, size, border, 3, 0.02);
    textureHead(g, textureEnergies(g, INPUT).energy, stats, { size, border, mapName: MAP });
  } else {
    const P = size * size;
    const meanE = new Float64Array(TEXTURE_CHANNELS);
    for (const e of energies)
      for (let c = 0; c < TEXTURE_CHANNELS; c++) for (let i = 0; i < P; i++) meanE[c]! += e[c * P + i]! / (P * energies.length);
    const eps = Float32Array.from(meanE, (v) => 0.02 * v);
    const h = size / FIXTURED_STRIDE;
    const fg = new GraphBuilder('fixtured_features');
    fg.addInput(INPUT, [1, 1, size, size]);
    fg.op('Identity', [fixturedFeatures(fg, INPUT, eps)], undefined, 'features');
    fg.addOutput('features', [1, FIXTURED_CHANNELS, h, h]);
    const fSess = await session(fg.toBytes(), threads);
    const feats: Float32Array[] = [];
    for (let i = 0; i < fit.length; i++) {
      feats.push(await run(fSess, fit[i]!, size, 'features'));
      progress('cell features', i, fit.length);
    }
    await fSess.release();
    const stats = fitFixturedStats(feats, eps, h, h);
    fixturedHead(g, fixturedFeatures(g, INPUT, eps), stats, size, MAP);
  }
  energies.length = 0;
  const bytes = g.toBytes();
  const tFit = sec();
  log(`[${tFit.toFixed(1)}s] statistics fitted; graph ${(bytes.length / 1024).toFixed(0)} KiB`);

  // calibration through the runtime's decoder (top-k mean of the map)
  const spec: AnomalyMapDecoderSpec = {
    kind: 'anomaly-map',
    mapOutput: MAP,
    imageScore: { rule: 'topk-mean', k: topk },
    normalization: { min: 0, max: 1, imageThreshold: 0, pixelThreshold: Infinity },
    threshold: 0.5,
    minRegionAreaPx: 4,
  };
  const dec = new AnomalyMapDecoder(spec, [1, 1, size, size]);
  const sess = await session(bytes, threads);
  const score = async (x: Float32Array): Promise<number> => {
    dec.decode(await run(sess, x, size, MAP), null);
    return dec.rawScore;
  };
  const goodScores: number[] = [];
  for (let i = 0; i < cal.length; i++) {
    goodScores.push(await score(cal[i]!));
    progress('calibrate good', i, cal.length);
  }
  const badScores: number[] = [];
  for (let i = 0; i < bad.length; i++) {
    badScores.push(await score(bad[i]!));
    progress('calibrate bad', i, bad.length);
  }
  await sess.release();
  let threshold: number;
  let thresholdRule: string;
  if (badScores.length > 0) {
    const f1 = f1OptimalThreshold([...goodScores, ...badScores], [...goodScores.map(() => false), ...badScores.map(() => true)]);
    threshold = f1.threshold;
    thresholdRule = `F1-optimal over ${goodScores.length} held-out good + ${badScores.length} bad images (F1 ${f1.f1.toFixed(3)})`;
  } else {
    threshold = goodOnlyThreshold(goodScores);
    thresholdRule = `good only: max(highest good score, mean + 2.576·sd) over ${goodScores.length} ${holdOut ? 'held-out' : 'in-sample (fewer than 10 given)'} good images`;
  }
  const all = [...goodScores, ...badScores];
  const min = Math.min(...all);
  // with good parts only the max is the threshold region; keep the scale non-degenerate (threshold ↦ 0.5)
  const max = Math.max(...all, 2 * threshold - min);
  const normalization = { min: r6(min), max: r6(max), imageThreshold: r6(threshold), pixelThreshold: r6(threshold) };
  const tCal = sec();

  // files
  mkdirSync(o.out, { recursive: true });
  const onnxName = 'model.onnx';
  writeFileSync(path.join(o.out, onnxName), bytes);
  // golden output from a single-threaded session, as the line runs it by default
  const gSess = await session(bytes, 1);
  const goldenIn = cal[0]!;
  const goldenOut = await run(gSess, goldenIn, size, MAP);
  await gSess.release();
  writeGoldenFiles(o.out, goldenIn, { [MAP]: goldenOut });
  const hash = sha256(bytes);
  const manifest = {
    name,
    version: '1.0.0',
    onnx: onnxName,
    sha256: hash,
    description: `Edge-trained ${mode} anomaly model (PaDiM-style filter bank + Mahalanobis) from ${fit.length} good parts`,
    input: { name: INPUT, shape: [1, 1, size, size], layout: 'NCHW', pixelFormat: 'Mono8', normalization: { mean: [MEAN], std: [STD] } },
    decoder: { ...spec, normalization },
    // what the good parts look like to the model: the runtime's in-distribution check (runtime/inference/input-stats.ts)
    inputStats: goodInputStats(good, size),
    // absolute, on map values of order 1–10: covers kernel differences between thread counts
    golden: { input: 'golden-input.f32', output: 'golden-output.json', tolerance: 1e-3 },
  };
  ModelManifestSchema.parse(manifest);
  writeFileSync(path.join(o.out, 'model.yaml'), stringify(manifest));
  // the golden frame: the engineer's own good image behind the golden input (cal[0]), through decode + preprocessing
  await writeGoldenFrameFromFile(o.out, goodFiles[holdOut ? 4 : 0]!);
  const report: TrainReport = {
    name,
    mode,
    modeReason,
    size,
    images: { good: good.length, fit: fit.length, calibrationGood: cal.length, bad: bad.length },
    normalization,
    thresholdRule,
    calibrationScores: { good: goodScores.map(r6), bad: badScores.map(r6) },
    seconds: { load: r1(tLoad), features: r1(tFeat - tLoad), fit: r1(tFit - tFeat), calibrate: r1(tCal - tFit), total: r1(sec()) },
    sha256: hash,
    onnxBytes: bytes.length,
  };
  writeFileSync(path.join(o.out, 'train-report.json'), `${JSON.stringify(report, null, 1)}\n`);
  log(`[${sec().toFixed(1)}s] wrote ${o.out}/model.yaml (threshold ${threshold.toFixed(4)}: ${thresholdRule})`);
  return report;
}

/** model.yaml `inputStats` over every good image given (fit and calibration split alike). */
export function goodInputStats(good: readonly Float32Array[], size: number): ReturnType<typeof summariseInputFeatures> {
  const spec: PreprocessSpec = { width: size, height: size, channels: 1, layout: 'NCHW', mean: [MEAN], std: [STD] };
  return summariseInputFeatures(good.map((x) => measureInputFeatures(x, spec, emptyInputFeatures())));
}

const r6 = (v: number): number => Math.round(v * 1e6) / 1e6;
const r1 = (v: number): number => Math.round(v * 10) / 10;
