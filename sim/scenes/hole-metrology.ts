/**
 * Single drilled holes with exact ground truth, for metrology tests and accuracy benchmarks (the plate
 * renderer in holes.ts draws whole parts for the defect model). Geometry is in mm at the part plane, pixel
 * (i, j) is centred at ((i + ½)·s, (j + ½)·s) mm as in holes.ts, and every pixel near a boundary is the mean
 * of 4×4 sub-samples (area sampling). Then an optional Gaussian blur (σ in px), illumination gain and
 * gradient, Gaussian noise, and rounding to 8 bits.
 *
 * Boundary of the bore at polar angle φ (about the centre):
 *   ellipse radius (major = diameter, minor = diameter·cos tilt, at tiltAxisDeg)  +  Σ lobes A_k cos(k(φ − φ_k))
 * Truth: centre, diameter (the least-squares circle of a lobed circle has the nominal radius: harmonics k ≥ 2
 * are orthogonal to it), roundness = peak-to-valley of Σ lobes, ellipse axes, countersink, Fd = Dmax / D.
 */
import { Prng, hashUnit } from './prng.ts';
import { gaussianBlurInPlace } from './blur.ts';

export interface Lobe {
  /** Undulations per revolution (≥ 2). */
  k: number;
  /** Amplitude in mm (radius). */
  ampMm: number;
  phaseDeg: number;
}

export interface MetrologyHoleOptions {
  seed: number;
  width: number;
  height: number;
  mmPerPx: number;
  centreMm: readonly [number, number];
  diameterMm: number;
  lobes?: readonly Lobe[];
  /** A hole drilled at an angle to the optical axis images as an ellipse: minor = D·cos(tilt). */
  tiltDeg?: number;
  tiltAxisDeg?: number;
  countersink?: { diameterMm: number; level: number } | null;
  /** Rolled-over bright material just outside the edge over an angular sector. */
  burr?: { widthMm: number; fromDeg: number; toDeg: number; level: number } | null;
  /** CFRP peel-up zone out to dmaxMm (exactly reached at one angle), frayed elsewhere. */
  delamination?: { dmaxMm: number; contrast: number } | null;
  surfaceLevel?: number;
  boreLevel?: number;
  /** Amplitude of the fine surface grain (grey levels, peak to peak). */
  grain?: number;
  /** Gaussian blur σ in px (0: none; the 4×4 area sampling already models the pixel). */
  blurPx?: number;
  noiseSigma?: number;
  gain?: number;
  /** Illumination gradient across the field, fraction of the level (x, y). */
  gradient?: readonly [number, number];
}

export interface MetrologyHoleTruth {
  centreMm: [number, number];
  centrePx: [number, number];
  diameterMm: number;
  /** Peak-to-valley of the lobes (unfiltered), mm. */
  roundnessMm: number;
  majorMm: number;
  minorMm: number;
  countersinkMm: number | null;
  fd: number;
  damageDiameterMm: number;
}

let fbuf = new Float32Array(0);
let tbuf = new Float32Array(0);

export function renderMetrologyHole(opts: MetrologyHoleOptions, out: Uint8Array): MetrologyHoleTruth {
  const { width: W, height: H, mmPerPx: s } = opts;
  if (!(W > 0 && H > 0) || out.length < W * H) throw new RangeError('renderMetrologyHole: bad size or output too small');
  const rng = new Prng(opts.seed);
  const [cx, cy] = opts.centreMm;
  const R = opts.diameterMm / 2;
  const lobes = opts.lobes ?? [];
  const tilt = ((opts.tiltDeg ?? 0) * Math.PI) / 180;
  const axis = ((opts.tiltAxisDeg ?? 0) * Math.PI) / 180;
  const a = R,
    b = R * Math.cos(tilt);
  const surfL = opts.surfaceLevel ?? 180;
  const boreL = opts.boreLevel ?? 40;
  const grain = opts.grain ?? 2;
  const grainSeed = rng.int(0, 0x7fffffff);
  const cs = opts.countersink ?? null;
  const burr = opts.burr ?? null;
  const del = opts.delamination ?? null;

  // Delamination: frayed radius Rd(φ) = R + (Dmax/2 − R)·f(φ), f ∈ [0, 1] with max exactly 1 at peak 0.
  const peaks: { phi: number; w: number; h: number }[] = [];
  if (del) {
    const np = rng.int(3, 6);
    for (let i = 0; i < np; i++) peaks.push({ phi: rng.uniform(0, 2 * Math.PI), w: rng.uniform(0.15, 0.5), h: i === 0 ? 1 : rng.uniform(0.3, 0.85) });
  }
  const fray = (phi: number): number => {
    let f = 0;
    for (const p of peaks) {
      let d = phi - p.phi;
      d -= Math.round(d / (2 * Math.PI)) * 2 * Math.PI;
      f = Math.max(f, p.h * Math.exp(-((d / p.w) ** 2)));
    }
    return f;
  };
  const boundary = (phi: number): number => {
    const t = phi - axis;
    const bc = b * Math.cos(t),
      as = a * Math.sin(t);
    let r = (a * b) / Math.sqrt(bc * bc + as * as);
    for (const l of lobes) r += l.ampMm * Math.cos(l.k * (phi - (l.phaseDeg * Math.PI) / 180));
    return r;
  };
  const value = (x: number, y: number, surf: number): number => {
    const dx = x - cx,
      dy = y - cy;
    const rho = Math.hypot(dx, dy);
    const phi = Math.atan2(dy, dx);
    const rb = boundary(phi);
    if (rho < rb) return boreL;
    if (cs && rho < cs.diameterMm / 2) return cs.level;
    if (burr && rho < rb + burr.widthMm) {
      let t = (phi * 180) / Math.PI - burr.fromDeg;
      t -= Math.floor(t / 360) * 360;
      if (t <= burr.toDeg - burr.fromDeg) return burr.level;
    }
    if (del && rho < R + (del.dmaxMm / 2 - R) * fray(phi))
      return surf + del.contrast * (0.6 + 0.4 * hashUnit(Math.floor(x / 0.04), Math.floor(y / 0.04), 91));
    return surf;
  };

  let lobePv = 0;
  if (lobes.length > 0) {
    let lo = Infinity,
      hi = -Infinity;
    for (let i = 0; i < 7200; i++) {
      const phi = (2 * Math.PI * i) / 7200;
      let v = 0;
      for (const l of lobes) v += l.ampMm * Math.cos(l.k * (phi - (l.phaseDeg * Math.PI) / 180));
      lo = Math.min(lo, v);
      hi = Math.max(hi, v);
    }
    lobePv = hi - lo;
  }
  let lobeMax = 0;
  for (const l of lobes) lobeMax += Math.abs(l.ampMm);
  const inner = Math.min(a, b) - lobeMax - 2 * s;
  let outer = a + lobeMax + 2 * s;
  if (cs) outer = Math.max(outer, cs.diameterMm / 2 + 2 * s);
  if (burr) outer = Math.max(outer, a + lobeMax + burr.widthMm + 2 * s);
  if (del) outer = Math.max(outer, del.dmaxMm / 2 + 2 * s);
  const csIn = cs ? cs.diameterMm / 2 - 2 * s : Infinity;

  const n = W * H;
  if (fbuf.length < n) {
    fbuf = new Float32Array(n);
    tbuf = new Float32Array(n);
  }
  const img = fbuf,
    tmp = tbuf;
  const ss = 4;
  for (let y = 0; y < H; y++)
    for (let x = 0; x < W; x++) {
      const pxm = (x + 0.5) * s,
        pym = (y + 0.5) * s;
      const surf = surfL + grain * (hashUnit(x, y, grainSeed) - 0.5);
      const rho = Math.hypot(pxm - cx, pym - cy);
      const smooth = rho < inner || rho > outer || (cs !== null && !del && !burr && rho > a + lobeMax + 2 * s && rho < csIn);
      if (smooth) {
        img[y * W + x] = value(pxm, pym, surf);
        continue;
      }
      let acc = 0;
      for (let j = 0; j < ss; j++) for (let i = 0; i < ss; i++) acc += value((x + (i + 0.5) / ss) * s, (y + (j + 0.5) / ss) * s, surf);
      img[y * W + x] = acc / (ss * ss);
    }

  const sigma = opts.blurPx ?? 0;
  if (sigma > 0) gaussianBlurInPlace(img, W, H, sigma, tmp);
  const gain = opts.gain ?? 1;
  const [gx, gy] = opts.gradient ?? [0, 0];
  const noise = opts.noiseSigma ?? 0;
  for (let y = 0; y < H; y++)
    for (let x = 0; x < W; x++) {
      const v = img[y * W + x]! * gain * (1 + gx * (x / W - 0.5) + gy * (y / H - 0.5)) + (noise > 0 ? noise * rng.normal() : 0);
      out[y * W + x] = v <= 0 ? 0 : v >= 255 ? 255 : Math.round(v);
    }

  const dmax = del ? del.dmaxMm : 2 * (a + lobeMax + (burr ? burr.widthMm : 0));
  return {
    centreMm: [cx, cy],
    centrePx: [cx / s - 0.5, cy / s - 0.5],
    diameterMm: opts.diameterMm,
    roundnessMm: lobePv,
    majorMm: 2 * a,
    minorMm: 2 * b,
    countersinkMm: cs ? cs.diameterMm : null,
    fd: dmax / opts.diameterMm,
    damageDiameterMm: dmax,
  };
}

/**
 * A telecentric calibration target: dark dots of diameterMm on a bright ground at pitchMm, dot (0, 0) centred
 * at originMm (field mm, image top-left = 0), 4×4 area sampling at the dot edges, optional noise.
 */
export function renderDotGrid(
  opts: {
    width: number;
    height: number;
    mmPerPx: number;
    cols: number;
    rows: number;
    pitchMm: number;
    diameterMm: number;
    originMm: readonly [number, number];
    noiseSigma?: number;
    seed?: number;
  },
  out: Uint8Array,
): void {
  const { width: W, height: H, mmPerPx: s } = opts;
  const rng = new Prng(opts.seed ?? 3);
  const R = opts.diameterMm / 2;
  for (let y = 0; y < H; y++)
    for (let x = 0; x < W; x++) {
      const px = (x + 0.5) * s,
        py = (y + 0.5) * s;
      const i = Math.round((px - opts.originMm[0]) / opts.pitchMm),
        j = Math.round((py - opts.originMm[1]) / opts.pitchMm);
      let v = 200;
      if (i >= 0 && j >= 0 && i < opts.cols && j < opts.rows) {
        const cx = opts.originMm[0] + i * opts.pitchMm,
          cy = opts.originMm[1] + j * opts.pitchMm;
        const d = Math.hypot(px - cx, py - cy);
        if (d < R - s) v = 30;
        else if (d < R + s) {
          let acc = 0;
          for (let b = 0; b < 4; b++)
            for (let a = 0; a < 4; a++) acc += Math.hypot((x + (a + 0.5) / 4) * s - cx, (y + (b + 0.5) / 4) * s - cy) < R ? 30 : 200;
          v = acc / 16;
        }
      }
      const n = v + (opts.noiseSigma ? opts.noiseSigma * rng.normal() : 0);
      out[y * W + x] = n <= 0 ? 0 : n >= 255 ? 255 : Math.round(n);
    }
}
