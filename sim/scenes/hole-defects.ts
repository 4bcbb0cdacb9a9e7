/**
 * Hole-centred crops for the hole-defect classifier: one drilled hole per crop, geometry in mm projected at
 * mmPerPx, 4×4 area sampling near edges, then blur, gain/gradient, gamma and Poisson-Gaussian noise. Any
 * subset of five defects may be present (multi-label): exit burr, chipping bites, radial cracks, CFRP
 * delamination (truth Fd = Dmax/Dnom) and debris. Dimensions (diameter, roundness) are classic metrology's
 * job (hole-metrology.ts, owned by the metrology work); this renderer is for defect appearance, and keeps
 * its own small geometry so the classifier's data does not move when the metrology renderer is tuned.
 */
import { Prng, hashUnit } from './prng.ts';
import { gaussianBlurInPlace } from './blur.ts';

export type HoleDefectKind = 'burr' | 'chipping' | 'crack' | 'delamination' | 'debris';
export const HOLE_DEFECTS: readonly HoleDefectKind[] = ['burr', 'chipping', 'crack', 'delamination', 'debris'];
export type HoleMaterial = 'metal' | 'cfrp';
/** Bumped whenever the rendered pixels for a given seed change (model cards record it). */
export const HOLE_CROP_GENERATOR_VERSION = 1;

export interface HoleCropOptions {
  seed: number;
  /** Square crop size in px (default 128). */
  size?: number;
  /** Defects to draw; default: drawn from the seed (35% good, else one or two kinds). */
  defects?: readonly HoleDefectKind[];
  material?: HoleMaterial;
}

export interface HoleCropTruth {
  defects: HoleDefectKind[];
  material: HoleMaterial;
  mmPerPx: number;
  diameterMm: number;
  centrePx: [number, number];
  /** Delamination factor Dmax/Dnom (1 when there is no delamination). */
  fd: number;
  params: Record<string, unknown>;
}

/** The seed's default defect set: 35% good, otherwise one kind (75%) or two. Delamination only on CFRP, burr only on metal. */
export function holeCropDefectsForSeed(seed: number, material: HoleMaterial): HoleDefectKind[] {
  const r = new Prng(seed ^ 0x3c6ef372);
  if (r.next() < 0.35) return [];
  const allowed = HOLE_DEFECTS.filter((d) => (material === 'cfrp' ? d !== 'burr' : d !== 'delamination'));
  const first = r.pick(allowed);
  if (r.next() < 0.75) return [first];
  const rest = allowed.filter((d) => d !== first);
  return [first, r.pick(rest)];
}

export function holeCropMaterialForSeed(seed: number): HoleMaterial {
  return new Prng(seed ^ 0x1b873593).next() < 0.5 ? 'metal' : 'cfrp';
}

let fbuf = new Float32Array(0);
let tbuf = new Float32Array(0);

export function renderHoleCrop(opts: HoleCropOptions, out: Uint8Array): HoleCropTruth {
  const N = opts.size ?? 128;
  if (out.length < N * N) throw new RangeError('renderHoleCrop: output too small');
  const seed = opts.seed;
  const material = opts.material ?? holeCropMaterialForSeed(seed);
  const defects = [...(opts.defects ?? holeCropDefectsForSeed(seed, material))];
  const has = (d: HoleDefectKind): boolean => defects.includes(d);
  const rng = new Prng(seed);
  const s = rng.uniform(0.045, 0.055) * (128 / N);
  const D = rng.uniform(3.6, 4.4);
  const R = D / 2;
  const half = (N * s) / 2;
  const cx = half + rng.uniform(-0.25, 0.25);
  const cy = half + rng.uniform(-0.25, 0.25);
  const tilt = rng.uniform(0, 0.14);
  const axis = rng.uniform(0, Math.PI);
  const a = R;
  const b = R * Math.cos(tilt);
  const lobeK = rng.int(2, 4);
  const lobeA = rng.uniform(0, 0.012);
  const lobeP = rng.uniform(0, 2 * Math.PI);
  const metal = material === 'metal';
  const surfL = metal ? rng.uniform(150, 195) : rng.uniform(70, 105);
  const boreL = rng.uniform(20, 45);
  const wallL = rng.uniform(10, 30);
  const grainSeed = rng.int(0, 0x7fffffff);
  const texAng = rng.uniform(0, Math.PI);
  const texAmp = metal ? rng.uniform(3, 7) : rng.uniform(6, 12);
  const cs = rng.next() < 0.4 ? { r: R + rng.uniform(0.25, 0.55), level: surfL * rng.uniform(0.55, 0.8) } : null;
  const params: Record<string, unknown> = { seed, material, mmPerPx: s, diameterMm: D, tiltRad: tilt, countersinkMm: cs ? 2 * cs.r : null };

  // Defect geometry from its own stream so the part looks the same with and without a given defect.
  const drng = new Prng(seed ^ 0x68e31da4);
  const edgeR = cs ? cs.r : R;
  // burr: bright rolled-over rim outside the exit edge over an arc
  let burr: { a0: number; span: number; w: number; bright: number; seed: number } | null = null;
  if (has('burr')) {
    burr = {
      a0: drng.uniform(0, 2 * Math.PI),
      span: drng.uniform(0.25, 1) * 2 * Math.PI,
      w: drng.uniform(0.1, 0.3),
      bright: drng.uniform(25, 55),
      seed: drng.int(0, 1e9),
    };
    params.burr = { ...burr };
  }
  const bites: { x: number; y: number; r: number }[] = [];
  if (has('chipping')) {
    const k = drng.int(1, 3);
    for (let i = 0; i < k; i++) {
      const ang = drng.uniform(0, 2 * Math.PI);
      const r = drng.uniform(0.12, 0.3);
      const d = edgeR + r * drng.uniform(0.15, 0.5);
      bites.push({ x: cx + d * Math.cos(ang), y: cy + d * Math.sin(ang), r });
    }
    params.bites = bites.map((q) => ({ ...q }));
  }
  const cracks: { pts: [number, number][]; w: number; depth: number }[] = [];
  if (has('crack')) {
    const k = drng.int(1, 2);
    for (let i = 0; i < k; i++) {
      let ang = drng.uniform(0, 2 * Math.PI);
      // at 0.05 mm/px a crack narrower than a pixel or shorter than ~15 px is below what the optics resolve
      const len = drng.uniform(0.8, 1.5);
      const pts: [number, number][] = [];
      let x = cx + (edgeR - 0.05) * Math.cos(ang);
      let y = cy + (edgeR - 0.05) * Math.sin(ang);
      const steps = Math.ceil(len / 0.02);
      for (let j = 0; j <= steps; j++) {
        pts.push([x, y]);
        ang += 0.12 * drng.normal();
        x += 0.02 * Math.cos(ang);
        y += 0.02 * Math.sin(ang);
      }
      cracks.push({ pts, w: drng.uniform(0.05, 0.09), depth: drng.uniform(0.5, 0.8) });
    }
    params.cracks = cracks.map((c) => ({ lengthMm: (c.pts.length - 1) * 0.02, widthMm: c.w, depth: c.depth }));
  }
  const peaks: { phi: number; w: number; h: number }[] = [];
  let fd = 1;
  let delamContrast = 0;
  if (has('delamination')) {
    fd = drng.uniform(1.1, 1.4);
    delamContrast = drng.uniform(25, 55);
    const np = drng.int(2, 5);
    for (let i = 0; i < np; i++)
      peaks.push({ phi: drng.uniform(0, 2 * Math.PI), w: drng.uniform(0.15, 0.6), h: i === 0 ? 1 : drng.uniform(0.3, 0.85) });
    params.delamination = { fd, contrast: delamContrast };
  }
  const debris: { x: number; y: number; rx: number; ry: number; ang: number; level: number }[] = [];
  if (has('debris')) {
    const k = drng.int(1, 4);
    for (let i = 0; i < k; i++) {
      const ang = drng.uniform(0, 2 * Math.PI);
      // bright chips anywhere (also lying in the bore); dark ones only on the surface, where they show
      const bright = drng.next() < 0.6;
      const d = drng.uniform(bright ? R * 0.5 : R + 0.15, Math.min(R + 1.0, half * 0.95));
      const len = drng.uniform(0.08, 0.3);
      debris.push({
        x: cx + d * Math.cos(ang),
        y: cy + d * Math.sin(ang),
        rx: len,
        ry: len * drng.uniform(0.3, 0.8),
        ang: drng.uniform(0, Math.PI),
        level: bright ? drng.uniform(215, 250) : drng.uniform(5, 25),
      });
    }
    params.debris = debris.length;
  }
  const delamR = (phi: number): number => {
    let f = 0;
    for (const p of peaks) {
      let d = phi - p.phi;
      d -= Math.round(d / (2 * Math.PI)) * 2 * Math.PI;
      f = Math.max(f, p.h * Math.exp(-((d / p.w) ** 2)));
    }
    return R + (fd * R - R) * f;
  };

  const value = (x: number, y: number, surf: number): number => {
    const dx = x - cx;
    const dy = y - cy;
    const rho = Math.hypot(dx, dy);
    const phi = Math.atan2(dy, dx);
    for (const q of debris) {
      const u = (x - q.x) * Math.cos(q.ang) + (y - q.y) * Math.sin(q.ang);
      const v = -(x - q.x) * Math.sin(q.ang) + (y - q.y) * Math.cos(q.ang);
      if ((u * u) / (q.rx * q.rx) + (v * v) / (q.ry * q.ry) < 1) return q.level;
    }
    const t = phi - axis;
    const bc = b * Math.cos(t);
    const as = a * Math.sin(t);
    const rb = (a * b) / Math.sqrt(bc * bc + as * as) + lobeA * Math.cos(lobeK * phi + lobeP);
    if (rho < rb) return boreL + wallL * Math.exp(-(rb - rho) / 0.15);
    for (const q of bites) if (Math.hypot(x - q.x, y - q.y) < q.r) return boreL + 15 + 25 * hashUnit(Math.floor(x / 0.02), Math.floor(y / 0.02), 77);
    let v = surf;
    if (cs && rho < cs.r) v = cs.level + 6 * Math.cos(phi - axis);
    else if (peaks.length > 0 && rho < delamR(phi)) v = surf + delamContrast * (0.5 + 0.5 * hashUnit(Math.floor(x / 0.04), Math.floor(y / 0.04), 91));
    if (burr && rho < edgeR + burr.w) {
      let da = phi - burr.a0;
      da -= Math.floor(da / (2 * Math.PI)) * 2 * Math.PI;
      if (da <= burr.span) {
        const w = burr.w * (0.6 + 0.4 * hashUnit(Math.floor((da * 180) / Math.PI / 6), 0, burr.seed));
        if (rho < edgeR + w) return surf + burr.bright * (0.4 + 0.9 * hashUnit(Math.floor(x / 0.03), Math.floor(y / 0.03), burr.seed));
      }
    }
    for (const c of cracks) {
      // distance to the polyline (coarse: the crack is short, ≤ 60 points)
      let best = 1e9;
      let at = 0;
      for (let j = 0; j < c.pts.length; j += 1) {
        const [px, py] = c.pts[j]!;
        const d = (x - px) * (x - px) + (y - py) * (y - py);
        if (d < best) {
          best = d;
          at = j;
        }
      }
      const wj = c.w * (1 - (0.6 * at) / c.pts.length);
      if (Math.sqrt(best) < wj / 2) v *= 1 - c.depth;
    }
    return v;
  };

  const n = N * N;
  if (fbuf.length < n) {
    fbuf = new Float32Array(n);
    tbuf = new Float32Array(n);
  }
  const img = fbuf;
  const ct = Math.cos(texAng);
  const st = Math.sin(texAng);
  const reach = Math.max(fd * R, edgeR + 0.4, R + 1.3) + 3 * s;
  for (let y = 0; y < N; y++)
    for (let x = 0; x < N; x++) {
      const px = (x + 0.5) * s;
      const py = (y + 0.5) * s;
      // surface texture: metal grain and feed marks, CFRP fibre striations along texAng
      const u = px * ct + py * st;
      const grain = hashUnit(x, y, grainSeed) - 0.5;
      const tex = metal
        ? texAmp * Math.sin(u * 9 + 2 * hashUnit(Math.floor(u * 12), 0, grainSeed)) * 0.5 + 4 * grain
        : texAmp * (hashUnit(Math.floor((-px * st + py * ct) / 0.012), 0, grainSeed) - 0.5) + 3 * grain;
      const surf = surfL + tex;
      const rho = Math.hypot(px - cx, py - cy);
      if (rho > reach || rho < Math.min(a, b) * 0.5) {
        img[y * N + x] = value(px, py, surf);
        continue;
      }
      let acc = 0;
      for (let j = 0; j < 4; j++) for (let i = 0; i < 4; i++) acc += value((x + (i + 0.5) / 4) * s, (y + (j + 0.5) / 4) * s, surf);
      img[y * N + x] = acc / 16;
    }
  // camera: blur, gain and gradient, gamma, Poisson-Gaussian noise
  const blur = rng.uniform(0.4, 1.0);
  gaussianBlurInPlace(img, N, N, blur, tbuf);
  const gain = rng.uniform(0.85, 1.15);
  const gx = rng.uniform(-0.12, 0.12);
  const gy = rng.uniform(-0.12, 0.12);
  const gamma = rng.uniform(0.85, 1.2);
  const shot = rng.uniform(0.02, 0.12);
  const read = rng.uniform(1, 3);
  for (let y = 0; y < N; y++)
    for (let x = 0; x < N; x++) {
      let v = img[y * N + x]! * gain * (1 + gx * (x / N - 0.5) + gy * (y / N - 0.5));
      v = 255 * Math.pow(Math.max(0, v) / 255, gamma);
      v += Math.sqrt(read * read + shot * v) * rng.normal();
      out[y * N + x] = v <= 0 ? 0 : v >= 255 ? 255 : Math.round(v);
    }
  Object.assign(params, { blurPx: blur, gain, gamma, shotGain: shot, readNoise: read });
  return { defects, material, mmPerPx: s, diameterMm: D, centrePx: [cx / s - 0.5, cy / s - 0.5], fd, params };
}
