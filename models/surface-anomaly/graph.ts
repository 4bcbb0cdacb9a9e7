/**
 * Surface anomaly graph: band-pass → global contrast normalisation → fixed 9-filter bank → local log-energy,
 * centred per image → Mahalanobis distance under the good-texture statistics → smoothed map and its max.
 */
import { GraphBuilder } from '../onnx/graph-builder.ts';
import { blurSep, gauss2d, kernel2d, reflectPad, zeroMeanUnitNorm } from '../onnx/filters.ts';

export const SIZE = 256;
export const INPUT = 'image';
export const MAP = 'anomaly_map';
export const SCORE = 'pred_score';
export const FILTER_RADIUS = 7;
export const FILTER_NAMES = ['lowpass_s1.5', 'lowpass_s2.5', 'dog_0.8_1.6', 'ridge_0', 'ridge_45', 'ridge_90', 'ridge_135', 'deriv_x', 'deriv_y'] as const;
/** Extra channel: broad DoG (σ 3 − σ 14) of the raw input, for soft low-contrast blobs (stains). */
export const BROAD_DOG = [2, 10] as const;
export const CHANNELS = FILTER_NAMES.length + 1;
export const LOCAL_MEAN_SIGMA = 6;
export const ENERGY_SIGMA = 2;
export const MAP_SIGMA = 2;
/** Map pixels this close to the frame edge are set to 0 (reflect-padding artefacts of oriented textures). */
export const BORDER = 12;

export function filterBank(): Float32Array {
  const r = FILTER_RADIUS;
  const n = 2 * r + 1;
  const ks: Float64Array[] = [];
  ks.push(gauss2d(r, 1.5));
  ks.push(gauss2d(r, 2.5));
  const g1 = gauss2d(r, 0.8);
  const g2 = gauss2d(r, 1.6);
  ks.push(zeroMeanUnitNorm(g1.map((v, i) => v - g2[i]!)));
  for (const deg of [0, 45, 90, 135]) {
    const t = (deg * Math.PI) / 180;
    const s = 1.2;
    // second derivative of a Gaussian across the line direction (responds to thin lines at angle deg)
    ks.push(zeroMeanUnitNorm(kernel2d(r, (x, y) => {
      const u = -x * Math.sin(t) + y * Math.cos(t);
      return Math.exp(-(x * x + y * y) / (2 * s * s)) * (u * u / (s * s * s * s) - 1 / (s * s));
    })));
  }
  ks.push(zeroMeanUnitNorm(kernel2d(r, (x, y) => -x * Math.exp(-(x * x + y * y) / (2 * 1.5 * 1.5)))));
  ks.push(zeroMeanUnitNorm(kernel2d(r, (x, y) => -y * Math.exp(-(x * x + y * y) / (2 * 1.5 * 1.5)))));
  const w = new Float32Array(ks.length * n * n);
  ks.forEach((k, c) => w.set(Float32Array.from(k), c * n * n));
  return w;
}

/** Graph up to the smoothed filter energies e [1,C,S,S]; returns the tensor name. */
function energies(g: GraphBuilder): string {
  g.addInput(INPUT, [1, 1, SIZE, SIZE]);
  const mean = blurSep(g, INPUT, 1, LOCAL_MEAN_SIGMA);
  const d = g.op('Sub', [INPUT, mean]);
  const d2 = g.op('Mul', [d, d]);
  const gvar = g.op('ReduceMean', [d2], { axes: [1, 2, 3], keepdims: 1 });
  const gstd = g.op('Sqrt', [g.op('Add', [gvar, g.constF(1e-6)])]);
  const nrm = g.op('Div', [d, gstd]);
  const n = 2 * FILTER_RADIUS + 1;
  const wb = g.addInitializer('filter_bank', filterBank(), [FILTER_NAMES.length, 1, n, n]);
  const bank = g.op('Conv', [reflectPad(g, nrm, FILTER_RADIUS), wb], { kernel_shape: [n, n] });
  const broad = g.op('Div', [g.op('Sub', [blurSep(g, INPUT, 1, BROAD_DOG[0]), blurSep(g, INPUT, 1, BROAD_DOG[1])]), gstd]);
  const resp = g.op('Concat', [bank, broad], { axis: 1 });
  const e = g.op('Mul', [resp, resp]);
  return blurSep(g, e, CHANNELS, ENERGY_SIGMA);
}

/** Feature-extraction graph (output `energy`), used to fit the good-texture statistics. */
export function buildEnergyGraph(): Uint8Array {
  const g = new GraphBuilder('surface_energy');
  const e = energies(g);
  g.op('Identity', [e], undefined, 'energy');
  g.addOutput('energy', [1, CHANNELS, SIZE, SIZE]);
  return g.toBytes();
}

export interface SurfaceStats {
  /** Per-channel log offset (fraction of the mean training energy). */
  eps: Float32Array;
  /** Mean of the per-image-centred log energies. */
  mu: Float32Array;
  /** Whitening matrix W (row-major C×C), W Σ Wᵀ = I. */
  whiten: Float32Array;
}

export function buildAnomalyGraph(stats: SurfaceStats, doc: string): Uint8Array {
  const g = new GraphBuilder('surface_anomaly', doc);
  const e = energies(g);
  const eps = g.addInitializer('log_eps', stats.eps, [1, CHANNELS, 1, 1]);
  const z = g.op('Log', [g.op('Add', [e, eps])]);
  // per-image standardisation of each log-energy channel (the texture family's level and spread drop out)
  const zc0 = g.op('Sub', [z, g.op('ReduceMean', [z], { axes: [2, 3], keepdims: 1 })]);
  const zsd = g.op('Sqrt', [g.op('Add', [g.op('ReduceMean', [g.op('Mul', [zc0, zc0])], { axes: [2, 3], keepdims: 1 }), g.constF(1e-6)])]);
  const zc = g.op('Div', [zc0, zsd]);
  const w = g.addInitializer('whiten', stats.whiten, [CHANNELS, CHANNELS, 1, 1]);
  const bias = new Float32Array(CHANNELS);
  for (let i = 0; i < CHANNELS; i++) {
    let s = 0;
    for (let j = 0; j < CHANNELS; j++) s += stats.whiten[i * CHANNELS + j]! * stats.mu[j]!;
    bias[i] = -s;
  }
  const b = g.addInitializer('whiten_bias', bias, [CHANNELS]);
  const y = g.op('Conv', [zc, w, b], { kernel_shape: [1, 1] });
  const m2 = g.op('ReduceSum', [g.op('Mul', [y, y]), g.constI64([1])], { keepdims: 1 });
  const sm = blurSep(g, m2, 1, MAP_SIGMA);
  const inner = g.op('Slice', [sm, g.constI64([BORDER, BORDER]), g.constI64([SIZE - BORDER, SIZE - BORDER]), g.constI64([2, 3])]);
  const framed = g.op('Pad', [inner, g.constI64([0, 0, BORDER, BORDER, 0, 0, BORDER, BORDER])], { mode: 'constant' });
  g.op('Sqrt', [g.op('Relu', [framed])], undefined, MAP);
  const mx = g.op('ReduceMax', [MAP], { keepdims: 0 });
  g.op('Reshape', [mx, g.constI64([1])], undefined, SCORE);
  g.addOutput(MAP, [1, 1, SIZE, SIZE]);
  g.addOutput(SCORE, [1]);
  return g.toBytes();
}
