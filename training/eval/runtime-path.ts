/**
 * Scores rendered parts through the runtime's own model path (StationModel: OnnxModel with sha256 + golden
 * checks, Preprocessor, decoders) without image files: the generator renders straight into a FrameSlot,
 * as the synthetic camera does. Used by the lab-model packaging (training/lab/package.ts) and the tests.
 */
import path from 'node:path';
import { FrameSlot } from '../../runtime/frame/frame-slot.ts';
import { StationModel } from '../../runtime/inference/station-model.ts';
import { DEFAULT_RUN_TIMEOUT_MS } from '../../runtime/inference/inference-worker.ts';
import { renderHoleCrop, type HoleDefectKind } from '../../sim/scenes/hole-defects.ts';
import { renderSurface, type SurfaceDefectKind, type SurfaceFamily } from '../../sim/scenes/surface.ts';
import { auroc, binaryStats } from '../common.ts';

export async function loadStationModel(dir: string, threads = 1): Promise<StationModel> {
  return StationModel.load(
    { manifest: path.resolve(dir, 'model.yaml'), intraOpThreads: threads, runTimeoutMs: DEFAULT_RUN_TIMEOUT_MS },
    process.cwd(),
    null,
  );
}

function slotFor(w: number, h: number): FrameSlot {
  const s = new FrameSlot(0, w * h);
  s.width = w;
  s.height = h;
  s.pixelFormat = 'Mono8';
  return s;
}

export interface HolePrediction {
  seed: number;
  truth: HoleDefectKind[];
  prob: number[];
}

/** Runs the hole-defect classifier on crops of seeds start…start+count−1 (the generator's default defects). */
export async function predictHoles(model: StationModel, start: number, count: number): Promise<HolePrediction[]> {
  const slot = slotFor(128, 128);
  const out: HolePrediction[] = [];
  for (let i = 0; i < count; i++) {
    const t = renderHoleCrop({ seed: start + i, size: 128 }, slot.data);
    model.preprocess(slot);
    await model.infer();
    model.decode();
    out.push({ seed: start + i, truth: t.defects, prob: Array.from(model.classification!.probabilities) });
  }
  return out;
}

/** Per-label precision/recall/F1/AUROC at the manifest thresholds, macro F1, exact-match and part-level numbers. */
export function holeMetrics(
  preds: readonly HolePrediction[],
  labels: readonly string[],
  thresholds: Record<string, number>,
): Record<string, unknown> {
  const per: Record<string, unknown> = {};
  const f1s: number[] = [];
  labels.forEach((l, k) => {
    const y = preds.map((p) => p.truth.includes(l as HoleDefectKind));
    const s = preds.map((p) => p.prob[k]!);
    const st = binaryStats(
      s.map((v) => v >= (thresholds[l] ?? 0.5)),
      y,
    );
    f1s.push(st.f1);
    per[l] = { n: y.filter(Boolean).length, precision: r4(st.precision), recall: r4(st.recall), f1: r4(st.f1), auroc: r4(auroc(s, y)) };
  });
  const exact = preds.filter((p) => labels.every((l, k) => p.truth.includes(l as HoleDefectKind) === p.prob[k]! >= (thresholds[l] ?? 0.5))).length;
  const part = binaryStats(
    preds.map((p) => labels.some((l, k) => p.prob[k]! >= (thresholds[l] ?? 0.5))),
    preds.map((p) => p.truth.length > 0),
  );
  return {
    crops: preds.length,
    macroF1: r4(f1s.reduce((a, b) => a + b, 0) / f1s.length),
    exactMatch: r4(exact / preds.length),
    perLabel: per,
    partLevel: {
      accuracy: r4(part.accuracy),
      falseRejectRate: r4(part.fp / Math.max(1, part.fp + part.tn)),
      missRate: r4(part.fn / Math.max(1, part.fn + part.tp)),
    },
  };
}

export interface SurfaceScore {
  seed: number;
  family: SurfaceFamily;
  defect: SurfaceDefectKind | null;
  raw: number;
  normalized: number;
  map: Float32Array;
  mask: Uint8Array | null;
}

/** Runs an anomaly-map model on 512² surfaces rendered with extended nuisances. */
export async function scoreSurfaces(
  model: StationModel,
  parts: readonly { seed: number; family: SurfaceFamily; defect: SurfaceDefectKind | null }[],
  keepMaps = false,
): Promise<SurfaceScore[]> {
  const slot = slotFor(512, 512);
  const an = model.anomaly!;
  const mapOut = model.onnx.output(an.spec.mapOutput);
  const out: SurfaceScore[] = [];
  for (const p of parts) {
    const t = renderSurface({ seed: p.seed, width: 512, height: 512, family: p.family, defect: p.defect, nuisances: 'extended' }, slot.data);
    model.preprocess(slot);
    await model.infer();
    model.decode();
    out.push({
      ...p,
      raw: an.rawScore,
      normalized: an.score,
      map: keepMaps ? mapOut.slice() : new Float32Array(0),
      mask: keepMaps && t.mask ? t.mask : null,
    });
  }
  return out;
}

const r4 = (v: number): number => (Number.isFinite(v) ? Math.round(v * 1e4) / 1e4 : v);
