/**
 * Seeded synthetic surfaces for anomaly-detection demos: four texture families, camera nuisances and four
 * defect kinds with exact pixel masks. Pure TypeScript; the same options always give the same bytes.
 */
import { Prng, hashUnit } from './prng.ts';
import { gaussianBlurInPlace } from './blur.ts';

export type SurfaceFamily = 'brushed' | 'cast' | 'painted' | 'cfrp';
export type SurfaceDefectKind = 'scratch' | 'dent' | 'stain' | 'crack' | 'texture';

export const SURFACE_FAMILIES: readonly SurfaceFamily[] = ['brushed', 'cast', 'painted', 'cfrp'];
/** The original four kinds (the demo line and the shipped demo model cycle over these). */
export const SURFACE_DEFECTS: readonly SurfaceDefectKind[] = ['scratch', 'dent', 'stain', 'crack'];
/** Every kind, including the texture anomaly (a Perlin-masked patch of another texture family). */
export const SURFACE_DEFECTS_ALL: readonly SurfaceDefectKind[] = ['scratch', 'dent', 'stain', 'crack', 'texture'];
/** Bumped whenever the pixels for given options change (model cards record it). */
export const SURFACE_GENERATOR_VERSION = 2;

export interface SurfaceOptions {
  seed: number;
  width: number;
  height: number;
  /** Texture family; default derived from the seed (seed mod 4 over SURFACE_FAMILIES). */
  family?: SurfaceFamily;
  /** Defect to render; default none. */
  defect?: SurfaceDefectKind | null;
  /**
   * 'basic' (default, the original bytes): gain/offset, illumination gradient, vignetting, Gaussian noise.
   * 'extended' adds small rotation (±4°) and scale (±5%), defocus (Gaussian σ ≤ 1.2 px), gamma (0.8–1.25) and
   * Poisson-Gaussian noise instead of plain Gaussian noise; drawn from a separate stream of the seed.
   */
  nuisances?: 'basic' | 'extended';
}

export interface DefectBox {
  kind: string;
  /** [x, y, w, h] in image pixels, tight around the defect mask. */
  bboxPx: [number, number, number, number];
}

/** Compatible with PartTruth (runtime/frame/frame-slot.ts); `mask` is an extra width*height 0/1 map. */
export interface SurfaceTruth {
  defective: boolean;
  defects: DefectBox[];
  params: Record<string, unknown>;
  mask?: Uint8Array;
}

// Module-level scratch buffers, grown on demand so steady-state rendering allocates little.
let imgBuf = new Float32Array(0);
let covBuf = new Float32Array(0);
function scratch(n: number): { img: Float32Array; cov: Float32Array } {
  if (imgBuf.length < n) {
    imgBuf = new Float32Array(n);
    covBuf = new Float32Array(n);
  }
  return { img: imgBuf, cov: covBuf };
}

export function familyForSeed(seed: number): SurfaceFamily {
  const i = ((Math.trunc(seed) % 4) + 4) % 4;
  return SURFACE_FAMILIES[i] as SurfaceFamily;
}

/** Render a Mono8 surface into `out` (row-major, length ≥ width*height) and return its ground truth. */
export function renderSurface(opts: SurfaceOptions, out: Uint8Array): SurfaceTruth {
  const { width: W, height: H, seed } = opts;
  if (!(W > 0 && H > 0) || out.length < W * H) throw new RangeError('renderSurface: bad size or output too small');
  const family = opts.family ?? familyForSeed(seed);
  const defect = opts.defect ?? null;
  const rng = new Prng(seed);
  const n = W * H;
  const { img, cov } = scratch(n);
  const params: Record<string, unknown> = { family, seed };

  switch (family) {
    case 'brushed':
      renderBrushed(rng, img, W, H, params);
      break;
    case 'cast':
      renderCast(rng, img, W, H, params);
      break;
    case 'painted':
      renderPainted(rng, img, W, H, params);
      break;
    case 'cfrp':
      renderCfrp(rng, img, W, H, params);
      break;
  }

  // Defect (drawn from its own stream so the texture does not depend on which defect is chosen).
  let mask: Uint8Array | undefined;
  const defects: DefectBox[] = [];
  if (defect) {
    const drng = new Prng(seed ^ 0x5bd1e995);
    mask = new Uint8Array(n);
    cov.fill(0, 0, n);
    switch (defect) {
      case 'scratch':
        drawScratch(drng, img, cov, mask, W, H, params);
        break;
      case 'dent':
        drawDent(drng, img, mask, W, H, params);
        break;
      case 'stain':
        drawStain(drng, img, mask, W, H, params);
        break;
      case 'crack':
        drawCrack(drng, img, cov, mask, W, H, params);
        break;
      case 'texture':
        drawTexturePatch(drng, family, img, mask, W, H, params);
        break;
    }
    const bbox = maskBBox(mask, W, H);
    if (bbox) defects.push({ kind: defect, bboxPx: bbox });
  }

  const extended = opts.nuisances === 'extended';
  const nrng = new Prng(seed ^ 0x7f4a7c15);
  let gamma = 1;
  let shot = 0;
  if (extended) {
    const rot = nrng.uniform(-4, 4);
    const scale = nrng.uniform(0.95, 1.05);
    const defocus = nrng.uniform(0, 1.2);
    gamma = nrng.uniform(0.8, 1.25);
    shot = nrng.uniform(0.05, 0.4);
    Object.assign(params, { rotationDeg: rot, scale, defocusSigmaPx: defocus, gamma, shotGain: shot });
    rotateScale(img, mask, W, H, (rot * Math.PI) / 180, scale);
    if (mask) {
      const bbox = maskBBox(mask, W, H);
      if (bbox && defects[0]) defects[0].bboxPx = bbox;
    }
    if (defocus > 0.3) gaussianBlurInPlace(img, W, H, defocus);
  }

  // Nuisances: per-part gain/offset, illumination gradient, vignetting, sensor noise.
  const gain = rng.uniform(0.9, 1.1);
  const offset = rng.uniform(-8, 8);
  const gx = rng.uniform(-0.15, 0.15);
  const gy = rng.uniform(-0.15, 0.15);
  const vig = rng.uniform(0.05, 0.2);
  const sigma = rng.uniform(1.5, 3);
  Object.assign(params, { gain, offset, gradient: [gx, gy], vignetting: vig, noiseSigma: sigma });
  const cx = (W - 1) / 2;
  const cy = (H - 1) / 2;
  const rmax2 = cx * cx + cy * cy;
  for (let y = 0; y < H; y++) {
    const fy = y / H - 0.5;
    const dy2 = (y - cy) * (y - cy);
    for (let x = 0; x < W; x++) {
      const i = y * W + x;
      const illum = (1 + gx * (x / W - 0.5) + gy * fy) * (1 - (vig * ((x - cx) * (x - cx) + dy2)) / rmax2);
      let v: number;
      if (!extended) v = img[i]! * gain * illum + offset + sigma * rng.normal();
      else {
        // gamma on the exposed signal, then Poisson-Gaussian sensor noise: variance = read² + shot·signal
        v = img[i]! * gain * illum + offset;
        v = 255 * Math.pow((v <= 0 ? 0 : v) / 255, gamma);
        v += Math.sqrt(sigma * sigma + shot * v) * rng.normal();
      }
      out[i] = v <= 0 ? 0 : v >= 255 ? 255 : Math.round(v);
    }
  }

  const truth: SurfaceTruth = { defective: defects.length > 0, defects, params };
  if (mask) truth.mask = mask;
  return truth;
}

// ---------------------------------------------------------------- textures

function smooth1d(a: Float32Array, sigma: number): Float32Array {
  const r = Math.max(1, Math.ceil(sigma * 3));
  const k = new Float32Array(2 * r + 1);
  let s = 0;
  for (let i = -r; i <= r; i++) s += k[i + r] = Math.exp(-(i * i) / (2 * sigma * sigma));
  for (let i = 0; i < k.length; i++) k[i]! /= s;
  const o = new Float32Array(a.length);
  for (let i = 0; i < a.length; i++) {
    let acc = 0;
    for (let j = -r; j <= r; j++) {
      const t = Math.min(a.length - 1, Math.max(0, i + j));
      acc += a[t]! * k[j + r]!;
    }
    o[i] = acc;
  }
  return o;
}

function normalize1d(a: Float32Array): Float32Array {
  let m = 0;
  for (const v of a) m += v;
  m /= a.length;
  let q = 0;
  for (const v of a) q += (v - m) * (v - m);
  const s = Math.sqrt(q / a.length) || 1;
  for (let i = 0; i < a.length; i++) a[i] = (a[i]! - m) / s;
  return a;
}

/** Brushed / turned metal: a 1-D streak profile across the brushing direction, with phase wobble along it. */
function renderBrushed(rng: Prng, img: Float32Array, W: number, H: number, params: Record<string, unknown>): void {
  const theta = rng.uniform(0, Math.PI);
  const c = Math.cos(theta);
  const s = Math.sin(theta);
  const L = Math.ceil(Math.hypot(W, H)) + 8;
  const fine = new Float32Array(L * 2);
  const coarse = new Float32Array(L * 2);
  for (let i = 0; i < fine.length; i++) {
    fine[i] = rng.normal();
    coarse[i] = rng.normal();
  }
  const fineS = normalize1d(smooth1d(fine, 0.7));
  const coarseS = normalize1d(smooth1d(coarse, 4));
  const base = rng.uniform(120, 160);
  const aFine = rng.uniform(6, 10);
  const aCoarse = rng.uniform(3, 6);
  // Phase noise along the streaks: a smooth random wobble table indexed by t.
  const wob = new Float32Array(L * 2);
  for (let i = 0; i < wob.length; i++) wob[i] = rng.normal();
  const wobS = normalize1d(smooth1d(wob, 25));
  const wobAmp = rng.uniform(0.5, 2.0);
  const along = new Float32Array(L * 2);
  for (let i = 0; i < along.length; i++) along[i] = rng.normal();
  const alongS = normalize1d(smooth1d(along, 12));
  Object.assign(params, { theta, base, aFine, aCoarse, wobAmp });
  // t = x·c + y·s lies in (−W, W+H); u = −x·s + y·c lies in (−W, H): both offset by L into 2L-long tables.
  for (let y = 0; y < H; y++) {
    for (let x = 0; x < W; x++) {
      const t = x * c + y * s + L;
      const ti = Math.min(2 * L - 1, Math.max(0, t | 0));
      const u = -x * s + y * c + L + wobAmp * wobS[ti]!;
      const u0 = Math.floor(u);
      const f = u - u0;
      const pf = fineS[u0]! * (1 - f) + fineS[u0 + 1]! * f;
      const pc = coarseS[u0]! * (1 - f) + coarseS[u0 + 1]! * f;
      img[y * W + x] = base + aFine * pf * (1 + 0.25 * alongS[ti]!) + aCoarse * pc;
    }
  }
}

/** Cast / sandblasted: cellular (Worley F2−F1) pits plus fine grain. */
function renderCast(rng: Prng, img: Float32Array, W: number, H: number, params: Record<string, unknown>): void {
  const cell = rng.uniform(9, 16);
  const hseed = rng.int(0, 0x7fffffff);
  const base = rng.uniform(110, 150);
  const aCell = rng.uniform(8, 14);
  const aGrain = rng.uniform(4, 7);
  Object.assign(params, { cell, base, aCell, aGrain });
  const gw = Math.ceil(W / cell) + 3;
  const gh = Math.ceil(H / cell) + 3;
  const px = new Float32Array(gw * gh);
  const py = new Float32Array(gw * gh);
  for (let j = 0; j < gh; j++)
    for (let i = 0; i < gw; i++) {
      px[j * gw + i] = (i - 1 + hashUnit(i, j, hseed)) * cell;
      py[j * gw + i] = (j - 1 + hashUnit(i, j, hseed + 1)) * cell;
    }
  for (let y = 0; y < H; y++) {
    const cj = Math.floor(y / cell) + 1;
    for (let x = 0; x < W; x++) {
      const ci = Math.floor(x / cell) + 1;
      let f1 = 1e9;
      let f2 = 1e9;
      for (let dj = -1; dj <= 1; dj++)
        for (let di = -1; di <= 1; di++) {
          const k = (cj + dj) * gw + ci + di;
          const dx = px[k]! - x;
          const dy = py[k]! - y;
          const d = dx * dx + dy * dy;
          if (d < f1) {
            f2 = f1;
            f1 = d;
          } else if (d < f2) f2 = d;
        }
      const edge = (Math.sqrt(f2) - Math.sqrt(f1)) / cell; // 0 at cell borders
      img[y * W + x] = base + aCell * (Math.min(edge, 0.6) / 0.6 - 0.5) * 2 + aGrain * rng.normal();
    }
  }
  box3(img, W, H);
}

function valueNoise(x: number, y: number, seed: number): number {
  const x0 = Math.floor(x);
  const y0 = Math.floor(y);
  const fx = x - x0;
  const fy = y - y0;
  const sx = fx * fx * (3 - 2 * fx);
  const sy = fy * fy * (3 - 2 * fy);
  const a = hashUnit(x0, y0, seed);
  const b = hashUnit(x0 + 1, y0, seed);
  const c = hashUnit(x0, y0 + 1, seed);
  const d = hashUnit(x0 + 1, y0 + 1, seed);
  return (a + (b - a) * sx + (c - a) * sy + (a - b - c + d) * sx * sy) * 2 - 1;
}

/** Painted: low-frequency fractal value noise (mottling) plus orange-peel. */
function renderPainted(rng: Prng, img: Float32Array, W: number, H: number, params: Record<string, unknown>): void {
  const hseed = rng.int(0, 0x7fffffff);
  const base = rng.uniform(100, 170);
  const aLow = rng.uniform(4, 8);
  const aPeel = rng.uniform(3, 6);
  const f0 = 1 / rng.uniform(80, 160);
  const fPeel = 1 / rng.uniform(4, 7);
  Object.assign(params, { base, aLow, aPeel, lowPeriodPx: 1 / f0, peelPeriodPx: 1 / fPeel });
  for (let y = 0; y < H; y++)
    for (let x = 0; x < W; x++) {
      let v = 0;
      let amp = 1;
      let f = f0;
      for (let o = 0; o < 4; o++) {
        v += amp * valueNoise(x * f, y * f, hseed + o * 7919);
        amp *= 0.5;
        f *= 2;
      }
      img[y * W + x] = base + aLow * v + aPeel * valueNoise(x * fPeel, y * fPeel, hseed + 104729);
    }
}

/** Carbon-fibre reinforced polymer, 2/2 twill: tows with rounded cross-profile and fibre striations. */
function renderCfrp(rng: Prng, img: Float32Array, W: number, H: number, params: Record<string, unknown>): void {
  const tow = rng.uniform(14, 22);
  const ang = rng.uniform(-0.08, 0.08);
  const base = rng.uniform(60, 90);
  const aTow = rng.uniform(25, 40);
  const ox = rng.uniform(0, 4 * tow);
  const oy = rng.uniform(0, 4 * tow);
  Object.assign(params, { towPx: tow, angle: ang, base, aTow });
  const L = Math.ceil((W + H) * 2) + 16;
  const striae = new Float32Array(L);
  for (let i = 0; i < L; i++) striae[i] = rng.normal();
  const st = normalize1d(smooth1d(striae, 0.8));
  const c = Math.cos(ang);
  const s = Math.sin(ang);
  for (let y = 0; y < H; y++)
    for (let x = 0; x < W; x++) {
      const u = x * c + y * s + ox;
      const v = -x * s + y * c + oy;
      const i = Math.floor(u / tow);
      const j = Math.floor(v / tow);
      const fu = u / tow - i;
      const fv = v / tow - j;
      const warpOnTop = (((i + j) % 4) + 4) % 4 < 2;
      // across-tow profile (bright crest, dark gaps) and shading where the tow dives under
      const across = warpOnTop ? fu : fv;
      const alongF = warpOnTop ? fv : fu;
      const crest = Math.sqrt(Math.sin(Math.PI * across));
      const dive = 0.75 + 0.25 * Math.sin(Math.PI * ((alongF + (warpOnTop ? j & 1 : i & 1)) / 2));
      const sIdx = Math.min(L - 1, Math.max(0, Math.floor((warpOnTop ? u : v) * 2)));
      img[y * W + x] = base + aTow * (crest * dive - 0.5) + 3 * st[sIdx]! * crest;
    }
}

function box3(img: Float32Array, W: number, H: number): void {
  const { cov } = scratch(W * H);
  for (let y = 0; y < H; y++)
    for (let x = 0; x < W; x++) {
      const xl = x > 0 ? x - 1 : x;
      const xr = x < W - 1 ? x + 1 : x;
      const r = y * W;
      cov[r + x] = (img[r + xl]! + img[r + x]! * 2 + img[r + xr]!) * 0.25;
    }
  for (let y = 0; y < H; y++) {
    const yu = y > 0 ? y - 1 : y;
    const yd = y < H - 1 ? y + 1 : y;
    for (let x = 0; x < W; x++) img[y * W + x] = (cov[yu * W + x]! + cov[y * W + x]! * 2 + cov[yd * W + x]!) * 0.25;
  }
}

// ---------------------------------------------------------------- defects

/** Max-stamp a soft disc of diameter `w` at (x, y) into the coverage buffer. */
function stamp(cov: Float32Array, W: number, H: number, x: number, y: number, w: number): void {
  const r = w / 2 + 1;
  const x0 = Math.max(0, Math.floor(x - r));
  const x1 = Math.min(W - 1, Math.ceil(x + r));
  const y0 = Math.max(0, Math.floor(y - r));
  const y1 = Math.min(H - 1, Math.ceil(y + r));
  for (let yy = y0; yy <= y1; yy++)
    for (let xx = x0; xx <= x1; xx++) {
      const d = Math.hypot(xx - x, yy - y);
      const c = Math.min(1, Math.max(0, w / 2 + 0.5 - d));
      const i = yy * W + xx;
      if (c > cov[i]!) cov[i] = c;
    }
}

function drawScratch(rng: Prng, img: Float32Array, cov: Float32Array, mask: Uint8Array, W: number, H: number, params: Record<string, unknown>): void {
  const m = Math.min(W, H) * 0.12;
  const len = rng.uniform(0.15, 0.45) * Math.min(W, H);
  const ang = rng.uniform(0, Math.PI * 2);
  const cx = rng.uniform(m + len / 2, W - m - len / 2);
  const cy = rng.uniform(m + len / 2, H - m - len / 2);
  const p0x = cx - (Math.cos(ang) * len) / 2;
  const p0y = cy - (Math.sin(ang) * len) / 2;
  const p2x = cx + (Math.cos(ang) * len) / 2;
  const p2y = cy + (Math.sin(ang) * len) / 2;
  const bend = rng.uniform(-0.3, 0.3) * len;
  const p1x = cx - Math.sin(ang) * bend;
  const p1y = cy + Math.cos(ang) * bend;
  const width = rng.uniform(1, 3);
  const bright = rng.next() < 0.5;
  const contrast = rng.uniform(35, 70);
  const segs = rng.int(6, 14);
  const on: boolean[] = [];
  for (let k = 0; k < segs; k++) on.push(rng.next() > 0.2 || k === 0);
  Object.assign(params, {
    defectLengthPx: len,
    defectWidthPx: width,
    defectPolarity: bright ? 'bright' : 'dark',
    defectContrast: contrast,
    gaps: on.filter((o) => !o).length,
  });
  const steps = Math.ceil(len * 2.5);
  for (let k = 0; k <= steps; k++) {
    const t = k / steps;
    if (!on[Math.min(segs - 1, Math.floor(t * segs))]) continue;
    const a = (1 - t) * (1 - t);
    const b = 2 * (1 - t) * t;
    const c = t * t;
    const wj = width * (0.8 + 0.4 * Math.sin(t * 17.3 + contrast));
    stamp(cov, W, H, a * p0x + b * p1x + c * p2x, a * p0y + b * p1y + c * p2y, Math.max(1, wj));
  }
  const sgn = bright ? 1 : -1;
  for (let i = 0; i < W * H; i++) {
    const c = cov[i]!;
    if (c > 0) {
      img[i] = img[i]! + sgn * contrast * c;
      if (c >= 0.25) mask[i] = 1;
    }
  }
}

function drawDent(rng: Prng, img: Float32Array, mask: Uint8Array, W: number, H: number, params: Record<string, unknown>): void {
  const R = rng.uniform(0.02, 0.05) * Math.min(W, H);
  const cx = rng.uniform(R * 2 + 8, W - R * 2 - 8);
  const cy = rng.uniform(R * 2 + 8, H - R * 2 - 8);
  const la = rng.uniform(0, Math.PI * 2);
  const lx = Math.cos(la);
  const ly = Math.sin(la);
  const contrast = rng.uniform(30, 55);
  const sig = R / 2;
  // d/dx of exp(-r²/2σ²) peaks at |x|=σ with value e^{-1/2}/σ; scale so the crescent peak equals `contrast`.
  const k = (contrast * sig) / Math.exp(-0.5);
  Object.assign(params, { defectRadiusPx: R, defectLightAngle: la, defectContrast: contrast });
  const r = Math.ceil(R * 2);
  for (let y = Math.max(0, Math.floor(cy - r)); y <= Math.min(H - 1, Math.ceil(cy + r)); y++)
    for (let x = Math.max(0, Math.floor(cx - r)); x <= Math.min(W - 1, Math.ceil(cx + r)); x++) {
      const dx = x - cx;
      const dy = y - cy;
      const g = Math.exp(-(dx * dx + dy * dy) / (2 * sig * sig));
      // a dent is a depression: height −g, surface normal tilts toward the centre
      const delta = (k * g * (dx * lx + dy * ly)) / (sig * sig);
      const i = y * W + x;
      img[i] = img[i]! + delta;
      if (Math.abs(delta) >= 0.2 * contrast) mask[i] = 1;
    }
}

function drawStain(rng: Prng, img: Float32Array, mask: Uint8Array, W: number, H: number, params: Record<string, unknown>): void {
  const R = rng.uniform(0.03, 0.08) * Math.min(W, H);
  const cx = rng.uniform(R * 1.6 + 4, W - R * 1.6 - 4);
  const cy = rng.uniform(R * 1.6 + 4, H - R * 1.6 - 4);
  const contrast = rng.uniform(0.1, 0.25);
  const darker = rng.next() < 0.7;
  const a2 = rng.uniform(0, 6.283);
  const a3 = rng.uniform(0, 6.283);
  const e2 = rng.uniform(0.05, 0.2);
  const e3 = rng.uniform(0.0, 0.12);
  Object.assign(params, { defectRadiusPx: R, defectContrast: contrast, defectPolarity: darker ? 'dark' : 'bright' });
  const r = Math.ceil(R * 1.6);
  const sgn = darker ? -1 : 1;
  for (let y = Math.max(0, Math.floor(cy - r)); y <= Math.min(H - 1, Math.ceil(cy + r)); y++)
    for (let x = Math.max(0, Math.floor(cx - r)); x <= Math.min(W - 1, Math.ceil(cx + r)); x++) {
      const dx = x - cx;
      const dy = y - cy;
      const phi = Math.atan2(dy, dx);
      const re = R * (1 + e2 * Math.sin(2 * phi + a2) + e3 * Math.sin(3 * phi + a3));
      const w = 1 / (1 + Math.exp((Math.hypot(dx, dy) - re) / (0.12 * R)));
      const i = y * W + x;
      img[i] = img[i]! * (1 + sgn * contrast * w);
      if (w >= 0.5) mask[i] = 1;
    }
}

function drawCrack(rng: Prng, img: Float32Array, cov: Float32Array, mask: Uint8Array, W: number, H: number, params: Record<string, unknown>): void {
  const m = Math.min(W, H) * 0.2;
  const total = rng.uniform(0.12, 0.3) * Math.min(W, H);
  const width = rng.uniform(1, 2.2);
  const depth = rng.uniform(0.45, 0.75);
  const walks: { x: number; y: number; a: number; n: number; w: number }[] = [
    { x: rng.uniform(m, W - m), y: rng.uniform(m, H - m), a: rng.uniform(0, 6.283), n: total, w: width },
  ];
  let branches = 0;
  let steps = 0;
  while (walks.length > 0) {
    const wk = walks.pop()!;
    let { x, y, a } = wk;
    for (let k = 0; k < wk.n; k++) {
      a += 0.15 * rng.normal();
      x += Math.cos(a);
      y += Math.sin(a);
      if (x < 2 || y < 2 || x > W - 3 || y > H - 3) break;
      stamp(cov, W, H, x, y, wk.w * (1 - (0.5 * k) / wk.n));
      steps++;
      if (branches < 3 && k > 5 && rng.next() < 0.025) {
        branches++;
        walks.push({ x, y, a: a + (rng.next() < 0.5 ? -1 : 1) * rng.uniform(0.4, 1.0), n: (wk.n - k) * rng.uniform(0.3, 0.6), w: wk.w * 0.8 });
      }
    }
  }
  Object.assign(params, { defectLengthPx: steps, defectWidthPx: width, defectDepth: depth, branches });
  for (let i = 0; i < W * H; i++) {
    const c = cov[i]!;
    if (c > 0) {
      img[i] = img[i]! * (1 - depth * c);
      if (c >= 0.25) mask[i] = 1;
    }
  }
}

/**
 * Texture anomaly (DRAEM-style): a patch of another texture family, mean/std matched to the host so only the
 * texture differs, blended through a thresholded fractal-noise (Perlin-like) mask inside a soft ellipse.
 */
function drawTexturePatch(
  rng: Prng,
  host: SurfaceFamily,
  img: Float32Array,
  mask: Uint8Array,
  W: number,
  H: number,
  params: Record<string, unknown>,
): void {
  const others = SURFACE_FAMILIES.filter((f) => f !== host);
  const fam = rng.pick(others);
  const patch = new Float32Array(W * H);
  const prng = new Prng(rng.int(0, 0x7fffffff));
  const sub: Record<string, unknown> = {};
  if (fam === 'brushed') renderBrushed(prng, patch, W, H, sub);
  else if (fam === 'cast') renderCast(prng, patch, W, H, sub);
  else if (fam === 'painted') renderPainted(prng, patch, W, H, sub);
  else renderCfrp(prng, patch, W, H, sub);
  const R = rng.uniform(0.06, 0.14) * Math.min(W, H);
  const cx = rng.uniform(R * 1.3 + 8, W - R * 1.3 - 8);
  const cy = rng.uniform(R * 1.3 + 8, H - R * 1.3 - 8);
  const ecc = rng.uniform(0.6, 1);
  const ang = rng.uniform(0, Math.PI);
  const nseed = rng.int(0, 0x7fffffff);
  const f0 = 1 / (R * rng.uniform(0.5, 0.9));
  const opacity = rng.uniform(0.6, 1);
  Object.assign(params, { defectPatchFamily: fam, defectRadiusPx: R, defectOpacity: opacity });
  const r = Math.ceil(R * 1.3);
  const x0 = Math.max(0, Math.floor(cx - r));
  const x1 = Math.min(W - 1, Math.ceil(cx + r));
  const y0 = Math.max(0, Math.floor(cy - r));
  const y1 = Math.min(H - 1, Math.ceil(cy + r));
  // host and patch statistics over the patch window
  let hm = 0,
    hq = 0,
    pm = 0,
    pq = 0,
    k = 0;
  for (let y = y0; y <= y1; y++)
    for (let x = x0; x <= x1; x++) {
      const i = y * W + x;
      hm += img[i]!;
      hq += img[i]! * img[i]!;
      pm += patch[i]!;
      pq += patch[i]! * patch[i]!;
      k++;
    }
  hm /= k;
  pm /= k;
  const hs = Math.sqrt(Math.max(1e-6, hq / k - hm * hm));
  const ps = Math.sqrt(Math.max(1e-6, pq / k - pm * pm));
  const c = Math.cos(ang);
  const s = Math.sin(ang);
  for (let y = y0; y <= y1; y++)
    for (let x = x0; x <= x1; x++) {
      const dx = x - cx;
      const dy = y - cy;
      const u = (dx * c + dy * s) / R;
      const v = (-dx * s + dy * c) / (R * ecc);
      const ell = 1 - Math.hypot(u, v); // > 0 inside the ellipse
      if (ell <= -0.1) continue;
      let nz = 0;
      let amp = 1;
      let f = f0;
      for (let o = 0; o < 3; o++) {
        nz += amp * valueNoise(x * f, y * f, nseed + o * 131);
        amp *= 0.5;
        f *= 2;
      }
      // noise in about [−1.75, 1.75]: the ellipse raises it towards the centre, a sigmoid makes the mask
      const m = 1 / (1 + Math.exp(-(nz + 2.5 * ell - 0.3) / 0.12));
      if (m < 0.02) continue;
      const i = y * W + x;
      const pv = hm + ((patch[i]! - pm) / ps) * hs;
      img[i] = img[i]! + opacity * m * (pv - img[i]!);
      if (m * opacity >= 0.5) mask[i] = 1;
    }
}

/** Rotate and scale the image (and mask) about the centre: bilinear for pixels, nearest for the mask, clamped borders. */
function rotateScale(img: Float32Array, mask: Uint8Array | undefined, W: number, H: number, rot: number, scale: number): void {
  const src = Float32Array.from(img.subarray(0, W * H));
  const msrc = mask ? mask.slice() : undefined;
  const c = Math.cos(rot) / scale;
  const s = Math.sin(rot) / scale;
  const cx = (W - 1) / 2;
  const cy = (H - 1) / 2;
  for (let y = 0; y < H; y++)
    for (let x = 0; x < W; x++) {
      const dx = x - cx;
      const dy = y - cy;
      let sx = cx + c * dx + s * dy;
      let sy = cy - s * dx + c * dy;
      sx = sx < 0 ? 0 : sx > W - 1 ? W - 1 : sx;
      sy = sy < 0 ? 0 : sy > H - 1 ? H - 1 : sy;
      const x0 = Math.min(W - 2, Math.floor(sx));
      const y0 = Math.min(H - 2, Math.floor(sy));
      const fx = sx - x0;
      const fy = sy - y0;
      const i = y0 * W + x0;
      const top = src[i]! + (src[i + 1]! - src[i]!) * fx;
      const bot = src[i + W]! + (src[i + W + 1]! - src[i + W]!) * fx;
      img[y * W + x] = top + (bot - top) * fy;
      if (mask && msrc) mask[y * W + x] = msrc[Math.round(sy) * W + Math.round(sx)]!;
    }
}

/** Tight [x, y, w, h] around the set pixels of a 0/1 mask, or null when empty. */
export function maskBBox(mask: Uint8Array, W: number, H: number): [number, number, number, number] | null {
  let x0 = W;
  let y0 = H;
  let x1 = -1;
  let y1 = -1;
  for (let y = 0; y < H; y++)
    for (let x = 0; x < W; x++)
      if (mask[y * W + x]) {
        if (x < x0) x0 = x;
        if (x > x1) x1 = x;
        if (y < y0) y0 = y;
        if (y > y1) y1 = y;
      }
  return x1 < 0 ? null : [x0, y0, x1 - x0 + 1, y1 - y0 + 1];
}
