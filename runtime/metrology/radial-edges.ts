/**
 * Sub-pixel edges along radial profiles. Each ray is sampled every half pixel by bilinear interpolation, the
 * derivative is a 1-px central difference smoothed by [1 2 1]/4, and the edge is the vertex of the parabola
 * through the peak and its neighbours (the "gradient-parabola" estimator; unbiased on a symmetric blur).
 */

export const RAY_STEP = 0.5;

export class RayScanner {
  private prof = new Float64Array(2048);
  private grad = new Float64Array(2048);
  /** Gradient (grey levels per px, polarity applied) at the last edge found. */
  lastStrength = 0;
  /** 'moment': centroid of the rise around the gradient peak (default); 'parabola': vertex through the peak. */
  estimator: 'moment' | 'parabola' = 'moment';

  /**
   * Radius of the edge on the ray (cx + r·c, cy + r·s), r in [r0, r1]; NaN when the ray leaves the image or
   * no gradient of at least minGrad is found. sign: +1 for dark inside → bright outside. mode 'first' takes
   * the innermost peak reaching `firstFrac` of the ray's strongest (the bore inside a countersink ring).
   */
  edge(
    img: Uint8Array,
    W: number,
    H: number,
    cx: number,
    cy: number,
    c: number,
    s: number,
    r0: number,
    r1: number,
    sign: number,
    minGrad: number,
    mode: 'strongest' | 'first' = 'strongest',
    firstFrac = 0.4,
  ): number {
    if (r0 < 0) r0 = 0;
    const bx = cx + r0 * c,
      by = cy + r0 * s;
    if (bx < 0 || by < 0 || bx > W - 2 || by > H - 2) return Number.NaN;
    // Clip the outer end to the image (a hole near the border, or a generous pass-1 window).
    if (c > 1e-12) r1 = Math.min(r1, (W - 2 - cx) / c);
    else if (c < -1e-12) r1 = Math.min(r1, -cx / c);
    if (s > 1e-12) r1 = Math.min(r1, (H - 2 - cy) / s);
    else if (s < -1e-12) r1 = Math.min(r1, -cy / s);
    const m = Math.floor((r1 - r0) / RAY_STEP) + 1;
    if (m < 7) return Number.NaN;
    if (m > this.prof.length) {
      this.prof = new Float64Array(m * 2);
      this.grad = new Float64Array(m * 2);
    }
    const p = this.prof,
      g = this.grad;
    for (let i = 0; i < m; i++) p[i] = bilinear(img, W, cx + (r0 + i * RAY_STEP) * c, cy + (r0 + i * RAY_STEP) * s);
    for (let i = 1; i < m - 1; i++) g[i] = sign * (p[i + 1]! - p[i - 1]!);
    g[0] = g[1]!;
    g[m - 1] = g[m - 2]!;
    // smooth in place with a one-sample delay
    let prev = g[0];
    for (let i = 1; i < m - 1; i++) {
      const cur = g[i]!;
      g[i] = 0.25 * prev + 0.5 * cur + 0.25 * g[i + 1]!;
      prev = cur;
    }
    let best = -1,
      bestV = -Infinity;
    for (let i = 2; i < m - 2; i++)
      if (g[i]! > bestV) {
        bestV = g[i]!;
        best = i;
      }
    if (best < 0 || bestV < minGrad) return Number.NaN;
    if (mode === 'first') {
      const need = Math.max(minGrad, firstFrac * bestV);
      for (let i = 2; i < best; i++) {
        if (g[i]! >= need && g[i]! >= g[i - 1]! && g[i]! > g[i + 1]!) {
          best = i;
          break;
        }
      }
    }
    this.lastStrength = g[best]!;
    if (this.estimator === 'moment') {
      // Centroid of the raw rise p[i+1] − p[i] (located at i + ½) over the peak's extent, where the smoothed
      // gradient stays above 15% of the peak, at most ±6 px (a σ 3 px blur spreads the rise over ±6 px). For an area-sampled step with linear interpolation
      // the centroid of the rise is exactly the edge (no pixel-phase bias, unlike the parabola vertex).
      const floor = 0.15 * bestV;
      let lo = best,
        hi = best;
      const lim = 6 / RAY_STEP;
      while (lo > 1 && best - lo < lim && g[lo - 1]! > floor) lo--;
      while (hi < m - 2 && hi - best < lim && g[hi + 1]! > floor) hi++;
      let sw = 0,
        swr = 0;
      for (let i = lo - 1; i <= hi; i++) {
        const d = sign * (p[i + 1]! - p[i]!);
        if (d <= 0) continue;
        sw += d;
        swr += d * (i + 0.5);
      }
      if (sw > 0) return r0 + (swr / sw) * RAY_STEP;
    }
    const gm = g[best - 1]!,
      g0 = g[best]!,
      gp = g[best + 1]!;
    const den = gm - 2 * g0 + gp;
    const delta = den < 0 ? (0.5 * (gm - gp)) / den : 0;
    return r0 + (best + Math.max(-0.5, Math.min(0.5, delta))) * RAY_STEP;
  }

  /** Raw profile samples of a ray (for the damage-zone scan); returns the sample count. */
  profile(img: Uint8Array, W: number, H: number, cx: number, cy: number, c: number, s: number, r0: number, r1: number): number {
    const m = Math.floor((r1 - r0) / RAY_STEP) + 1;
    if (m < 2) return 0;
    if (m > this.prof.length) {
      this.prof = new Float64Array(m * 2);
      this.grad = new Float64Array(m * 2);
    }
    let k = 0;
    for (; k < m; k++) {
      const x = cx + (r0 + k * RAY_STEP) * c,
        y = cy + (r0 + k * RAY_STEP) * s;
      if (x < 0 || y < 0 || x > W - 2 || y > H - 2) break;
      this.prof[k] = bilinear(img, W, x, y);
    }
    return k;
  }

  get samples(): Float64Array {
    return this.prof;
  }
}

export function bilinear(img: Uint8Array, W: number, x: number, y: number): number {
  const x0 = Math.floor(x),
    y0 = Math.floor(y);
  const fx = x - x0,
    fy = y - y0;
  const i = y0 * W + x0;
  const a = img[i]!,
    b = img[i + 1]!,
    c = img[i + W]!,
    d = img[i + W + 1]!;
  return (a + (b - a) * fx) * (1 - fy) + (c + (d - c) * fx) * fy;
}
