/**
 * Drilled-plate classifier graph: bilinear polar unwrapping of a fixed band around every nominal hole (Gather
 * with fixed indices), intensity relative to the plate's own surface, per-hole radial statistics, a trained
 * logistic layer shared by all holes (Gemm), and the per-label max over holes.
 */
import { GraphBuilder } from '../../onnx/graph-builder.ts';
import { DEFAULT_HOLE_PATTERN, type HolePattern } from '../../../sim/scenes/holes.ts';

export const SIZE = 256;
export const INPUT = 'image';
export const OUTPUT = 'logits';
export const LABELS = ['burr', 'chipping', 'oversize', 'missing_hole'] as const;
/** mm per pixel of the 256×256 model input (the 512×512 frame at 0.05 mm/px, halved). */
export const MM_PER_PX = 0.1;
export const RADIAL_OFFSETS_PX = Array.from({ length: 23 }, (_, i) => -4 + 0.5 * i); // −4 … +7 px around the nominal edge
export const ANGLES = 64;
export const CORE_RADII_PX = [0, 3, 6, 9, 12, 15];
export const CORE_ANGLES = 16;
export const FEATURES_PER_HOLE = 4 * RADIAL_OFFSETS_PX.length + 1;
/** Input normalisation of the model (the runtime's): x = (p/255 − MEAN)/STD. */
export const MEAN = 0.5;
export const STD = 0.25;

interface Sampling {
  idx: number[][]; // 4 corner index lists, each holes×radii×angles
  w: number[][]; // matching bilinear weights
  core: number[];
  background: number[];
  holes: number;
}

/** Fixed sampling geometry derived from the nominal hole pattern. */
export function sampling(pattern: HolePattern = DEFAULT_HOLE_PATTERN): Sampling {
  const R = pattern.diameterMm / 2 / MM_PER_PX;
  const centres = pattern.centresMm.map(([x, y]) => [x / MM_PER_PX - 0.5, y / MM_PER_PX - 0.5] as const);
  const idx: number[][] = [[], [], [], []];
  const w: number[][] = [[], [], [], []];
  const core: number[] = [];
  const clampI = (v: number): number => Math.min(SIZE - 1, Math.max(0, v));
  for (const [cx, cy] of centres) {
    for (const d of RADIAL_OFFSETS_PX)
      for (let a = 0; a < ANGLES; a++) {
        const t = (2 * Math.PI * a) / ANGLES;
        const X = cx + (R + d) * Math.cos(t);
        const Y = cy + (R + d) * Math.sin(t);
        const x0 = Math.floor(X);
        const y0 = Math.floor(Y);
        const fx = X - x0;
        const fy = Y - y0;
        const corners: [number, number, number][] = [
          [x0, y0, (1 - fx) * (1 - fy)],
          [x0 + 1, y0, fx * (1 - fy)],
          [x0, y0 + 1, (1 - fx) * fy],
          [x0 + 1, y0 + 1, fx * fy],
        ];
        corners.forEach(([xx, yy, ww], k) => {
          idx[k]!.push(clampI(yy) * SIZE + clampI(xx));
          w[k]!.push(ww);
        });
      }
    for (const r of CORE_RADII_PX)
      for (let a = 0; a < CORE_ANGLES; a++) {
        const t = (2 * Math.PI * a) / CORE_ANGLES;
        core.push(clampI(Math.round(cy + r * Math.sin(t))) * SIZE + clampI(Math.round(cx + r * Math.cos(t))));
      }
  }
  const background: number[] = [];
  for (let y = 4; y < SIZE - 4; y += 4)
    for (let x = 4; x < SIZE - 4; x += 4) if (centres.every(([cx, cy]) => Math.hypot(x - cx, y - cy) > R + 12)) background.push(y * SIZE + x);
  return { idx, w, core, background, holes: centres.length };
}

/** Graph up to the per-hole features [holes, F]. */
function features(g: GraphBuilder, s: Sampling): string {
  const H = s.holes;
  const nr = RADIAL_OFFSETS_PX.length;
  g.addInput(INPUT, [1, 1, SIZE, SIZE]);
  // back to p/255 so that ratios to the plate surface are gain-invariant
  const q = g.op('Add', [g.op('Mul', [INPUT, g.constF(STD)]), g.constF(MEAN)]);
  const flat = g.op('Reshape', [q, g.constI64([SIZE * SIZE])]);
  const bg = g.op('ReduceMean', [g.op('Gather', [flat, g.addInt64Initializer('bg_idx', s.background, [s.background.length])], { axis: 0 })], {
    keepdims: 1,
  });
  let polar = '';
  for (let k = 0; k < 4; k++) {
    const gi = g.addInt64Initializer(`polar_idx_${k}`, s.idx[k]!, [H, nr, ANGLES]);
    const gw = g.addInitializer(`polar_w_${k}`, Float32Array.from(s.w[k]!), [H, nr, ANGLES]);
    const term = g.op('Mul', [g.op('Gather', [flat, gi], { axis: 0 }), gw]);
    polar = k === 0 ? term : g.op('Add', [polar, term]);
  }
  const P = g.op('Div', [polar, bg]); // [H, nr, A]
  const mean = g.op('ReduceMean', [P], { axes: [2], keepdims: 1 });
  const dev = g.op('Sub', [P, mean]);
  const std = g.op('Sqrt', [g.op('Add', [g.op('ReduceMean', [g.op('Mul', [dev, dev])], { axes: [2], keepdims: 0 }), g.constF(1e-8)])]);
  const mn = g.op('ReduceMin', [P], { axes: [2], keepdims: 0 });
  const mx = g.op('ReduceMax', [P], { axes: [2], keepdims: 0 });
  const mean2 = g.op('Reshape', [mean, g.constI64([H, nr])]);
  const coreIdx = g.addInt64Initializer('core_idx', s.core, [H, s.core.length / H]);
  const core = g.op('Div', [g.op('ReduceMean', [g.op('Gather', [flat, coreIdx], { axis: 0 })], { axes: [1], keepdims: 1 }), bg]);
  return g.op('Concat', [mean2, std, mn, mx, core], { axis: 1 }); // [H, F]
}

export function buildFeatureGraph(s: Sampling = sampling()): Uint8Array {
  const g = new GraphBuilder('drilling_features');
  g.op('Identity', [features(g, s)], undefined, 'hole_features');
  g.addOutput('hole_features', [s.holes, FEATURES_PER_HOLE]);
  return g.toBytes();
}

export interface LogisticHead {
  featMean: Float32Array; // [F]
  featStd: Float32Array; // [F]
  weights: Float32Array; // [F, L] row-major
  bias: Float32Array; // [L]
}

export function buildClassifierGraph(head: LogisticHead, doc: string, s: Sampling = sampling()): Uint8Array {
  const g = new GraphBuilder('drilling_defects', doc);
  const f = features(g, s);
  const z = g.op('Div', [
    g.op('Sub', [f, g.addInitializer('feat_mean', head.featMean, [FEATURES_PER_HOLE])]),
    g.addInitializer('feat_std', head.featStd, [FEATURES_PER_HOLE]),
  ]);
  const W = g.addInitializer('logreg_W', head.weights, [FEATURES_PER_HOLE, LABELS.length]);
  const b = g.addInitializer('logreg_b', head.bias, [LABELS.length]);
  const perHole = g.op('Gemm', [z, W, b], undefined, 'hole_logits'); // [H, L]
  g.op('ReduceMax', [perHole], { axes: [0], keepdims: 1 }, OUTPUT); // [1, L]
  g.addOutput(OUTPUT, [1, LABELS.length]);
  return g.toBytes();
}
