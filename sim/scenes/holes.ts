/**
 * Seeded synthetic drilled plates: a fixtured nominal hole pattern on bright milled metal, geometry in mm
 * projected at mmPerPx, 4×4 supersampled near edges, slight blur and noise; one optional defect per part.
 */
import { Prng, hashUnit } from './prng.ts';
import { maskBBox, type DefectBox } from './surface.ts';

export type PlateDefectKind = 'burr' | 'chipping' | 'oversize' | 'missing';
export const PLATE_DEFECTS: readonly PlateDefectKind[] = ['burr', 'chipping', 'oversize', 'missing'];

export interface HolePattern {
  /** Nominal hole diameter, mm. */
  diameterMm: number;
  /** Nominal hole centres in field coordinates (mm from the top-left corner of the image). */
  centresMm: readonly (readonly [number, number])[];
}

/** 3×2 holes of Ø5 mm on a 7.2 × 8.8 mm grid; fits a 512×512 field at 0.05 mm/px (25.6 mm square). */
export const DEFAULT_HOLE_PATTERN: HolePattern = {
  diameterMm: 5,
  centresMm: [
    [5.6, 8.4],
    [12.8, 8.4],
    [20.0, 8.4],
    [5.6, 17.2],
    [12.8, 17.2],
    [20.0, 17.2],
  ],
};

/** Oversize defect: diameter increase in mm. */
export const OVERSIZE_DELTA_MM = 0.3;

export interface PlateOptions {
  seed: number;
  width: number;
  height: number;
  /** Default 0.05 mm per pixel. */
  mmPerPx?: number;
  defect?: PlateDefectKind | null;
  /** Which hole carries the defect; default derived from the seed. */
  defectHole?: number;
  pattern?: HolePattern;
}

export interface HoleTruth {
  index: number;
  centreMm: [number, number];
  diameterMm: number;
  drilled: boolean;
  defect: PlateDefectKind | null;
}

export interface PlateTruth {
  defective: boolean;
  defects: (DefectBox & { hole: number })[];
  holes: HoleTruth[];
  params: Record<string, unknown>;
  mask?: Uint8Array;
}

let fbuf = new Float32Array(0);
let tbuf = new Float32Array(0);
function scratch(n: number): { img: Float32Array; tmp: Float32Array } {
  if (fbuf.length < n) {
    fbuf = new Float32Array(n);
    tbuf = new Float32Array(n);
  }
  return { img: fbuf, tmp: tbuf };
}

interface Bite {
  x: number;
  y: number;
  r: number;
}

export function renderDrilledPlate(opts: PlateOptions, out: Uint8Array): PlateTruth {
  const { width: W, height: H, seed } = opts;
  if (!(W > 0 && H > 0) || out.length < W * H) throw new RangeError('renderDrilledPlate: bad size or output too small');
  const s = opts.mmPerPx ?? 0.05;
  const pattern = opts.pattern ?? DEFAULT_HOLE_PATTERN;
  const defect = opts.defect ?? null;
  const rng = new Prng(seed);
  const n = W * H;
  const { img, tmp } = scratch(n);
  const nh = pattern.centresMm.length;
  const defectHole = opts.defectHole ?? Math.floor(new Prng(seed ^ 0x2545f491).next() * nh);

  // Fixture repeatability and drilling tolerances (mm).
  const fx = rng.uniform(-0.02, 0.02);
  const fy = rng.uniform(-0.02, 0.02);
  const holes: HoleTruth[] = pattern.centresMm.map(([cx, cy], index) => ({
    index,
    centreMm: [cx + fx + rng.uniform(-0.01, 0.01), cy + fy + rng.uniform(-0.01, 0.01)] as [number, number],
    diameterMm: pattern.diameterMm + rng.uniform(-0.03, 0.03),
    drilled: true,
    defect: null,
  }));

  // Surface: face-milled arcs around a far-away cutter centre, plus grain.
  const base = rng.uniform(165, 200);
  const arcX = rng.uniform(-40, 60) / s;
  const arcY = ((rng.next() < 0.5 ? -1 : 1) * rng.uniform(60, 120)) / s;
  const L = 4096;
  const prof = new Float32Array(L);
  for (let i = 0; i < L; i++) prof[i] = rng.normal();
  smoothInPlace(prof, 1.2);
  const aArc = rng.uniform(5, 9);
  const grainSeed = rng.int(0, 0x7fffffff);
  const interior = rng.uniform(25, 45);
  const wall = rng.uniform(15, 30);

  // Defect geometry.
  const drng = new Prng(seed ^ 0x68e31da4);
  const bites: Bite[] = [];
  let burr: { arcs: [number, number][]; width: number; bright: number; seed: number } | null = null;
  const params: Record<string, unknown> = { seed, mmPerPx: s, fixtureMm: [fx, fy], base, interior };
  if (defect) {
    const h = holes[defectHole]!;
    h.defect = defect;
    const R = h.diameterMm / 2;
    if (defect === 'oversize') h.diameterMm += OVERSIZE_DELTA_MM;
    if (defect === 'missing') h.drilled = false;
    if (defect === 'chipping') {
      const k = drng.int(1, 4);
      for (let b = 0; b < k; b++) {
        const a = drng.uniform(0, Math.PI * 2);
        const r = drng.uniform(0.15, 0.35);
        const d = R + r * drng.uniform(0.2, 0.5);
        bites.push({ x: h.centreMm[0] + d * Math.cos(a), y: h.centreMm[1] + d * Math.sin(a), r });
      }
      params.bites = bites.map((b) => ({ ...b }));
    }
    if (defect === 'burr') {
      const cover = drng.uniform(0.35, 1.0);
      const start = drng.uniform(0, Math.PI * 2);
      const nArcs = cover > 0.8 ? 1 : drng.int(1, 2);
      const arcs: [number, number][] = [];
      for (let k = 0; k < nArcs; k++) {
        const a0 = start + (k * Math.PI * 2) / nArcs;
        arcs.push([a0, a0 + (cover * Math.PI * 2) / nArcs]);
      }
      burr = { arcs, width: drng.uniform(0.12, 0.35), bright: drng.uniform(30, 60), seed: drng.int(0, 0x7fffffff) };
      params.burr = { ...burr };
    }
    params.defectHole = defectHole;
  }

  const maskOn = defect !== null;
  const mask = maskOn ? new Uint8Array(n) : undefined;
  const maxOut = 0.6; // mm beyond the nominal edge that defects can reach
  const ss = 4;

  // Value of one sub-sample at (px, py) mm belonging to hole h; sets `flagOut` when it is defect material.
  let flagOut = 0;
  const sample = (h: HoleTruth, px: number, py: number, surf: number): number => {
    flagOut = 0;
    const dx = px - h.centreMm[0];
    const dy = py - h.centreMm[1];
    const r = Math.hypot(dx, dy);
    const R = h.diameterMm / 2;
    if (!h.drilled) return surf;
    if (r < R) return interior + wall * Math.exp(-(R - r) / 0.12);
    if (h.defect === 'chipping') {
      for (const b of bites) {
        if (Math.hypot(px - b.x, py - b.y) < b.r) {
          const rough = hashUnit(Math.floor(px / 0.02), Math.floor(py / 0.02), 77);
          flagOut = 1;
          return interior + 20 + 25 * rough;
        }
      }
    }
    if (h.defect === 'burr' && burr && r < R + burr.width) {
      const a = Math.atan2(dy, dx);
      let inArc = false;
      for (const [a0, a1] of burr.arcs) {
        let t = a - a0;
        t -= Math.floor(t / (Math.PI * 2)) * Math.PI * 2;
        if (t <= a1 - a0) inArc = true;
      }
      if (inArc) {
        // irregular outer boundary and rough, bright rolled-over metal
        const wphi = burr.width * (0.6 + 0.4 * hashUnit(Math.floor(((a + 4) * 180) / Math.PI / 6), 0, burr.seed));
        if (r < R + wphi) {
          const rough = hashUnit(Math.floor(px / 0.03), Math.floor(py / 0.03), burr.seed);
          flagOut = 1;
          return surf + burr.bright * (0.4 + 0.9 * rough);
        }
      }
    }
    return surf;
  };

  for (let y = 0; y < H; y++) {
    for (let x = 0; x < W; x++) {
      const pxm = (x + 0.5) * s;
      const pym = (y + 0.5) * s;
      const ra = Math.hypot(x - arcX, y - arcY);
      const ri = Math.floor(ra * 1.3) % L;
      const surf = base + aArc * prof[ri]! + 3 * (hashUnit(x, y, grainSeed) - 0.5);
      // nearest hole
      let best = 0;
      let bd = 1e18;
      for (let k = 0; k < nh; k++) {
        const ex = pxm - holes[k]!.centreMm[0];
        const ey = pym - holes[k]!.centreMm[1];
        const d = ex * ex + ey * ey;
        if (d < bd) {
          bd = d;
          best = k;
        }
      }
      bd = Math.sqrt(bd);
      const h = holes[best]!;
      const R = h.diameterMm / 2;
      let v: number;
      let flag: number;
      if (bd < R - 2 * s || bd > R + maxOut + 2 * s || !h.drilled) {
        v = sample(h, pxm, pym, surf);
        flag = flagOut;
        if (!h.drilled && bd < pattern.diameterMm / 2) flag = 1;
      } else {
        let acc = 0;
        let fl = 0;
        for (let j = 0; j < ss; j++)
          for (let i = 0; i < ss; i++) {
            acc += sample(h, (x + (i + 0.5) / ss) * s, (y + (j + 0.5) / ss) * s, surf);
            fl += flagOut;
          }
        v = acc / (ss * ss);
        flag = fl >= 4 ? 1 : 0;
        if (h.defect === 'oversize') {
          const Rn = (h.diameterMm - OVERSIZE_DELTA_MM) / 2;
          flag = bd >= Rn - s / 2 && bd < R + s / 2 ? 1 : 0;
        }
      }
      img[y * W + x] = v;
      if (mask && flag) mask[y * W + x] = 1;
    }
  }

  // Slight optical blur ([1,2,1]/4 separable), then gain/offset, gentle front-light gradient and noise.
  for (let y = 0; y < H; y++)
    for (let x = 0; x < W; x++) {
      const r = y * W;
      tmp[r + x] = (img[r + (x > 0 ? x - 1 : x)]! + 2 * img[r + x]! + img[r + (x < W - 1 ? x + 1 : x)]!) * 0.25;
    }
  const gain = rng.uniform(0.92, 1.08);
  const offset = rng.uniform(-6, 6);
  const gx = rng.uniform(-0.06, 0.06);
  const gy = rng.uniform(-0.06, 0.06);
  const sigma = rng.uniform(1.5, 2.5);
  Object.assign(params, { gain, offset, gradient: [gx, gy], noiseSigma: sigma });
  for (let y = 0; y < H; y++) {
    const yu = (y > 0 ? y - 1 : y) * W;
    const yd = (y < H - 1 ? y + 1 : y) * W;
    for (let x = 0; x < W; x++) {
      const b = (tmp[yu + x]! + 2 * tmp[y * W + x]! + tmp[yd + x]!) * 0.25;
      const v = b * gain * (1 + gx * (x / W - 0.5) + gy * (y / H - 0.5)) + offset + sigma * rng.normal();
      out[y * W + x] = v <= 0 ? 0 : v >= 255 ? 255 : Math.round(v);
    }
  }

  const defects: (DefectBox & { hole: number })[] = [];
  if (mask && defect) {
    const bb = maskBBox(mask, W, H);
    if (bb) defects.push({ kind: defect, bboxPx: bb, hole: defectHole });
  }
  params.pattern = { diameterMm: pattern.diameterMm, holes: nh };
  const truth: PlateTruth = { defective: defects.length > 0, defects, holes, params };
  if (mask) truth.mask = mask;
  return truth;
}

function smoothInPlace(a: Float32Array, sigma: number): void {
  const r = Math.ceil(sigma * 3);
  const k: number[] = [];
  let sum = 0;
  for (let i = -r; i <= r; i++) {
    const w = Math.exp(-(i * i) / (2 * sigma * sigma));
    k.push(w);
    sum += w;
  }
  const src = Float32Array.from(a);
  for (let i = 0; i < a.length; i++) {
    let acc = 0;
    for (let j = -r; j <= r; j++) acc += src[(i + j + a.length) % a.length]! * k[j + r]!;
    a[i] = acc / sum;
  }
}
