/**
 * Runs a model folder over good/bad image folders through the runtime's own path — StationModel (OnnxModel
 * with its sha256 and golden checks, Preprocessor, AnomalyMapDecoder / ClassificationDecoder) — so the numbers
 * are the ones the line would see, and computes the metrics of metrics.ts.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { decodeImageFile, readFrameFile } from '../../runtime/frame/decode-image.ts';
import { StationModel } from '../../runtime/inference/station-model.ts';
import { DEFAULT_RUN_TIMEOUT_MS } from '../../runtime/inference/inference-worker.ts';
import { binaryStats } from '../common.ts';
import { listImages } from '../edge/padim.ts';
import { aupro, auroc, aurocSplit, components, missRateAtFalseReject } from './metrics.ts';

export interface PerImage {
  file: string;
  /** Raw image score (anomaly models: the decoder's raw score; classifiers: the highest defect probability). */
  score: number;
  /** Normalised score the decision uses (anomaly: min–max normalised, threshold ↦ 0.5). */
  normalized: number;
  label: 0 | 1;
  predicted: 0 | 1;
  probabilities?: Record<string, number>;
}

export interface EvalResult {
  model: string;
  sha256: string;
  counts: { good: number; bad: number; masks: number };
  image_auroc: number | null;
  pixel_auroc: number | null;
  aupro_30: number | null;
  f1: number | null;
  precision: number | null;
  recall: number | null;
  confusion: { tp: number; fp: number; fn: number; tn: number };
  miss_rate_at_1pct_false_reject: number | null;
  threshold_at_1pct_false_reject: number | null;
  /** Why a metric is null: it could not be computed on these images (never reported as NaN). */
  unavailable: Record<string, string>;
  per_image: PerImage[];
}

export interface EvalOptions {
  model: string;
  good: string;
  bad: string;
  masks?: string;
  threads?: number;
  onImage?: (i: number, n: number) => void;
}

function maskFileFor(masks: string, file: string): string | null {
  const stem = path.basename(file, path.extname(file));
  for (const c of [`${stem}.png`, `${stem}_mask.png`, `${stem}.mask.png`]) if (existsSync(path.join(masks, c))) return path.join(masks, c);
  return null;
}

/** Mask at map resolution: a map pixel is defective when its centre falls on a set frame pixel. */
function maskAtMap(mask: Uint8Array, fw: number, fh: number, w: number, h: number): Uint8Array {
  const out = new Uint8Array(w * h);
  for (let y = 0; y < h; y++) {
    const sy = Math.min(fh - 1, Math.floor(((y + 0.5) * fh) / h));
    for (let x = 0; x < w; x++) out[y * w + x] = mask[sy * fw + Math.min(fw - 1, Math.floor(((x + 0.5) * fw) / w))]! > 127 ? 1 : 0;
  }
  return out;
}

export async function evaluateModel(o: EvalOptions): Promise<EvalResult> {
  const manifest = o.model.endsWith('.yaml') ? o.model : path.join(o.model, 'model.yaml');
  const model = await StationModel.load(
    { manifest: path.resolve(manifest), intraOpThreads: o.threads ?? 1, runTimeoutMs: DEFAULT_RUN_TIMEOUT_MS },
    process.cwd(),
    null,
  );
  const fmt = model.onnx.manifest.input.pixelFormat;
  const files = [...listImages(o.good).map((f) => ({ f, label: 0 as const })), ...listImages(o.bad).map((f) => ({ f, label: 1 as const }))];
  const per: PerImage[] = [];
  const negPix: Float32Array[] = [];
  const posPix: Float32Array[] = [];
  const regions: Float32Array[] = [];
  let masks = 0;
  const an = model.anomaly;
  const mapShape = an ? [an.mapHeight, an.mapWidth] : null;
  const mapOut = an ? model.onnx.output(an.spec.mapOutput) : null;
  for (let i = 0; i < files.length; i++) {
    const { f, label } = files[i]!;
    const slot = await readFrameFile(f, fmt);
    model.preprocess(slot);
    await model.infer();
    model.decode();
    if (an && mapOut && mapShape) {
      per.push({
        file: path.relative(process.cwd(), f),
        score: an.rawScore,
        normalized: an.score,
        label,
        predicted: an.score >= an.spec.threshold ? 1 : 0,
      });
      if (o.masks) {
        const [h, w] = mapShape as [number, number];
        let m: Uint8Array | null = null;
        if (label === 0) m = new Uint8Array(w * h);
        else {
          const mf = maskFileFor(o.masks, f);
          if (mf) {
            const mi = await decodeImageFile(mf, 'Mono8');
            m = maskAtMap(mi.data, mi.width, mi.height, w, h);
          }
        }
        if (m) {
          masks += label;
          let np = 0;
          for (let k = 0; k < m.length; k++) np += m[k]!;
          const neg = new Float32Array(m.length - np);
          const pos = new Float32Array(np);
          let a = 0;
          let b = 0;
          for (let k = 0; k < m.length; k++) {
            if (m[k]) pos[b++] = mapOut[k]!;
            else neg[a++] = mapOut[k]!;
          }
          negPix.push(neg);
          posPix.push(pos);
          for (const c of components(m, w, h)) regions.push(Float32Array.from(c, (k) => mapOut[k]!));
        }
      }
    } else {
      const cls = model.classification!;
      const labels = cls.spec.labels;
      const probs: Record<string, number> = {};
      let worst = 0;
      let hit = false;
      for (let k = 0; k < labels.length; k++) {
        const p = cls.probabilities[k]!;
        probs[labels[k]!] = Math.round(p * 1e6) / 1e6;
        if (cls.spec.okLabels.includes(labels[k]!)) continue;
        if (p > worst) worst = p;
        if (p >= cls.thresholds[k]!) hit = true;
      }
      per.push({ file: path.relative(process.cwd(), f), score: worst, normalized: worst, label, predicted: hit ? 1 : 0, probabilities: probs });
    }
    o.onImage?.(i, files.length);
  }
  await model.close();
  const scores = per.map((p) => p.score);
  const labels = per.map((p) => p.label === 1);
  const st = binaryStats(
    per.map((p) => p.predicted === 1),
    labels,
  );
  const mr = missRateAtFalseReject(
    per.filter((p) => !p.label).map((p) => p.score),
    per.filter((p) => p.label).map((p) => p.score),
    0.01,
  );
  const cat = (xs: Float32Array[]): Float32Array => {
    const out = new Float32Array(xs.reduce((a, x) => a + x.length, 0));
    let o2 = 0;
    for (const x of xs) {
      out.set(x, o2);
      o2 += x.length;
    }
    return out;
  };
  const pixel = o.masks && an ? { neg: cat(negPix), pos: cat(posPix) } : null;
  const counts = { good: per.filter((p) => !p.label).length, bad: per.filter((p) => p.label).length, masks };
  const unavailable: Record<string, string> = {};
  const noMask = 'no mask in --masks matches a bad image (STEM.png or STEM_mask.png)';
  const metric = (key: string, v: number, digits: number, whyNot: string): number | null => {
    if (Number.isFinite(v)) return Math.round(v * 10 ** digits) / 10 ** digits;
    unavailable[key] = whyNot;
    return null;
  };
  const sets = `needs good and bad images (${counts.good} good, ${counts.bad} bad)`;
  if (o.masks && !an) unavailable.pixel_auroc = unavailable.aupro_30 = 'the model gives no anomaly map to compare with --masks';
  const scored = per.some((p) => !Number.isFinite(p.score)) ? 'the model gave a non-finite score' : sets;
  return {
    model: model.onnx.manifest.name,
    sha256: model.onnx.sha256,
    counts,
    image_auroc: metric('image_auroc', auroc(scores, labels), 4, scored),
    pixel_auroc: pixel ? metric('pixel_auroc', aurocSplit(pixel.neg, pixel.pos), 4, noMask) : null,
    aupro_30: pixel ? metric('aupro_30', aupro(pixel.neg, regions, 0.3), 4, noMask) : null,
    f1: metric('f1', st.f1, 4, sets),
    precision: metric('precision', st.precision, 4, sets),
    recall: metric('recall', st.recall, 4, sets),
    confusion: { tp: st.tp, fp: st.fp, fn: st.fn, tn: st.tn },
    miss_rate_at_1pct_false_reject: metric('miss_rate_at_1pct_false_reject', mr.missRate, 4, scored),
    threshold_at_1pct_false_reject: metric('threshold_at_1pct_false_reject', mr.threshold, 6, scored),
    unavailable,
    per_image: per.map((p) => ({ ...p, score: r6(p.score), normalized: r6(p.normalized) })),
  };
}

const r6 = (v: number): number => Math.round(v * 1e6) / 1e6;
