/**
 * Fits, calibrates and evaluates the surface anomaly model on generated parts, then writes the model folder.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { InferenceSession } from 'onnxruntime-node';
import { stringify } from 'yaml';
import { ModelManifestSchema } from '../../../runtime/inference/model-manifest.ts';
import { auroc, binaryStats, createSession, f1OptimalThreshold, round, runFloat, sha256, writeGoldenFiles } from '../../common.ts';
import {
  renderSurface,
  SURFACE_DEFECTS,
  SURFACE_FAMILIES,
  type SurfaceDefectKind,
  type SurfaceFamily,
  type SurfaceTruth,
} from '../../../sim/scenes/surface.ts';
import { resizeBilinearMono8ToFloat } from '../../../sim/scenes/resize.ts';
import { fitTextureStats } from '../../edge/features.ts';
import { writeShippedGoldenFrame } from '../../golden/write-golden-frame.ts';
import {
  BORDER,
  BROAD_DOG,
  buildAnomalyGraph,
  buildEnergyGraph,
  CHANNELS,
  FILTER_NAMES,
  INPUT,
  MAP,
  SCORE,
  SIZE,
  type SurfaceStats,
} from './graph.ts';

export const RENDER = 512;
export const MEAN = 0.5;
export const STD = 0.25;
export const SEEDS = {
  trainGood: { start: 10_000, count: 48 },
  valGood: { start: 20_000, count: 32 },
  valDefect: { start: 21_000, count: 32 },
  testGood: { start: 30_000, count: 80 },
  testDefect: { start: 31_000, count: 80 },
  confirmGood: { start: 50_000, count: 80 },
  confirmDefect: { start: 51_000, count: 80 },
  golden: 31_001,
} as const;
export const EPS_FRACTION = 0.02;
export const PIXEL_STRIDE = 3;

export interface SurfacePart {
  seed: number;
  family: SurfaceFamily;
  defect: SurfaceDefectKind | null;
}

/** The i-th part of a seed block: families cycle fastest, then defect kinds. */
export function surfacePart(start: number, i: number, defective: boolean): SurfacePart {
  return {
    seed: start + i,
    family: SURFACE_FAMILIES[i % 4]!,
    defect: defective ? SURFACE_DEFECTS[Math.floor(i / 4) % 4]! : null,
  };
}

const img = new Uint8Array(RENDER * RENDER);
/** Render a part at 512×512 and preprocess it exactly as the runtime does; returns a fresh input tensor. */
export function surfaceInput(p: SurfacePart): { x: Float32Array; truth: SurfaceTruth } {
  const truth = renderSurface({ seed: p.seed, width: RENDER, height: RENDER, family: p.family, defect: p.defect }, img);
  const x = new Float32Array(SIZE * SIZE);
  resizeBilinearMono8ToFloat(img, RENDER, RENDER, x, SIZE, SIZE, MEAN, STD);
  return { x, truth };
}

/** Truth mask at map resolution: a map pixel is defective when ≥ 2 of its 4 source pixels are. */
function mapMask(mask: Uint8Array | undefined): Uint8Array {
  const out = new Uint8Array(SIZE * SIZE);
  if (!mask) return out;
  for (let y = 0; y < SIZE; y++)
    for (let x = 0; x < SIZE; x++) {
      const i = 2 * y * RENDER + 2 * x;
      out[y * SIZE + x] = mask[i]! + mask[i + 1]! + mask[i + RENDER]! + mask[i + RENDER + 1]! >= 2 ? 1 : 0;
    }
  return out;
}

function fitStats(energyMaps: Float32Array[]): SurfaceStats {
  return fitTextureStats(energyMaps, SIZE, BORDER, PIXEL_STRIDE, EPS_FRACTION);
}

async function scoreParts(
  session: InferenceSession,
  parts: SurfacePart[],
): Promise<{ part: SurfacePart; score: number; map: Float32Array; truth: SurfaceTruth }[]> {
  const out = [];
  for (const part of parts) {
    const { x, truth } = surfaceInput(part);
    const r = await runFloat(session, INPUT, x, [1, 1, SIZE, SIZE]);
    out.push({ part, score: r[SCORE]![0]!, map: r[MAP]!, truth });
  }
  return out;
}

const block = (b: { start: number; count: number }, defective: boolean): SurfacePart[] =>
  Array.from({ length: b.count }, (_, i) => surfacePart(b.start, i, defective));

async function evaluate(
  session: InferenceSession,
  goodBlock: { start: number; count: number },
  badBlock: { start: number; count: number },
  threshold: number,
): Promise<Record<string, unknown>> {
  const test = [...(await scoreParts(session, block(goodBlock, false))), ...(await scoreParts(session, block(badBlock, true)))];
  const tScores = test.map((r) => r.score);
  const tLabels = test.map((r) => r.part.defect !== null);
  const overall = binaryStats(
    tScores.map((s) => s >= threshold),
    tLabels,
  );
  const goods = test.filter((r) => r.part.defect === null);
  const perDefect: Record<string, unknown> = {};
  for (const d of SURFACE_DEFECTS) {
    const bad = test.filter((r) => r.part.defect === d);
    const sub = [...goods, ...bad];
    perDefect[d] = {
      auroc: round(
        auroc(
          sub.map((r) => r.score),
          sub.map((r) => r.part.defect !== null),
        ),
      ),
      recall: round(bad.filter((r) => r.score >= threshold).length / bad.length),
      n: bad.length,
    };
  }
  const perFamily: Record<string, unknown> = {};
  for (const f of SURFACE_FAMILIES) {
    const sub = test.filter((r) => r.part.family === f);
    const g = sub.filter((r) => r.part.defect === null);
    perFamily[f] = {
      auroc: round(
        auroc(
          sub.map((r) => r.score),
          sub.map((r) => r.part.defect !== null),
        ),
      ),
      falsePositiveRate: round(g.filter((r) => r.score >= threshold).length / g.length),
    };
  }
  return {
    parts: { good: goodBlock.count, defective: badBlock.count, seeds: [goodBlock.start, badBlock.start] },
    imageAUROC: round(auroc(tScores, tLabels)),
    accuracy: round(overall.accuracy),
    precision: round(overall.precision),
    recall: round(overall.recall),
    f1: round(overall.f1),
    confusion: { tp: overall.tp, fp: overall.fp, fn: overall.fn, tn: overall.tn },
    perDefect,
    perFamily,
  };
}

export async function buildSurfaceAnomaly(dir: string, log: (s: string) => void): Promise<Record<string, unknown>> {
  mkdirSync(dir, { recursive: true });
  // 1. Good-texture statistics from training goods.
  const energySession = await createSession(buildEnergyGraph());
  const maps: Float32Array[] = [];
  for (const part of block(SEEDS.trainGood, false)) {
    const { x } = surfaceInput(part);
    maps.push((await runFloat(energySession, INPUT, x, [1, 1, SIZE, SIZE])).energy!.slice());
  }
  const stats = fitStats(maps);
  maps.length = 0;
  const doc = 'Linesight surface anomaly demo: fixed filter bank + Mahalanobis log-energy distance; trained on synthetic data only.';
  const bytes = buildAnomalyGraph(stats, doc);
  const session = await createSession(bytes);
  log(`surface-anomaly: fitted ${CHANNELS}-channel statistics on ${SEEDS.trainGood.count} good parts`);

  // 2. Calibration on validation parts.
  const val = [...(await scoreParts(session, block(SEEDS.valGood, false))), ...(await scoreParts(session, block(SEEDS.valDefect, true)))];
  const vScores = val.map((r) => r.score);
  const vLabels = val.map((r) => r.part.defect !== null);
  const minS = Math.min(...vScores);
  const maxS = Math.max(...vScores);
  const imgThr = f1OptimalThreshold(vScores, vLabels);
  // pixel threshold: F1-optimal over all validation map pixels, by histogram
  const bins = 4096;
  let pMax = 0;
  for (const r of val) for (const v of r.map) if (v > pMax) pMax = v;
  const pos = new Float64Array(bins);
  const neg = new Float64Array(bins);
  for (const r of val) {
    const mm = mapMask(r.truth.mask);
    for (let i = 0; i < r.map.length; i++) {
      const b = Math.min(bins - 1, Math.floor((r.map[i]! / pMax) * bins));
      if (mm[i]) pos[b]!++;
      else neg[b]!++;
    }
  }
  const nPos = pos.reduce((a, b) => a + b, 0);
  let tp = 0;
  let fp = 0;
  let pix = { threshold: pMax, f1: 0 };
  for (let b = bins - 1; b >= 0; b--) {
    tp += pos[b]!;
    fp += neg[b]!;
    const f1 = (2 * tp) / (tp + fp + nPos);
    if (f1 > pix.f1) pix = { threshold: (b / bins) * pMax, f1 };
  }
  log(
    `surface-anomaly: val image F1 ${imgThr.f1.toFixed(3)} @ ${imgThr.threshold.toFixed(4)}, pixel F1 ${pix.f1.toFixed(3)} @ ${pix.threshold.toFixed(4)}`,
  );

  // 3. Held-out evaluation: the test block (also looked at while choosing the broad-DoG scale) and a fresh
  // confirmation block evaluated only once the design was frozen.
  const metrics = await evaluate(session, SEEDS.testGood, SEEDS.testDefect, imgThr.threshold);
  const confirmation = await evaluate(session, SEEDS.confirmGood, SEEDS.confirmDefect, imgThr.threshold);
  Object.assign(metrics, { validation: { imageF1: round(imgThr.f1), pixelF1: round(pix.f1) } });
  log(`surface-anomaly: held-out ${JSON.stringify(metrics)}`);
  log(`surface-anomaly: confirmation ${JSON.stringify(confirmation)}`);

  // 4. Files.
  const onnxName = 'surface-anomaly.onnx';
  writeFileSync(join(dir, onnxName), bytes);
  const golden = surfaceInput(surfacePart(SEEDS.testDefect.start, 1, true));
  const gOut = await runFloat(session, INPUT, golden.x, [1, 1, SIZE, SIZE]);
  writeGoldenFiles(dir, golden.x, { [MAP]: gOut[MAP]!, [SCORE]: gOut[SCORE]! });
  const hash = sha256(bytes);
  const manifest = {
    name: 'surface-anomaly',
    version: '1.0.0',
    onnx: onnxName,
    sha256: hash,
    description:
      'Texture anomaly map for brushed, cast, painted and CFRP surfaces (fixed filter bank + Mahalanobis distance); trained on synthetic data only',
    input: { name: INPUT, shape: [1, 1, SIZE, SIZE], layout: 'NCHW', pixelFormat: 'Mono8', normalization: { mean: [MEAN], std: [STD] } },
    decoder: {
      kind: 'anomaly-map',
      mapOutput: MAP,
      scoreOutput: SCORE,
      imageScore: { rule: 'max', k: 16 },
      normalization: {
        min: round(minS, 6),
        max: round(maxS, 6),
        imageThreshold: round(imgThr.threshold, 6),
        pixelThreshold: round(pix.threshold, 6),
      },
      threshold: 0.5,
      minRegionAreaPx: 4,
    },
    golden: { input: 'golden-input.f32', output: 'golden-output.json', tolerance: 1e-4 },
  };
  ModelManifestSchema.parse(manifest);
  writeFileSync(join(dir, 'model.yaml'), stringify(manifest));
  await writeShippedGoldenFrame(dir);
  writeFileSync(join(dir, 'README.md'), modelCard(hash, bytes.length, manifest.decoder.normalization, metrics, confirmation));
  return { heldOut: metrics, confirmation };
}

function modelCard(hash: string, size: number, norm: Record<string, number>, m: Record<string, unknown>, conf: Record<string, unknown>): string {
  return `# surface-anomaly (v1.0.0)

Texture anomaly detector for the Linesight demo line, **trained on synthetic data only** (no real images, no
pretrained weights). Built by \`npm run build:models\` from \`training/demo/surface-anomaly/\`; deterministic.

## What it computes
Input \`${INPUT}\` [1,1,${SIZE},${SIZE}] NCHW, Mono8 resized from the 512×512 frame (bilinear, half-pixel centres) and
normalised as (p/255 − 0.5)/0.25.

1. band-pass: x − Gσ=6(x) (reflect borders), divided by its global RMS (removes illumination, gain and offset);
2. fixed 15×15 filter bank on the normalised band-pass, ${FILTER_NAMES.length} channels: ${FILTER_NAMES.join(', ')}; plus one broad
   DoG channel (Gσ=${BROAD_DOG[0]} − Gσ=${BROAD_DOG[1]} of the input, same global scaling) for soft stains;
3. squared response, Gaussian-smoothed (σ=2) → local energy; log(e + ε_c) with ε_c = ${EPS_FRACTION} × mean training energy;
4. per-image standardisation of each log-energy channel (subtract its spatial mean, divide by its spatial std): the
   texture family's level and spread drop out, so one set of statistics serves all four families;
5. Mahalanobis distance to the good-texture distribution (mean μ and full ${CHANNELS}×${CHANNELS} covariance, Cholesky
   whitening as a 1×1 Conv), smoothed (σ=2), zeroed within ${BORDER} px of the frame edge (reflect-padding artefacts of
   oriented textures), square root → \`${MAP}\` [1,1,${SIZE},${SIZE}];
6. \`${SCORE}\` [1] = max of the map.

## Training / calibration
- Statistics μ, Σ: ${SEEDS.trainGood.count} good parts, seeds ${SEEDS.trainGood.start}…${SEEDS.trainGood.start + SEEDS.trainGood.count - 1}
  (families cycle brushed, cast, painted, cfrp), every ${PIXEL_STRIDE}rd pixel in each direction, shrinkage 1e-3·tr(Σ)/C.
- Calibration (decoder.normalization): ${SEEDS.valGood.count} good (seeds ${SEEDS.valGood.start}…) + ${SEEDS.valDefect.count} defective
  (seeds ${SEEDS.valDefect.start}…, scratch/dent/stain/crack × 4 families). min/max = extremes of raw image scores;
  imageThreshold = F1-optimal raw score (anomalib style); pixelThreshold = F1-optimal over all validation map pixels
  against the generator's masks (a map pixel is defective when ≥2 of its 4 source pixels are).
- normalization: min ${norm.min}, max ${norm.max}, imageThreshold ${norm.imageThreshold}, pixelThreshold ${norm.pixelThreshold}.

## Measured metrics (held-out seeds, never used for fitting or calibration)
Thresholded numbers use imageThreshold (raw score ≥ ${norm.imageThreshold} ⇒ anomalous, i.e. normalised score ≥ 0.5).

**Confirmation block** — ${SEEDS.confirmGood.count} good (seeds ${SEEDS.confirmGood.start}…) + ${SEEDS.confirmDefect.count} defective (seeds ${SEEDS.confirmDefect.start}…),
evaluated only after the design was frozen (the honest number):

\`\`\`json
${JSON.stringify(conf, null, 2)}
\`\`\`

**Test block** — ${SEEDS.testGood.count} good (seeds ${SEEDS.testGood.start}…) + ${SEEDS.testDefect.count} defective (seeds ${SEEDS.testDefect.start}…). The design was
iterated while looking at this block (adding per-image standardisation, the edge band and the broad-DoG channel, then
comparing σ 3−14, 2−10, 4−16, 3−20 and keeping 2−10), so it is optimistic:

\`\`\`json
${JSON.stringify(m, null, 2)}
\`\`\`

## Limits
The brief's target was image AUROC ≥ 0.95 on held-out parts: the confirmation block gives the number above (see
\`imageAUROC\`), the weakest kinds are thin cracks and low-contrast stains on cast and brushed texture.
Defects within ${BORDER} map pixels (${2 * BORDER} frame pixels) of the edge are not seen. Pixel-level F1 on validation is
low (≈0.37) because the map is smooth and wider than thin scratches/cracks: use it for localisation, not measurement.
Synthetic textures and defects only; real parts will need recalibration (and likely a learnt feature extractor).
The golden input is the generated defective part seed ${SEEDS.golden} (cast, scratch); the golden frame
(\`golden-frame.png\`, a good 512×512 part as the demo station renders it) also pins decoding and preprocessing.

## File
\`surface-anomaly.onnx\`, ${size} bytes, opset 17, sha256 \`${hash}\`.
`;
}
