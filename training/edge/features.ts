/**
 * Shared PaDiM-style machinery for the filter-bank anomaly models: the fixed multi-scale feature graph (ONNX
 * Conv), the Gaussian statistics fitted on good parts, and the Mahalanobis heads. Used by the shipped demo
 * model (models/surface-anomaly) and by edge training (`linesight train anomaly`, training/edge/padim.ts).
 *
 *   texture mode  — statistics shared across locations, for stationary textures whose phase, gain and
 *                   lighting vary part to part: band-pass → global contrast normalisation → filter bank →
 *                   local log-energy → per-image standardisation → one mean/covariance → Mahalanobis map.
 *   fixtured mode — per-location statistics for fixtured parts: features average-pooled to stride 4,
 *                   one mean/covariance per cell (shrunk towards the pooled covariance) → Mahalanobis map,
 *                   bilinearly upsampled to the input size.
 */
import type { GraphBuilder } from '../onnx/graph-builder.ts';
import { blurSep, gauss2d, kernel2d, reflectPad, zeroMeanUnitNorm } from '../onnx/filters.ts';

export const FILTER_RADIUS = 7;
export const FILTER_NAMES = [
  'lowpass_s1.5',
  'lowpass_s2.5',
  'dog_0.8_1.6',
  'ridge_0',
  'ridge_45',
  'ridge_90',
  'ridge_135',
  'deriv_x',
  'deriv_y',
] as const;
/** Extra channel: broad DoG (σ 2 − σ 10) of the raw input, for soft low-contrast blobs (stains). */
export const BROAD_DOG = [2, 10] as const;
export const TEXTURE_CHANNELS = FILTER_NAMES.length + 1;
export const LOCAL_MEAN_SIGMA = 6;
export const ENERGY_SIGMA = 2;
export const MAP_SIGMA = 2;
/** Fixtured mode: feature cell size (stride) and channels (texture log-energies + smoothed intensity). */
export const FIXTURED_STRIDE = 4;
export const FIXTURED_CHANNELS = TEXTURE_CHANNELS + 1;

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
    ks.push(
      zeroMeanUnitNorm(
        kernel2d(r, (x, y) => {
          const u = -x * Math.sin(t) + y * Math.cos(t);
          return Math.exp(-(x * x + y * y) / (2 * s * s)) * ((u * u) / (s * s * s * s) - 1 / (s * s));
        }),
      ),
    );
  }
  ks.push(zeroMeanUnitNorm(kernel2d(r, (x, y) => -x * Math.exp(-(x * x + y * y) / (2 * 1.5 * 1.5)))));
  ks.push(zeroMeanUnitNorm(kernel2d(r, (x, y) => -y * Math.exp(-(x * x + y * y) / (2 * 1.5 * 1.5)))));
  const w = new Float32Array(ks.length * n * n);
  ks.forEach((k, c) => w.set(Float32Array.from(k), c * n * n));
  return w;
}

/** Smoothed filter energies e [1,C,S,S] of `input` [1,1,S,S]; also returns the global band-pass scale. */
export function textureEnergies(g: GraphBuilder, input: string): { energy: string; gstd: string } {
  const mean = blurSep(g, input, 1, LOCAL_MEAN_SIGMA);
  const d = g.op('Sub', [input, mean]);
  const d2 = g.op('Mul', [d, d]);
  const gvar = g.op('ReduceMean', [d2], { axes: [1, 2, 3], keepdims: 1 });
  const gstd = g.op('Sqrt', [g.op('Add', [gvar, g.constF(1e-6)])]);
  const nrm = g.op('Div', [d, gstd]);
  const n = 2 * FILTER_RADIUS + 1;
  const wb = g.addInitializer('filter_bank', filterBank(), [FILTER_NAMES.length, 1, n, n]);
  const bank = g.op('Conv', [reflectPad(g, nrm, FILTER_RADIUS), wb], { kernel_shape: [n, n] });
  const broad = g.op('Div', [g.op('Sub', [blurSep(g, input, 1, BROAD_DOG[0]), blurSep(g, input, 1, BROAD_DOG[1])]), gstd]);
  const resp = g.op('Concat', [bank, broad], { axis: 1 });
  const e = g.op('Mul', [resp, resp]);
  return { energy: blurSep(g, e, TEXTURE_CHANNELS, ENERGY_SIGMA), gstd };
}

export interface TextureStats {
  /** Per-channel log offset (fraction of the mean training energy). */
  eps: Float32Array;
  /** Mean of the per-image-standardised log energies. */
  mu: Float32Array;
  /** Whitening matrix W (row-major C×C), W Σ Wᵀ = I. */
  whiten: Float32Array;
}

export interface HeadOptions {
  size: number;
  /** Map pixels this close to the frame edge are set to 0 (reflect-padding artefacts of oriented textures). */
  border: number;
  mapName: string;
  /** When set, also output the map's max as a [1] score. */
  scoreName?: string;
}

/** Texture-mode Mahalanobis head on the energies; writes the map (and score) outputs. */
export function textureHead(g: GraphBuilder, e: string, stats: TextureStats, o: HeadOptions): void {
  const C = TEXTURE_CHANNELS;
  const { size: S, border: B } = o;
  const eps = g.addInitializer('log_eps', stats.eps, [1, C, 1, 1]);
  const z = g.op('Log', [g.op('Add', [e, eps])]);
  // per-image standardisation of each log-energy channel (the texture's level and spread drop out)
  const zc0 = g.op('Sub', [z, g.op('ReduceMean', [z], { axes: [2, 3], keepdims: 1 })]);
  const zsd = g.op('Sqrt', [g.op('Add', [g.op('ReduceMean', [g.op('Mul', [zc0, zc0])], { axes: [2, 3], keepdims: 1 }), g.constF(1e-6)])]);
  const zc = g.op('Div', [zc0, zsd]);
  const w = g.addInitializer('whiten', stats.whiten, [C, C, 1, 1]);
  const bias = new Float32Array(C);
  for (let i = 0; i < C; i++) {
    let s = 0;
    for (let j = 0; j < C; j++) s += stats.whiten[i * C + j]! * stats.mu[j]!;
    bias[i] = -s;
  }
  const b = g.addInitializer('whiten_bias', bias, [C]);
  const y = g.op('Conv', [zc, w, b], { kernel_shape: [1, 1] });
  const m2 = g.op('ReduceSum', [g.op('Mul', [y, y]), g.constI64([1])], { keepdims: 1 });
  const sm = blurSep(g, m2, 1, MAP_SIGMA);
  const inner = g.op('Slice', [sm, g.constI64([B, B]), g.constI64([S - B, S - B]), g.constI64([2, 3])]);
  const framed = g.op('Pad', [inner, g.constI64([0, 0, B, B, 0, 0, B, B])], { mode: 'constant' });
  g.op('Sqrt', [g.op('Relu', [framed])], undefined, o.mapName);
  g.addOutput(o.mapName, [1, 1, S, S]);
  if (o.scoreName) {
    const mx = g.op('ReduceMax', [o.mapName], { keepdims: 0 });
    g.op('Reshape', [mx, g.constI64([1])], undefined, o.scoreName);
    g.addOutput(o.scoreName, [1]);
  }
}

/**
 * Fits texture statistics from energy maps [C,S,S] of good parts: ε_c = epsFraction × mean energy, then the
 * mean and covariance of the per-image-standardised log energies over every `stride`-th interior pixel,
 * shrinkage 1e-3·tr(Σ)/C, and the Cholesky whitening W = L⁻¹.
 */
export function fitTextureStats(
  energyMaps: readonly Float32Array[],
  size: number,
  border: number,
  stride: number,
  epsFraction: number,
): TextureStats {
  const C = TEXTURE_CHANNELS;
  const P = size * size;
  const meanE = new Float64Array(C);
  for (const e of energyMaps) for (let c = 0; c < C; c++) for (let i = 0; i < P; i++) meanE[c]! += e[c * P + i]!;
  const eps = Float32Array.from(meanE, (v) => (epsFraction * v) / (energyMaps.length * P));
  const sum = new Float64Array(C);
  const sumSq = new Float64Array(C * C);
  let count = 0;
  const z = new Float64Array(C * P);
  const v = new Float64Array(C);
  for (const e of energyMaps) {
    for (let c = 0; c < C; c++) {
      let m = 0;
      for (let i = 0; i < P; i++) m += z[c * P + i] = Math.log(Math.fround(e[c * P + i]! + eps[c]!));
      m /= P;
      let q = 0;
      for (let i = 0; i < P; i++) {
        z[c * P + i]! -= m;
        q += z[c * P + i]! * z[c * P + i]!;
      }
      const sd = Math.sqrt(q / P + 1e-6);
      for (let i = 0; i < P; i++) z[c * P + i]! /= sd;
    }
    for (let y = border; y < size - border; y += stride)
      for (let x = border; x < size - border; x += stride) {
        const i = y * size + x;
        for (let c = 0; c < C; c++) v[c] = z[c * P + i]!;
        for (let a = 0; a < C; a++) {
          sum[a]! += v[a]!;
          for (let b = 0; b < C; b++) sumSq[a * C + b]! += v[a]! * v[b]!;
        }
        count++;
      }
  }
  const mu = Float64Array.from(sum, (s) => s / count);
  const cov = new Float64Array(C * C);
  let tr = 0;
  for (let a = 0; a < C; a++)
    for (let b = 0; b < C; b++) {
      cov[a * C + b] = sumSq[a * C + b]! / count - mu[a]! * mu[b]!;
      if (a === b) tr += cov[a * C + b]!;
    }
  for (let a = 0; a < C; a++) cov[a * C + a]! += 1e-3 * (tr / C); // shrinkage keeps the inverse well conditioned
  return { eps, mu: Float32Array.from(mu), whiten: Float32Array.from(choleskyWhitening(cov, C)) };
}

/** W = L⁻¹ for Σ = L Lᵀ (lower triangular, row-major C×C): W Σ Wᵀ = I. */
export function choleskyWhitening(cov: Float64Array, C: number, out = new Float64Array(C * C)): Float64Array {
  const L = new Float64Array(C * C);
  for (let i = 0; i < C; i++)
    for (let j = 0; j <= i; j++) {
      let s = cov[i * C + j]!;
      for (let k = 0; k < j; k++) s -= L[i * C + k]! * L[j * C + k]!;
      L[i * C + j] = i === j ? Math.sqrt(Math.max(s, 1e-12)) : s / L[j * C + j]!;
    }
  out.fill(0);
  for (let col = 0; col < C; col++)
    for (let i = 0; i < C; i++) {
      let s = i === col ? 1 : 0;
      for (let k = 0; k < i; k++) s -= L[i * C + k]! * out[k * C + col]!;
      out[i * C + col] = s / L[i * C + i]!;
    }
  return out;
}

// ---------------------------------------------------------------- fixtured (per-location) mode

/**
 * Fixtured features [1, FIXTURED_CHANNELS, S/stride, S/stride]: the texture log-energies (no per-image
 * standardisation: location matters here) and the Gσ2-smoothed input standardised by its global mean and
 * std (gain/offset drop out), average-pooled over stride×stride cells.
 */
export function fixturedFeatures(g: GraphBuilder, input: string, eps: Float32Array): string {
  const { energy } = textureEnergies(g, input);
  const le = g.op('Log', [g.op('Add', [energy, g.addInitializer(g.fresh('log_eps'), eps, [1, TEXTURE_CHANNELS, 1, 1])])]);
  const sm = blurSep(g, input, 1, 2);
  const mean = g.op('ReduceMean', [sm], { axes: [1, 2, 3], keepdims: 1 });
  const c0 = g.op('Sub', [sm, mean]);
  const sd = g.op('Sqrt', [g.op('Add', [g.op('ReduceMean', [g.op('Mul', [c0, c0])], { axes: [1, 2, 3], keepdims: 1 }), g.constF(1e-6)])]);
  const inten = g.op('Div', [c0, sd]);
  const f = g.op('Concat', [le, inten], { axis: 1 });
  return g.op('AveragePool', [f], { kernel_shape: [FIXTURED_STRIDE, FIXTURED_STRIDE], strides: [FIXTURED_STRIDE, FIXTURED_STRIDE] });
}

export interface FixturedStats {
  /** Per-channel log offset of the energies. */
  eps: Float32Array;
  /** Per-cell mean [C, h, w]. */
  mu: Float32Array;
  /** Per-cell whitening [C, C, h, w] (W[a,b] at cell p is whiten[(a*C + b)*h*w + p]). */
  whiten: Float32Array;
  h: number;
  w: number;
}

/**
 * Per-cell Gaussians from pooled feature maps [C,h,w] of good parts, shrunk towards their own diagonal
 * (10–100 parts are few for a C×C covariance): Σ_p ← (1−α)Σ_p + α·diag(Σ_p) + λI, α = 0.3, λ = 0.01 × the
 * mean variance over cells and channels (PaDiM's 0.01·I, made scale-free). Pooling the samples of neighbouring
 * cells was tried and dropped: at hole edges the neighbours differ so much that edge defects (burr, oversize)
 * disappeared into the inflated variance (image AUROC 0.76 on drilled plates).
 */
export function fitFixturedStats(maps: readonly Float32Array[], eps: Float32Array, h: number, w: number): FixturedStats {
  const C = FIXTURED_CHANNELS;
  const P = h * w;
  const mu = new Float64Array(C * P);
  const sq = new Float64Array(C * C * P);
  const cnt = new Float64Array(P);
  for (const f of maps)
    for (let y = 0; y < h; y++)
      for (let x = 0; x < w; x++) {
        for (let dy = 0; dy <= 0; dy++)
          for (let dx = 0; dx <= 0; dx++) {
            const yy = y + dy;
            const xx = x + dx;
            if (yy < 0 || xx < 0 || yy >= h || xx >= w) continue;
            const q = yy * w + xx;
            const p = y * w + x;
            cnt[p]!++;
            for (let a = 0; a < C; a++) {
              const va = f[a * P + q]!;
              mu[a * P + p]! += va;
              for (let b = 0; b <= a; b++) sq[(a * C + b) * P + p]! += va * f[b * P + q]!;
            }
          }
      }
  const pooled = new Float64Array(C * C);
  const cov = new Float64Array(P * C * C);
  for (let p = 0; p < P; p++) {
    for (let a = 0; a < C; a++) mu[a * P + p]! /= cnt[p]!;
    for (let a = 0; a < C; a++)
      for (let b = 0; b <= a; b++) {
        const v = sq[(a * C + b) * P + p]! / cnt[p]! - mu[a * P + p]! * mu[b * P + p]!;
        cov[p * C * C + a * C + b] = v;
        cov[p * C * C + b * C + a] = v;
        pooled[a * C + b]! += v / P;
        if (a !== b) pooled[b * C + a]! += v / P;
      }
  }
  let tr = 0;
  for (let a = 0; a < C; a++) tr += pooled[a * C + a]!;
  const alpha = 0.5;
  const lambda = (0.01 * tr) / C;
  const whiten = new Float32Array(C * C * P);
  const one = new Float64Array(C * C);
  const W = new Float64Array(C * C);
  for (let p = 0; p < P; p++) {
    for (let k = 0; k < C * C; k++) one[k] = (1 - alpha) * cov[p * C * C + k]!;
    for (let a = 0; a < C; a++) one[a * C + a]! += alpha * cov[p * C * C + a * C + a]!;
    for (let a = 0; a < C; a++) one[a * C + a]! += lambda;
    choleskyWhitening(one, C, W);
    for (let k = 0; k < C * C; k++) whiten[k * P + p] = W[k]!;
  }
  return { eps, mu: Float32Array.from(mu), whiten, h, w };
}

/** Fixtured-mode Mahalanobis head: per-cell whitening (Mul + ReduceSum), upsampled to S×S and smoothed. */
export function fixturedHead(g: GraphBuilder, f: string, stats: FixturedStats, size: number, mapName: string): void {
  const C = FIXTURED_CHANNELS;
  const { h, w } = stats;
  const mu = g.addInitializer('cell_mean', stats.mu, [1, C, h, w]);
  const d = g.op('Sub', [f, mu]);
  const d5 = g.op('Unsqueeze', [d, g.constI64([1])]); // [1,1,C,h,w]
  const W = g.addInitializer('cell_whiten', stats.whiten, [1, C, C, h, w]);
  const y = g.op('ReduceSum', [g.op('Mul', [d5, W]), g.constI64([2])], { keepdims: 0 }); // [1,C,h,w]
  const m2 = g.op('ReduceSum', [g.op('Mul', [y, y]), g.constI64([1])], { keepdims: 1 });
  const m = g.op('Sqrt', [m2]);
  const up = g.op('Resize', [m, '', '', g.constI64([1, 1, size, size])], { mode: 'linear', coordinate_transformation_mode: 'half_pixel' });
  g.op('Identity', [blurSep(g, up, 1, MAP_SIGMA)], undefined, mapName);
  g.addOutput(mapName, [1, 1, size, size]);
}
