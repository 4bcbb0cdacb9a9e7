/**
 * Turns a lab training run (ONNX + parity.json + train-report.json from train_*.py) into a shipped model
 * folder: the ONNX file, model.yaml (sha256, decoder, calibrated thresholds), golden input/output computed in
 * onnxruntime-node, the torch parity file, and a model card with metrics measured through the runtime path.
 *
 *   npx tsx training/lab/package.ts holes     var/training/holes-out     models/hole-defects
 *   npx tsx training/lab/package.ts segmenter var/training/segmenter-out models/surface-segmenter
 */
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { ModelManifestSchema } from '../../runtime/inference/model-manifest.ts';
import { f1OptimalThreshold, round, sha256, writeGoldenFiles } from '../common.ts';
import { HOLE_CROP_GENERATOR_VERSION, HOLE_DEFECTS } from '../../sim/scenes/hole-defects.ts';
import { SURFACE_GENERATOR_VERSION, type SurfaceDefectKind, type SurfaceFamily } from '../../sim/scenes/surface.ts';
import { holeMetrics, loadStationModel, predictHoles, scoreSurfaces } from '../eval/runtime-path.ts';
import { HOLE_SEEDS } from './gen-holes.ts';
import { SEG_DEFECT_RATE, SEG_SEEDS, SEG_TRAIN_DEFECTS, SEG_TRAIN_FAMILIES, segPart } from './gen-surface.ts';
import { aupro, aurocSplit, components, missRateAtFalseReject } from '../eval/metrics.ts';
import { auroc, binaryStats } from '../common.ts';
import { renderHoleCrop } from '../../sim/scenes/hole-defects.ts';
import { renderSurface } from '../../sim/scenes/surface.ts';
import { writeShippedGoldenFrame } from '../golden/write-golden-frame.ts';
import { scriptArgs, scriptUsageError } from '../script-args.ts';

/** train-report.json, as train_holes.py and train_segmenter.py write it (the fields the model cards quote). */
interface TrainReport {
  config: { batch: number } & Record<string, unknown>;
  parameters: number;
  torch: string;
  train_seconds: number;
  history: unknown;
}
interface HoleTrainReport extends TrainReport {
  epochs_done: number;
  thresholds: Record<string, number>;
}
interface SegTrainReport extends TrainReport {
  steps_done: number;
}

const MEAN = 0.5;
const STD = 0.25;

/** Held-out evaluation blocks of the segmenter (never used in training or calibration). */
export const SEG_EVAL = {
  heldOutSeeds: { start: 6_000_000, count: 120, families: SEG_TRAIN_FAMILIES, defects: SEG_TRAIN_DEFECTS },
  heldOutFamily: { start: 6_100_000, count: 60, families: ['cfrp'] as SurfaceFamily[], defects: SEG_TRAIN_DEFECTS },
  unseenDefect: { start: 6_200_000, count: 60, families: SEG_TRAIN_FAMILIES, defects: ['crack'] as SurfaceDefectKind[] },
} as const;

async function packageHoles(src: string, dir: string): Promise<void> {
  mkdirSync(dir, { recursive: true });
  const report = JSON.parse(readFileSync(join(src, 'train-report.json'), 'utf8')) as HoleTrainReport;
  const onnx = readFileSync(join(src, 'hole-defects.onnx'));
  writeFileSync(join(dir, 'hole-defects.onnx'), onnx);
  copyFileSync(join(src, 'parity.json'), join(dir, 'parity.json'));
  const thresholds = Object.fromEntries(Object.entries(report.thresholds).map(([k, v]) => [k, round(v, 4)]));
  // golden: the first test crop, preprocessed as the runtime does (128² in, identity resize)
  const img = new Uint8Array(128 * 128);
  renderHoleCrop({ seed: HOLE_SEEDS.test.start, size: 128 }, img);
  const x = Float32Array.from(img, (v) => (v / 255 - MEAN) / STD);
  const manifest = {
    name: 'hole-defects',
    version: '1.0.0',
    onnx: 'hole-defects.onnx',
    sha256: sha256(onnx),
    description:
      'Multi-label hole-defect classifier on 128×128 hole-centred crops (burr, chipping, crack, delamination, debris); trained on synthetic data only',
    input: { name: 'image', shape: [1, 1, 128, 128], layout: 'NCHW', pixelFormat: 'Mono8', normalization: { mean: [MEAN], std: [STD] } },
    decoder: { kind: 'classification', output: 'logits', activation: 'sigmoid', labels: [...HOLE_DEFECTS], thresholds, okLabels: [] },
    golden: { input: 'golden-input.f32', output: 'golden-output.json', tolerance: 1e-4 },
  };
  ModelManifestSchema.parse(manifest);
  writeFileSync(join(dir, 'model.yaml'), stringify(manifest));
  // golden output from onnxruntime (single thread); written before loading, the load then checks it
  const { createSession, runFloat } = await import('../common.ts');
  const s = await createSession(onnx);
  writeGoldenFiles(dir, x, { logits: (await runFloat(s, 'image', x, [1, 1, 128, 128])).logits! });
  await writeShippedGoldenFrame(dir);
  const model = await loadStationModel(dir);
  const test = holeMetrics(await predictHoles(model, HOLE_SEEDS.test.start, HOLE_SEEDS.test.count), HOLE_DEFECTS, thresholds);
  await model.close();
  console.log(JSON.stringify(test));
  writeFileSync(join(dir, 'metrics.json'), `${JSON.stringify({ test }, null, 1)}\n`);
  writeFileSync(join(dir, 'README.md'), holeCard(manifest.sha256, onnx.length, report, thresholds, test));
}

function holeCard(hash: string, size: number, report: HoleTrainReport, thr: Record<string, number>, test: Record<string, unknown>): string {
  return `# hole-defects (v1.0.0)

Multi-label defect classifier for single drilled holes, **trained on synthetic data only** (no real images, no
pretrained weights): a small CNN (${report.parameters} parameters) trained from scratch with Debian's PyTorch
${report.torch} on the CPU, exported with \`torch.onnx.export\` (opset 17) and checked with
\`onnx.checker.check_model(full_check=True)\`. Dimensions (diameter, position, roundness, Fd) are classic
metrology's job (\`linesight measure holes\`), not this model's.

## Input / output
- \`image\` [1,1,128,128] NCHW: a hole-centred Mono8 crop (about 6.4 mm at 0.05 mm/px), (p/255 − 0.5)/0.25.
- \`logits\` [1,5]: sigmoid per label, in order ${HOLE_DEFECTS.join(', ')}. Decision thresholds (model.yaml,
  F1-optimal per label on the validation crops): ${JSON.stringify(thr)}.

## Data
Generator \`sim/scenes/hole-defects.ts\` (renderHoleCrop, generator version ${HOLE_CROP_GENERATOR_VERSION}): one hole per crop,
Ø3.6–4.4 mm at 0.045–0.055 mm/px, centre offset ±0.25 mm, tilt ellipse ≤ 8°, lobing, countersink ring (40%),
metal or CFRP surface, 4×4 area sampling, blur σ 0.4–1 px, gain/gradient, gamma 0.85–1.2, Poisson-Gaussian noise.
Defects (any subset, drawn from the seed: 35% good, else one kind or two): exit burr (metal), chipping bites,
radial cracks (0.8–1.5 mm long, 0.05–0.09 mm wide, i.e. at least one pixel), delamination (CFRP, Fd 1.1–1.4), debris.
- train: seeds ${HOLE_SEEDS.train.start}…+${HOLE_SEEDS.train.count}, validation (thresholds): ${HOLE_SEEDS.val.start}…+${HOLE_SEEDS.val.count},
  test: ${HOLE_SEEDS.test.start}…+${HOLE_SEEDS.test.count} (never seen in training or threshold choice).

## Training
\`\`\`json
${JSON.stringify({ config: report.config, epochs_done: report.epochs_done, train_seconds: report.train_seconds, history: report.history }, null, 1)}
\`\`\`
Retrain (not part of CI; ≈ 10–15 min on 2 cores):
\`\`\`
apt-get install -y --no-install-recommends python3-torch python3-onnx
npx tsx training/lab/gen-holes.ts var/training/holes
/usr/bin/python3 training/lab/train_holes.py var/training/holes var/training/holes-out
npx tsx training/lab/package.ts holes var/training/holes-out models/hole-defects
\`\`\`

## Measured metrics (test seeds, through the runtime's StationModel path)
\`\`\`json
${JSON.stringify(test, null, 1)}
\`\`\`
Target (issue): macro F1 ≥ 0.97 → measured ${test.macroF1 as number}: ${(test.macroF1 as number) >= 0.97 ? 'met' : `**missed by ${round(0.97 - (test.macroF1 as number), 3)}**; the weakest labels are in \`perLabel\` (a ≈ 100k-parameter CNN trained for minutes on a shared 2-core CPU; longer training was still improving)`}.

## Parity and golden
\`parity.json\`: torch logits for test seeds ${HOLE_SEEDS.test.start}…+3 (batch 1); \`test/models/lab-models.test.ts\`
re-renders those crops and requires onnxruntime-node to agree within 1e-4. The golden input (test seed
${HOLE_SEEDS.test.start}) is checked at every load (tolerance 1e-4); the golden frame (\`golden-frame.png\`, a good 128×128 crop)
also pins decoding and preprocessing.

## Limits
Synthetic crops only; a real line needs real examples of each defect for validation at least. Debris lying
in the dark bore is only labelled when it is bright (dark debris in the bore is invisible and not drawn).

## File
\`hole-defects.onnx\`, ${size} bytes, sha256 \`${hash}\`.
`;
}

export function segParts(b: {
  start: number;
  count: number;
  families: readonly SurfaceFamily[];
  defects: readonly SurfaceDefectKind[];
}): { seed: number; family: SurfaceFamily; defect: SurfaceDefectKind | null }[] {
  return Array.from({ length: b.count }, (_, i) => segPart(b.start + i, b.families, b.defects, 0.5));
}

/** Image and pixel metrics of anomaly-map scores (maps at 128², masks at 512²). */
export function segMetrics(rs: Awaited<ReturnType<typeof scoreSurfaces>>, threshold: number): Record<string, unknown> {
  const scores = rs.map((r) => r.raw);
  const labels = rs.map((r) => r.defect !== null);
  const st = binaryStats(
    rs.map((r) => r.normalized >= 0.5),
    labels,
  );
  const mr = missRateAtFalseReject(
    rs.filter((r) => !r.defect).map((r) => r.raw),
    rs.filter((r) => r.defect).map((r) => r.raw),
  );
  const neg: number[] = [];
  const pos: number[] = [];
  const regions: Float32Array[] = [];
  for (const r of rs) {
    const m = new Uint8Array(128 * 128);
    if (r.mask) for (let y = 0; y < 128; y++) for (let x = 0; x < 128; x++) m[y * 128 + x] = r.mask[(4 * y + 2) * 512 + 4 * x + 2]!;
    for (let i = 0; i < m.length; i++) (m[i] ? pos : neg).push(r.map[i]!);
    for (const c of components(m, 128, 128)) regions.push(Float32Array.from(c, (k) => r.map[k]!));
  }
  const perDefect: Record<string, number> = {};
  for (const d of new Set(rs.map((r) => r.defect).filter((d) => d !== null))) {
    const sub = rs.filter((r) => r.defect === null || r.defect === d);
    perDefect[d as string] = round(
      auroc(
        sub.map((r) => r.raw),
        sub.map((r) => r.defect !== null),
      ),
    );
  }
  const perFamily: Record<string, number> = {};
  for (const f of new Set(rs.map((r) => r.family))) {
    const sub = rs.filter((r) => r.family === f);
    perFamily[f] = round(
      auroc(
        sub.map((r) => r.raw),
        sub.map((r) => r.defect !== null),
      ),
    );
  }
  return {
    parts: { good: labels.filter((l) => !l).length, defective: labels.filter(Boolean).length },
    imageAUROC: round(auroc(scores, labels)),
    pixelAUROC: round(aurocSplit(Float32Array.from(neg), Float32Array.from(pos))),
    aupro30: round(aupro(Float32Array.from(neg), regions, 0.3)),
    f1AtModelThreshold: round(st.f1),
    precision: round(st.precision),
    recall: round(st.recall),
    missRateAt1pctFalseReject: round(mr.missRate),
    imageThreshold: round(threshold),
    perDefectAUROC: perDefect,
    perFamilyAUROC: perFamily,
  };
}

async function packageSegmenter(src: string, dir: string): Promise<void> {
  mkdirSync(dir, { recursive: true });
  const report = JSON.parse(readFileSync(join(src, 'train-report.json'), 'utf8')) as SegTrainReport;
  const onnx = readFileSync(join(src, 'surface-segmenter.onnx'));
  writeFileSync(join(dir, 'surface-segmenter.onnx'), onnx);
  copyFileSync(join(src, 'parity.json'), join(dir, 'parity.json'));
  const hash = sha256(onnx);
  const img = new Uint8Array(512 * 512);
  const golden = segPart(SEG_SEEDS.val.start);
  renderSurface({ seed: golden.seed, width: 512, height: 512, family: golden.family, defect: golden.defect, nuisances: 'extended' }, img);
  const x = new Float32Array(256 * 256);
  for (let y = 0; y < 256; y++)
    for (let xx = 0; xx < 256; xx++) {
      const i = 2 * y * 512 + 2 * xx;
      x[y * 256 + xx] = ((img[i]! + img[i + 1]! + img[i + 512]! + img[i + 513]!) / 4 / 255 - MEAN) / STD;
    }
  const { createSession, runFloat } = await import('../common.ts');
  const s = await createSession(onnx);
  writeGoldenFiles(dir, x, { anomaly_map: (await runFloat(s, 'image', x, [1, 1, 256, 256])).anomaly_map! });
  const manifest = {
    name: 'surface-segmenter',
    version: '1.0.0',
    onnx: 'surface-segmenter.onnx',
    sha256: hash,
    description: 'DRAEM-style surface-defect segmenter (compact U-Net, 256² in, 128² defect logits out); trained on synthetic data only',
    input: { name: 'image', shape: [1, 1, 256, 256], layout: 'NCHW', pixelFormat: 'Mono8', normalization: { mean: [MEAN], std: [STD] } },
    decoder: {
      kind: 'anomaly-map',
      mapOutput: 'anomaly_map',
      imageScore: { rule: 'topk-mean', k: 16 },
      normalization: { min: 0, max: 1, imageThreshold: 0, pixelThreshold: 0 },
      threshold: 0.5,
      minRegionAreaPx: 4,
    },
    golden: { input: 'golden-input.f32', output: 'golden-output.json', tolerance: 1e-4 },
  };
  // calibration on the validation parts (SEG_SEEDS.val, the same training distribution): min/max, F1-optimal
  // image threshold, F1-optimal pixel threshold on the logits
  writeFileSync(join(dir, 'model.yaml'), stringify(manifest));
  let model = await loadStationModel(dir);
  const valParts = Array.from({ length: SEG_SEEDS.val.count }, (_, i) => segPart(SEG_SEEDS.val.start + i));
  const val = await scoreSurfaces(model, valParts, true);
  await model.close();
  const vs = val.map((r) => r.raw);
  const img1 = f1OptimalThreshold(
    vs,
    val.map((r) => r.defect !== null),
  );
  const pix: { v: number; y: boolean }[] = [];
  for (const r of val)
    for (let y = 0; y < 128; y += 2)
      for (let xx = 0; xx < 128; xx += 2) pix.push({ v: r.map[y * 128 + xx]!, y: r.mask ? r.mask[(4 * y + 2) * 512 + 4 * xx + 2] === 1 : false });
  const px = f1OptimalThreshold(
    pix.map((p) => p.v),
    pix.map((p) => p.y),
  );
  manifest.decoder.normalization = {
    min: round(Math.min(...vs), 6),
    max: round(Math.max(...vs), 6),
    imageThreshold: round(img1.threshold, 6),
    pixelThreshold: round(px.threshold, 6),
  };
  ModelManifestSchema.parse(manifest);
  writeFileSync(join(dir, 'model.yaml'), stringify(manifest));
  await writeShippedGoldenFrame(dir);
  model = await loadStationModel(dir);
  const metrics: Record<string, unknown> = { validation: { imageF1: round(img1.f1), pixelF1: round(px.f1) } };
  for (const [k, b] of Object.entries(SEG_EVAL)) {
    metrics[k] = segMetrics(await scoreSurfaces(model, segParts(b), true), img1.threshold);
    console.log(k, JSON.stringify(metrics[k]));
  }
  await model.close();
  writeFileSync(join(dir, 'metrics.json'), `${JSON.stringify(metrics, null, 1)}\n`);
  writeFileSync(join(dir, 'README.md'), segCard(hash, onnx.length, report, manifest.decoder.normalization, metrics));
}

function targetLine(m: Record<string, unknown>, report: SegTrainReport): string {
  const a = (m.heldOutSeeds as { imageAUROC: number }).imageAUROC;
  const f = (m.heldOutFamily as { imageAUROC: number }).imageAUROC;
  const u = (m.unseenDefect as { imageAUROC: number }).imageAUROC;
  return `Target (issue): image AUROC ≥ 0.99 on held-out parts → measured ${a} on held-out seeds: ${a >= 0.99 ? 'met' : `**missed by ${round(0.99 - a, 3)}**`}.
Held-out family (cfrp) ${f}${f < 0.75 ? ' — close to chance: the network learnt its three training textures, not texture in general' : ''}; never-trained
crack defect ${u}. Why short: ${((m.heldOutSeeds as { perDefectAUROC: Record<string, number> }).perDefectAUROC.scratch ?? Infinity) < 0.9 ? 'thin scratches (≈1 px at 256²) are the weakest kind; ' : ''}the network saw ${report.steps_done * report.config.batch} training crops (128²) in
${Math.round(report.train_seconds / 60)} min on one CPU core, where DRAEM trains for hundreds of epochs on a GPU; more steps and a larger, more varied
training set are the obvious next step (see \`history\` for the validation AUROC during training).`;
}

function segCard(hash: string, size: number, report: SegTrainReport, norm: Record<string, number>, metrics: Record<string, unknown>): string {
  return `# surface-segmenter (v1.0.0)

DRAEM-style surface-defect segmenter, **trained on synthetic data only** (no real images, no pretrained
weights): a compact U-Net (${report.parameters} parameters) trained from scratch with Debian's PyTorch ${report.torch} on
the CPU, exported with \`torch.onnx.export\` (opset 17), checked with \`onnx.checker.check_model(full_check=True)\`.
As in DRAEM, the anomalies it learns from are simulated — mostly Perlin-masked patches of another texture —
but there is no reconstructive sub-network (the compute budget was minutes on two cores).

## Input / output
- \`image\` [1,1,256,256] NCHW: the 512×512 Mono8 frame reduced 2:1 (box mean), (p/255 − 0.5)/0.25.
- \`anomaly_map\` [1,1,128,128]: defect logits. Image score = top-16 mean of the map (decoder \`topk-mean\`).
- normalization (validation, anomalib style): ${JSON.stringify(norm)}.

## Data
Generator \`sim/scenes/surface.ts\` (generator version ${SURFACE_GENERATOR_VERSION}) with \`nuisances: 'extended'\` (rotation ±4°, scale ±5%,
defocus, gamma, Poisson-Gaussian noise, illumination gradient, vignetting).
- train: ${SEG_SEEDS.train.count} parts, seeds ${SEG_SEEDS.train.start}…, families ${SEG_TRAIN_FAMILIES.join('/')}, ${Math.round(SEG_DEFECT_RATE * 100)}% defective:
  ${SEG_TRAIN_DEFECTS.join(', ')} (texture anomalies twice as often). **Held out of training: the cfrp family and cracks.**
- validation / calibration: ${SEG_SEEDS.val.count} parts, seeds ${SEG_SEEDS.val.start}… (same distribution).
- evaluation blocks (50% defective, never used for training or calibration):
  heldOutSeeds ${SEG_EVAL.heldOutSeeds.start}… (${SEG_EVAL.heldOutSeeds.count}, trained families and defects),
  heldOutFamily ${SEG_EVAL.heldOutFamily.start}… (${SEG_EVAL.heldOutFamily.count}, cfrp), unseenDefect ${SEG_EVAL.unseenDefect.start}… (${SEG_EVAL.unseenDefect.count}, crack).

## Training
\`\`\`json
${JSON.stringify({ config: report.config, steps_done: report.steps_done, train_seconds: report.train_seconds, history: report.history }, null, 1)}
\`\`\`
Retrain (not part of CI; ≈ 20 min on 2 cores):
\`\`\`
apt-get install -y --no-install-recommends python3-torch python3-onnx
npx tsx training/lab/gen-surface.ts var/training/surface
/usr/bin/python3 training/lab/train_segmenter.py var/training/surface var/training/segmenter-out
npx tsx training/lab/package.ts segmenter var/training/segmenter-out models/surface-segmenter
\`\`\`

## Measured metrics (through the runtime's StationModel path)
Pixel metrics compare the 128² map with the generator's mask sampled at map-pixel centres; AUPRO is
integrated up to 30% FPR and normalised.
\`\`\`json
${JSON.stringify(metrics, null, 1)}
\`\`\`
${targetLine(metrics, report)}

## Parity and golden
\`parity.json\`: torch output for validation seed ${SEG_SEEDS.val.start} (batch 1); \`test/models/lab-models.test.ts\` re-renders it and
requires onnxruntime-node to agree within 1e-4. The golden input (the same part) is checked at every load; the golden
frame (\`golden-frame.png\`, a good 512×512 part) also pins decoding and preprocessing.

## File
\`surface-segmenter.onnx\`, ${size} bytes, sha256 \`${hash}\`.
`;
}

const USAGE = `usage: npx tsx training/lab/package.ts holes|segmenter SRC_DIR MODEL_DIR

Turns a lab training run in SRC_DIR (ONNX, parity.json, train-report.json from train_*.py) into the shipped model
folder MODEL_DIR: model.yaml, golden files, parity file and model card. Exit 0 written, 2 usage error.`;

if (import.meta.url === `file://${process.argv[1]}`) {
  const { positionals } = scriptArgs(process.argv.slice(2), { usage: USAGE, positionals: { min: 3, max: 3 } });
  const [what, src, dir] = positionals as [string, string, string];
  if (what === 'holes') await packageHoles(src, dir);
  else if (what === 'segmenter') await packageSegmenter(src, dir);
  else scriptUsageError(`unknown model '${what}' (holes or segmenter)`);
}
