/**
 * Roundness: peak-to-valley radial deviation from the least-squares circle (ISO 12181-1 RONt with the LSCI
 * reference). `upr` applies the ISO 12181-2 Gaussian profile filter (50% transmission at `upr` undulations per
 * revolution, transmission exp(−π(α k/upr)²), α = √(ln2/π)); 0 means unfiltered. Filtering matters for a
 * camera: edge noise of ~0.05 px per point alone makes the unfiltered peak-to-valley of 300 points ≈ 0.3 px.
 * Harmonics come from sums over the points, which assumes roughly uniform angular spacing (radial rays).
 */

const ALPHA = Math.sqrt(Math.LN2 / Math.PI);

export interface RoundnessResult {
  /** Peak-to-valley of the filtered profile (same unit as the points). */
  roundness: number;
  /** Peak-to-valley of the raw residuals. */
  raw: number;
}

const res: RoundnessResult = { roundness: 0, raw: 0 };
let resid = new Float64Array(1024);
let filt = new Float64Array(1024);
let cosP = new Float64Array(1024);
let sinP = new Float64Array(1024);
let powRe = new Float64Array(1024);
let powIm = new Float64Array(1024);

export function roundness(xs: ArrayLike<number>, ys: ArrayLike<number>, n: number, cx: number, cy: number, r: number, upr: number): RoundnessResult {
  if (resid.length < n) {
    resid = new Float64Array(n);
    filt = new Float64Array(n);
    cosP = new Float64Array(n);
    sinP = new Float64Array(n);
  }
  let lo = Infinity,
    hi = -Infinity;
  for (let i = 0; i < n; i++) {
    const dx = xs[i]! - cx,
      dy = ys[i]! - cy;
    const d = Math.hypot(dx, dy);
    const e = d - r;
    resid[i] = e;
    cosP[i] = dx / d;
    sinP[i] = dy / d;
    if (e < lo) lo = e;
    if (e > hi) hi = e;
  }
  res.raw = n > 0 ? hi - lo : Number.NaN;
  if (!(upr > 0) || n < 8) {
    res.roundness = res.raw;
    return res;
  }
  const kMax = Math.min(Math.floor(n / 2) - 1, Math.ceil(3 * upr));
  filt.fill(0, 0, n);
  // (powRe, powIm) = e^{ikφ} per point, advanced one harmonic at a time: O(n·k) and no trig in the loop.
  if (powRe.length < n) {
    powRe = new Float64Array(n);
    powIm = new Float64Array(n);
  }
  for (let i = 0; i < n; i++) {
    powRe[i] = cosP[i]!;
    powIm[i] = sinP[i]!;
  }
  for (let k = 2; k <= kMax; k++) {
    const w = Math.exp(-Math.PI * ((ALPHA * k) / upr) ** 2);
    if (w < 1e-4) break;
    let ak = 0,
      bk = 0;
    for (let i = 0; i < n; i++) {
      const re = powRe[i]! * cosP[i]! - powIm[i]! * sinP[i]!;
      const im = powRe[i]! * sinP[i]! + powIm[i]! * cosP[i]!;
      powRe[i] = re;
      powIm[i] = im;
      ak += resid[i]! * re;
      bk += resid[i]! * im;
    }
    ak *= 2 / n;
    bk *= 2 / n;
    for (let i = 0; i < n; i++) filt[i]! += w * (ak * powRe[i]! + bk * powIm[i]!);
  }
  lo = Infinity;
  hi = -Infinity;
  for (let i = 0; i < n; i++) {
    if (filt[i]! < lo) lo = filt[i]!;
    if (filt[i]! > hi) hi = filt[i]!;
  }
  res.roundness = hi - lo;
  return res;
}

/** ISO 12181-2 Gaussian filter transmission at harmonic k for cut-off `upr`. */
export function uprTransmission(k: number, upr: number): number {
  return upr > 0 ? Math.exp(-Math.PI * ((ALPHA * k) / upr) ** 2) : 1;
}
