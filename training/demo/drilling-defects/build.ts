/**
 * Trains (logistic regression, gradient descent with L2) and evaluates the drilled-plate classifier on
 * generated plates, then writes the model folder.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { InferenceSession } from 'onnxruntime-node';
import { stringify } from 'yaml';
import { ModelManifestSchema } from '../../../runtime/inference/model-manifest.ts';
import { binaryStats, createSession, f1OptimalThreshold, round, runFloat, sha256, writeGoldenFiles } from '../../common.ts';
import { renderDrilledPlate, type PlateDefectKind, type PlateTruth } from '../../../sim/scenes/holes.ts';
import { resizeBilinearMono8ToFloat } from '../../../sim/scenes/resize.ts';
import { writeShippedGoldenFrame } from '../../golden/write-golden-frame.ts';
import { buildClassifierGraph, buildFeatureGraph, FEATURES_PER_HOLE, INPUT, LABELS, MEAN, OUTPUT, SIZE, STD, type LogisticHead } from './graph.ts';

export const RENDER = 512;
export const KINDS: readonly (PlateDefectKind | null)[] = [null, 'burr', 'chipping', 'oversize', 'missing'];
export const LABEL_OF: Record<PlateDefectKind, (typeof LABELS)[number]> = {
  burr: 'burr',
  chipping: 'chipping',
  oversize: 'oversize',
  missing: 'missing_hole',
};
export const SEEDS = {
  train: { start: 60_000, count: 320 },
  val: { start: 70_000, count: 160 },
  test: { start: 80_000, count: 200 },
  golden: 80_002,
} as const;
export const TRAIN = { epochs: 1500, learningRate: 0.05, l2: 1e-3, optimizer: 'Adam(β1=0.9, β2=0.999), full batch' } as const;

export interface PlatePart {
  seed: number;
  defect: PlateDefectKind | null;
}

/** i-th plate of a block: good, burr, chipping, oversize, missing in turn. */
export function platePart(start: number, i: number): PlatePart {
  return { seed: start + i, defect: KINDS[i % KINDS.length]! };
}

const img = new Uint8Array(RENDER * RENDER);
export function plateInput(p: PlatePart): { x: Float32Array; truth: PlateTruth } {
  const truth = renderDrilledPlate({ seed: p.seed, width: RENDER, height: RENDER, defect: p.defect }, img);
  const x = new Float32Array(SIZE * SIZE);
  resizeBilinearMono8ToFloat(img, RENDER, RENDER, x, SIZE, SIZE, MEAN, STD);
  return { x, truth };
}

const block = (b: { start: number; count: number }): PlatePart[] => Array.from({ length: b.count }, (_, i) => platePart(b.start, i));

function trainLogistic(X: Float64Array[], Y: Uint8Array[]): LogisticHead {
  const F = FEATURES_PER_HOLE;
  const L = LABELS.length;
  const N = X.length;
  const mu = new Float64Array(F);
  const sd = new Float64Array(F);
  for (const x of X) for (let f = 0; f < F; f++) mu[f]! += x[f]! / N;
  for (const x of X) for (let f = 0; f < F; f++) sd[f]! += (x[f]! - mu[f]!) ** 2 / N;
  for (let f = 0; f < F; f++) sd[f] = Math.max(Math.sqrt(sd[f]!), 1e-3);
  // standardise through float32, exactly as the graph will
  const muF = Float32Array.from(mu);
  const sdF = Float32Array.from(sd);
  const Z = X.map((x) => Float64Array.from(x, (v, f) => Math.fround(Math.fround(v - muF[f]!) / sdF[f]!)));
  const W = new Float64Array(F * L);
  const b = new Float64Array(L);
  const mW = new Float64Array(F * L);
  const vW = new Float64Array(F * L);
  const mb = new Float64Array(L);
  const vb = new Float64Array(L);
  const gW = new Float64Array(F * L);
  const gb = new Float64Array(L);
  const { epochs, learningRate: lr, l2 } = TRAIN;
  for (let ep = 1; ep <= epochs; ep++) {
    gW.fill(0);
    gb.fill(0);
    for (let n = 0; n < N; n++) {
      const z = Z[n]!;
      for (let l = 0; l < L; l++) {
        let s = b[l]!;
        for (let f = 0; f < F; f++) s += z[f]! * W[f * L + l]!;
        const err = 1 / (1 + Math.exp(-s)) - Y[n]![l]!;
        gb[l]! += err / N;
        for (let f = 0; f < F; f++) gW[f * L + l]! += (err * z[f]!) / N;
      }
    }
    for (let k = 0; k < F * L; k++) gW[k]! += l2 * W[k]!;
    const c1 = 1 - 0.9 ** ep;
    const c2 = 1 - 0.999 ** ep;
    for (let k = 0; k < F * L; k++) {
      mW[k] = 0.9 * mW[k]! + 0.1 * gW[k]!;
      vW[k] = 0.999 * vW[k]! + 0.001 * gW[k]! * gW[k]!;
      W[k]! -= (lr * (mW[k]! / c1)) / (Math.sqrt(vW[k]! / c2) + 1e-8);
    }
    for (let l = 0; l < L; l++) {
      mb[l] = 0.9 * mb[l]! + 0.1 * gb[l]!;
      vb[l] = 0.999 * vb[l]! + 0.001 * gb[l]! * gb[l]!;
      b[l]! -= (lr * (mb[l]! / c1)) / (Math.sqrt(vb[l]! / c2) + 1e-8);
    }
  }
  return { featMean: muF, featStd: sdF, weights: Float32Array.from(W), bias: Float32Array.from(b) };
}

async function predict(session: InferenceSession, parts: PlatePart[]): Promise<{ part: PlatePart; prob: number[] }[]> {
  const out = [];
  for (const part of parts) {
    const { x } = plateInput(part);
    const logits = (await runFloat(session, INPUT, x, [1, 1, SIZE, SIZE]))[OUTPUT]!;
    out.push({ part, prob: Array.from(logits, (v) => 1 / (1 + Math.exp(-v))) });
  }
  return out;
}

export function evaluatePlates(res: { part: PlatePart; prob: number[] }[], thresholds: Record<string, number>): Record<string, unknown> {
  const perLabel: Record<string, unknown> = {};
  let macro = 0;
  LABELS.forEach((label, l) => {
    const truth = res.map((r) => r.part.defect !== null && LABEL_OF[r.part.defect] === label);
    const st = binaryStats(
      res.map((r) => r.prob[l]! >= thresholds[label]!),
      truth,
    );
    macro += st.f1 / LABELS.length;
    perLabel[label] = { precision: round(st.precision), recall: round(st.recall), f1: round(st.f1), support: st.tp + st.fn, fp: st.fp };
  });
  const nok = binaryStats(
    res.map((r) => LABELS.some((lab, l) => r.prob[l]! >= thresholds[lab]!)),
    res.map((r) => r.part.defect !== null),
  );
  const exact = res.filter((r) =>
    LABELS.every((lab, l) => r.prob[l]! >= thresholds[lab]! === (r.part.defect !== null && LABEL_OF[r.part.defect] === lab)),
  ).length;
  return {
    plates: res.length,
    perLabel,
    macroF1: round(macro),
    partLevel: { accuracy: round(nok.accuracy), precision: round(nok.precision), recall: round(nok.recall), f1: round(nok.f1) },
    exactMatchRate: round(exact / res.length),
  };
}

export async function buildDrillingDefects(dir: string, log: (s: string) => void): Promise<Record<string, unknown>> {
  mkdirSync(dir, { recursive: true });
  // 1. Per-hole features and labels from training plates.
  const fs = await createSession(buildFeatureGraph());
  const X: Float64Array[] = [];
  const Y: Uint8Array[] = [];
  for (const part of block(SEEDS.train)) {
    const { x, truth } = plateInput(part);
    const f = (await runFloat(fs, INPUT, x, [1, 1, SIZE, SIZE])).hole_features!;
    truth.holes.forEach((h, k) => {
      X.push(Float64Array.from(f.subarray(k * FEATURES_PER_HOLE, (k + 1) * FEATURES_PER_HOLE)));
      const y = new Uint8Array(LABELS.length);
      if (h.defect) y[LABELS.indexOf(LABEL_OF[h.defect])] = 1;
      Y.push(y);
    });
  }
  log(`drilling-defects: ${X.length} training holes from ${SEEDS.train.count} plates`);
  const head = trainLogistic(X, Y);
  const doc = 'Linesight drilled-plate multi-label classifier: polar hole features + trained logistic layer; trained on synthetic data only.';
  const bytes = buildClassifierGraph(head, doc);
  const session = await createSession(bytes);
  log('drilling-defects: trained logistic layer');

  // 2. Per-label thresholds: F1-optimal on validation plates.
  const val = await predict(session, block(SEEDS.val));
  const thresholds: Record<string, number> = {};
  LABELS.forEach((label, l) => {
    const t = f1OptimalThreshold(
      val.map((r) => r.prob[l]!),
      val.map((r) => r.part.defect !== null && LABEL_OF[r.part.defect] === label),
    );
    thresholds[label] = round(Math.min(0.99, Math.max(0.01, t.threshold)), 4);
  });
  const valMetrics = evaluatePlates(val, thresholds);
  log(`drilling-defects: thresholds ${JSON.stringify(thresholds)} val ${JSON.stringify(valMetrics)}`);

  // 3. Held-out test.
  const test = await predict(session, block(SEEDS.test));
  const metrics = evaluatePlates(test, thresholds);
  const at05 = evaluatePlates(test, Object.fromEntries(LABELS.map((l) => [l, 0.5])));
  log(`drilling-defects: held-out ${JSON.stringify(metrics)}`);

  // 4. Files.
  const onnxName = 'drilling-defects.onnx';
  writeFileSync(join(dir, onnxName), bytes);
  const golden = plateInput({ seed: SEEDS.golden, defect: KINDS[2]! });
  const gOut = await runFloat(session, INPUT, golden.x, [1, 1, SIZE, SIZE]);
  writeGoldenFiles(dir, golden.x, { [OUTPUT]: gOut[OUTPUT]! });
  const hash = sha256(bytes);
  const manifest = {
    name: 'drilling-defects',
    version: '1.0.0',
    onnx: onnxName,
    sha256: hash,
    description:
      'Multi-label drilled-hole defect classifier (burr, chipping, oversize, missing hole) for the 3×2 Ø5 mm plate pattern; trained on synthetic data only',
    input: { name: INPUT, shape: [1, 1, SIZE, SIZE], layout: 'NCHW', pixelFormat: 'Mono8', normalization: { mean: [MEAN], std: [STD] } },
    decoder: { kind: 'classification', output: OUTPUT, activation: 'sigmoid', labels: [...LABELS], thresholds, okLabels: [] },
    golden: { input: 'golden-input.f32', output: 'golden-output.json', tolerance: 1e-4 },
  };
  ModelManifestSchema.parse(manifest);
  writeFileSync(join(dir, 'model.yaml'), stringify(manifest));
  await writeShippedGoldenFrame(dir);
  writeFileSync(join(dir, 'README.md'), modelCard(hash, bytes.length, thresholds, metrics, at05, valMetrics));
  return { heldOut: metrics, heldOutAt05: at05 };
}

function modelCard(hash: string, size: number, thr: Record<string, number>, m: unknown, m05: unknown, v: unknown): string {
  return `# drilling-defects (v1.0.0)

Multi-label classifier for drilled plates, **trained on synthetic data only** (no real images, no pretrained
weights). Built by \`npm run build:models\` from \`training/demo/drilling-defects/\`; deterministic.

## What it computes
Input \`${INPUT}\` [1,1,${SIZE},${SIZE}] NCHW, Mono8 resized from the 512×512 frame at 0.05 mm/px (so 0.1 mm/px;
bilinear, half-pixel centres) and normalised as (p/255 − 0.5)/0.25. The plate must be fixtured: the model knows
the nominal pattern (sim/scenes/holes.ts \`DEFAULT_HOLE_PATTERN\`, 3×2 holes Ø5 mm).

1. intensities back to p/255 and divided by the mean of ~2200 fixed plate-surface samples away from the holes (gain-invariant);
2. bilinear polar unwrapping around every nominal hole (Gather with fixed indices): radii nominal edge −4…+7 px
   in 0.5 px steps (23) × 64 angles, plus 96 core samples;
3. per hole, ${FEATURES_PER_HOLE} features: angular mean, standard deviation, min and max at each radius, and the core mean;
4. standardisation (training mean/std) and a logistic layer shared by all holes (Gemm, ${FEATURES_PER_HOLE}×${LABELS.length});
5. \`${OUTPUT}\` [1,${LABELS.length}] = max over the holes of the per-hole logits; labels ${LABELS.join(', ')}; sigmoid.

## Training
- Data: ${SEEDS.train.count} plates, seeds ${SEEDS.train.start}…${SEEDS.train.start + SEEDS.train.count - 1}, cycling good / burr / chipping / oversize / missing;
  every hole is one sample with its own labels from the generator (${SEEDS.train.count * 6} holes).
- Optimiser: ${TRAIN.optimizer}, ${TRAIN.epochs} epochs, learning rate ${TRAIN.learningRate}, L2 ${TRAIN.l2}, binary cross-entropy per label.
- Thresholds per label (model.yaml): F1-optimal on ${SEEDS.val.count} validation plates (seeds ${SEEDS.val.start}…): ${JSON.stringify(thr)}.

Validation (the plates the thresholds were chosen on):
\`\`\`json
${JSON.stringify(v, null, 2)}
\`\`\`

## Measured metrics (held-out seeds ${SEEDS.test.start}…${SEEDS.test.start + SEEDS.test.count - 1}, ${SEEDS.test.count} plates, 40 per class)
With the model.yaml thresholds:
\`\`\`json
${JSON.stringify(m, null, 2)}
\`\`\`
With every threshold at 0.5:
\`\`\`json
${JSON.stringify(m05, null, 2)}
\`\`\`

## Limits
Synthetic plates only, one defect per plate, fixed pattern and fixturing (±0.02 mm); a moved or rotated plate
or a different pattern needs a rebuilt model. The golden input is the chipping plate seed ${SEEDS.golden}; the golden
frame (\`golden-frame.png\`, a good 512×512 plate as the demo station renders it) also pins decoding and preprocessing.

## File
\`drilling-defects.onnx\`, ${size} bytes, opset 17, sha256 \`${hash}\`.
`;
}
