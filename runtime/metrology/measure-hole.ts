/**
 * One hole, from a coarse centre and radius to millimetres:
 *
 *   pass 1  radial rays from the coarse centre, window 0.55–1.45 r ─► RANSAC circle (px) ─► ellipse (px)
 *   pass 2  rays from the refined centre, window ±max(6 px, 8%) around the pass-1 ellipse
 *           ─► RANSAC inliers ─► Hyper ─► Levenberg–Marquardt, in px (centre_px, residual) and, after
 *              undistortion/scale (PixelToMm), in mm (centre, diameter, roundness, ellipse/ovality)
 *   then    countersink ring (optional), damage zone for the delamination factor Fd
 *
 * Everything lives in buffers sized at construction; `measure` fills a reusable HoleMeasurement.
 */
import type { PixelToMm } from './calibration.ts';
import { Circle, compact, fitCircleLM, fitHyper, ransacCircle } from './circle-fit.ts';
import { Ellipse, fitEllipse } from './ellipse-fit.ts';
import { RAY_STEP, RayScanner } from './radial-edges.ts';
import { roundness } from './roundness.ts';

export interface MeasureOptions {
  polarity: 'dark' | 'bright';
  /** Rays per hole; 0: about one per pixel of circumference (64–720). */
  rays: number;
  /** RANSAC inlier band, px. */
  ransacPx: number;
  /** Minimum edge gradient, grey levels per px. */
  minGradient: number;
  /** ISO 12181-2 filter cut-off for roundness, undulations per revolution (0: unfiltered). */
  roundnessUpr: number;
  /** Countersink included angle in degrees; null: do not look for a countersink. */
  countersinkDeg: number | null;
  /** Damage (delamination, burr) search out to this multiple of the bore radius; 0 disables Fd. */
  damageSearch: number;
  /** A sample is damage when it differs from the surrounding surface by this many grey levels (or 5σ). */
  damageContrast: number;
  /** Nominal diameter (mm) for Fd = Dmax / Dnom; null: the measured diameter. */
  nominalMm: number | null;
}

export const DEFAULT_MEASURE_OPTIONS: MeasureOptions = {
  polarity: 'dark',
  rays: 0,
  ransacPx: 1,
  minGradient: 6,
  roundnessUpr: 15,
  countersinkDeg: null,
  damageSearch: 1.8,
  damageContrast: 30,
  nominalMm: null,
};

export class HoleMeasurement {
  found = false;
  /** Why nothing was measured, when found is false. */
  failure = '';
  readonly centerPx = new Float64Array(2);
  readonly centerMm = new Float64Array(2);
  diameterPx = 0;
  diameterMm = 0;
  roundnessMm = 0;
  roundnessRawMm = 0;
  /** (major − minor) / mean diameter of the fitted ellipse. */
  ovality = 0;
  majorMm = 0;
  minorMm = 0;
  angleDeg = 0;
  /** Tilt implied by the ellipse, acos(minor/major). */
  tiltDeg = 0;
  residualPx = 0;
  residualMm = 0;
  points = 0;
  rays = 0;
  outliers = 0;
  countersinkMm = Number.NaN;
  countersinkDepthMm = Number.NaN;
  damageDiameterMm = Number.NaN;
  fd = Number.NaN;
}

const MAX_RAYS = 720;

export class HoleMeasurer {
  private readonly mapper: PixelToMm;
  private readonly o: MeasureOptions;
  private readonly scan = new RayScanner();
  private readonly ux = new Float64Array(MAX_RAYS);
  private readonly uy = new Float64Array(MAX_RAYS);
  private readonly ix = new Float64Array(MAX_RAYS);
  private readonly iy = new Float64Array(MAX_RAYS);
  private readonly mx = new Float64Array(MAX_RAYS);
  private readonly my = new Float64Array(MAX_RAYS);
  private readonly inl = new Uint8Array(MAX_RAYS);
  private readonly mm = new Float64Array(2);
  private readonly hist = new Uint32Array(256);
  private readonly c1 = new Circle();
  private readonly c2 = new Circle();
  private readonly e1 = new Ellipse();
  private readonly ring = new Circle();

  constructor(mapper: PixelToMm, options: Partial<MeasureOptions> = {}) {
    this.mapper = mapper;
    this.o = { ...DEFAULT_MEASURE_OPTIONS, ...options };
  }

  get options(): Readonly<MeasureOptions> {
    return this.o;
  }

  measure(
    img: Uint8Array,
    W: number,
    H: number,
    cx0: number,
    cy0: number,
    r0: number,
    out: HoleMeasurement,
    nominalMm: number | null = this.o.nominalMm,
  ): boolean {
    out.found = false;
    out.failure = '';
    out.countersinkMm = out.countersinkDepthMm = out.damageDiameterMm = out.fd = Number.NaN;
    const o = this.o;
    const sign = o.polarity === 'dark' ? 1 : -1;
    // Pass 1 only has to find the centre to a fraction of a pixel: 96 rays are plenty.
    const nr = Math.min(96, o.rays > 0 ? Math.min(MAX_RAYS, o.rays) : Math.max(64, Math.min(MAX_RAYS, Math.round(2 * Math.PI * r0))));
    const { ux, uy, ix, iy, inl, c1, c2, e1 } = this;
    const mode = o.countersinkDeg !== null ? 'first' : 'strongest';

    // Pass 1: coarse centre, generous window.
    let n = 0;
    for (let k = 0; k < nr; k++) {
      const t = (2 * Math.PI * k) / nr,
        c = Math.cos(t),
        s = Math.sin(t);
      const r = this.scan.edge(img, W, H, cx0, cy0, c, s, 0.55 * r0, 1.45 * r0, sign, o.minGradient, mode);
      if (r === r) {
        ux[n] = cx0 + r * c;
        uy[n] = cy0 + r * s;
        n++;
      }
    }
    if (n < Math.max(12, nr * 0.4)) return fail(out, `edges on ${n} of ${nr} rays`);
    let ni = ransacCircle(ux, uy, n, Math.max(o.ransacPx, 0.02 * r0), inl, c1, 200, 0.3 * r0, 2 * r0);
    if (ni < Math.max(12, n * 0.5)) return fail(out, `no circle: ${ni} of ${n} edge points agree`);
    ni = compact(ux, uy, n, inl, ix, iy);
    if (!fitHyper(ix, iy, ni, c2) || !(fitCircleLM(ix, iy, ni, c2, c1) >= 0)) return fail(out, 'circle fit failed');
    const haveEllipse = fitEllipse(ix, iy, ni, e1) && e1.b > 0.5 * e1.a && Math.hypot(e1.cx - c1.cx, e1.cy - c1.cy) < 0.2 * c1.r;

    // Pass 2: rays from the refined centre, narrow window around the pass-1 shape.
    const cx = c1.cx,
      cy = c1.cy;
    const win = Math.max(6, 0.08 * c1.r);
    const nr2 = o.rays > 0 ? Math.min(MAX_RAYS, o.rays) : Math.max(64, Math.min(MAX_RAYS, Math.round(2 * Math.PI * c1.r)));
    n = 0;
    for (let k = 0; k < nr2; k++) {
      const t = (2 * Math.PI * k) / nr2,
        c = Math.cos(t),
        s = Math.sin(t);
      let re = c1.r;
      if (haveEllipse) {
        const d = t - e1.angle,
          bc = e1.b * Math.cos(d),
          as = e1.a * Math.sin(d);
        re = (e1.a * e1.b) / Math.sqrt(bc * bc + as * as);
      }
      const r = this.scan.edge(img, W, H, cx, cy, c, s, re - win, re + win, sign, o.minGradient, mode);
      if (r === r) {
        ux[n] = cx + r * c;
        uy[n] = cy + r * s;
        n++;
      }
    }
    out.rays = nr2;
    if (n < Math.max(12, nr2 * 0.4)) return fail(out, `edges on ${n} of ${nr2} rays (pass 2)`);
    // Inliers: against the pass-1 circle, or its ellipse for tilted holes (a circle band would cut the ends).
    ni =
      haveEllipse && e1.a - e1.b > o.ransacPx
        ? this.ellipseInliers(n, e1, Math.max(o.ransacPx, 0.01 * c1.r))
        : ransacCircle(ux, uy, n, Math.max(o.ransacPx, 0.01 * c1.r), inl, c2, 200, 0.5 * c1.r, 1.5 * c1.r);
    if (ni < Math.max(12, n * 0.5)) return fail(out, `no circle in pass 2: ${ni} of ${n} edge points agree`);
    ni = compact(ux, uy, n, inl, ix, iy);
    if (!fitHyper(ix, iy, ni, c2)) return fail(out, 'circle fit failed (pass 2)');
    const resPx = fitCircleLM(ix, iy, ni, c2, c1);
    if (!(resPx >= 0)) return fail(out, 'geometric fit failed');
    out.centerPx[0] = c1.cx;
    out.centerPx[1] = c1.cy;
    out.diameterPx = 2 * c1.r;
    out.residualPx = resPx;
    out.points = ni;
    out.outliers = n - ni;

    // Millimetres: undistort/scale each inlier, then fit again (a circle on the part plane).
    const { mx, my, mm } = this;
    for (let i = 0; i < ni; i++) {
      this.mapper.map(ix[i]!, iy[i]!, mm, 0);
      mx[i] = mm[0]!;
      my[i] = mm[1]!;
    }
    if (!fitHyper(mx, my, ni, c2)) return fail(out, 'circle fit failed (mm)');
    const resMm = fitCircleLM(mx, my, ni, c2, c2);
    if (!(resMm >= 0)) return fail(out, 'geometric fit failed (mm)');
    out.centerMm[0] = c2.cx;
    out.centerMm[1] = c2.cy;
    out.diameterMm = 2 * c2.r;
    out.residualMm = resMm;
    const rd = roundness(mx, my, ni, c2.cx, c2.cy, c2.r, o.roundnessUpr);
    out.roundnessMm = rd.roundness;
    out.roundnessRawMm = rd.raw;
    if (fitEllipse(mx, my, ni, e1)) {
      out.majorMm = 2 * e1.a;
      out.minorMm = 2 * e1.b;
      out.angleDeg = (e1.angle * 180) / Math.PI;
      out.ovality = (e1.a - e1.b) / ((e1.a + e1.b) / 2);
      out.tiltDeg = (Math.acos(Math.min(1, e1.b / e1.a)) * 180) / Math.PI;
    } else {
      out.majorMm = out.minorMm = out.diameterMm;
      out.ovality = out.angleDeg = out.tiltDeg = 0;
    }
    out.found = true;

    let outerPx = c1.r;
    if (o.countersinkDeg !== null) outerPx = this.countersink(img, W, H, out, c1, sign);
    if (o.damageSearch > 0) this.damage(img, W, H, out, c1.cx, c1.cy, outerPx, c1.r * o.damageSearch, nominalMm ?? out.diameterMm);
    return true;
  }

  private ellipseInliers(n: number, e: Ellipse, band: number): number {
    let count = 0;
    const ca = Math.cos(e.angle),
      sa = Math.sin(e.angle);
    for (let i = 0; i < n; i++) {
      const dx = this.ux[i]! - e.cx,
        dy = this.uy[i]! - e.cy;
      const t = Math.atan2(dx * sa * -1 + dy * ca, dx * ca + dy * sa);
      const bc = e.b * Math.cos(t),
        as = e.a * Math.sin(t);
      const re = (e.a * e.b) / Math.sqrt(bc * bc + as * as);
      const ok = Math.abs(Math.hypot(dx, dy) - re) <= band;
      this.inl[i] = ok ? 1 : 0;
      if (ok) count++;
    }
    return count;
  }

  /** Outer edge of a countersink ring, beyond the bore; depth from the included angle. Returns its radius in px. */
  private countersink(img: Uint8Array, W: number, H: number, out: HoleMeasurement, bore: Circle, sign: number): number {
    const o = this.o;
    const nr = out.rays;
    const { ux, uy, inl, c2, mm, mx, my } = this;
    let n = 0;
    for (let k = 0; k < nr; k++) {
      const t = (2 * Math.PI * k) / nr,
        c = Math.cos(t),
        s = Math.sin(t);
      const r = this.scan.edge(img, W, H, bore.cx, bore.cy, c, s, bore.r + 3, bore.r * 2.2, sign, o.minGradient);
      if (r === r) {
        ux[n] = bore.cx + r * c;
        uy[n] = bore.cy + r * s;
        n++;
      }
    }
    if (n < nr * 0.4) return bore.r;
    const ring = this.ring;
    const ni = ransacCircle(ux, uy, n, Math.max(1.5, 0.015 * bore.r), inl, ring, 200, bore.r * 1.05, bore.r * 2.3);
    if (ni < nr * 0.4) return bore.r;
    const k = compact(ux, uy, n, inl, ux, uy);
    for (let i = 0; i < k; i++) {
      this.mapper.map(ux[i]!, uy[i]!, mm, 0);
      mx[i] = mm[0]!;
      my[i] = mm[1]!;
    }
    if (!fitHyper(mx, my, k, c2) || !(fitCircleLM(mx, my, k, c2, c2) >= 0)) return bore.r;
    out.countersinkMm = 2 * c2.r;
    const half = ((o.countersinkDeg as number) * Math.PI) / 360;
    out.countersinkDepthMm = (out.countersinkMm - out.diameterMm) / 2 / Math.tan(half);
    return fitCircleLM(ux, uy, k, ring, ring) >= 0 ? ring.r : bore.r;
  }

  /**
   * Damage zone (delamination in CFRP, burr, chipping): the farthest point from the hole centre, per ray,
   * that differs from the surrounding surface by more than the contrast, connected to the edge with gaps
   * of at most 1.5 px. Dmax = 2·max distance (never less than the bore), Fd = Dmax / Dnom.
   */
  private damage(img: Uint8Array, W: number, H: number, out: HoleMeasurement, cx: number, cy: number, rIn: number, rOut: number, dNom: number): void {
    const o = this.o;
    const nr = out.rays;
    const start = rIn + 3;
    if (rOut <= start + 4) return;
    // Surface level and spread from the outer fifth of every ray.
    const hist = this.hist;
    hist.fill(0);
    let total = 0;
    const outer0 = start + 0.8 * (rOut - start);
    for (let k = 0; k < nr; k += 4) {
      const t = (2 * Math.PI * k) / nr;
      const m = this.scan.profile(img, W, H, cx, cy, Math.cos(t), Math.sin(t), outer0, rOut);
      const p = this.scan.samples;
      for (let i = 0; i < m; i++) {
        hist[Math.round(p[i]!)]!++;
        total++;
      }
    }
    if (total < 16) return;
    const med = histQuantile(hist, total, 0.5);
    const q25 = histQuantile(hist, total, 0.25),
      q75 = histQuantile(hist, total, 0.75);
    const sigma = (q75 - q25) / 1.349;
    const thr = Math.max(o.damageContrast, 5 * sigma);
    const gap = Math.ceil(1.5 / RAY_STEP) + 1;
    let maxD = 0;
    const mm = this.mm;
    const cmx = out.centerMm[0]!,
      cmy = out.centerMm[1]!;
    for (let k = 0; k < nr; k++) {
      const t = (2 * Math.PI * k) / nr,
        c = Math.cos(t),
        s = Math.sin(t);
      const m = this.scan.profile(img, W, H, cx, cy, c, s, start, rOut);
      const p = this.scan.samples;
      let last = -1,
        normalRun = 0;
      for (let i = 0; i < m; i++) {
        if (Math.abs(p[i]! - med) > thr) {
          last = i;
          normalRun = 0;
        } else if (++normalRun > gap) break;
      }
      if (last < 0) continue;
      const r = start + last * RAY_STEP;
      this.mapper.map(cx + r * c, cy + r * s, mm, 0);
      const d = Math.hypot(mm[0]! - cmx, mm[1]! - cmy);
      if (d > maxD) maxD = d;
    }
    out.damageDiameterMm = Math.max(2 * maxD, out.diameterMm);
    out.fd = out.damageDiameterMm / dNom;
  }
}

function histQuantile(hist: Uint32Array, total: number, q: number): number {
  const target = q * total;
  let acc = 0;
  for (let i = 0; i < 256; i++) {
    acc += hist[i]!;
    if (acc >= target) return i;
  }
  return 255;
}

function fail(out: HoleMeasurement, why: string): boolean {
  out.found = false;
  out.failure = why;
  return false;
}
