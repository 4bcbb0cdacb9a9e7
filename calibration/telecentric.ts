/**
 * Telecentric (or any fixed-distance, distortion-free) scale calibration: pixel → mm as an affine map fitted
 * by least squares to a target of known geometry.
 *
 *   dots:COLSxROWS:PITCH_MM   a grid of dark dots on a bright ground; each dot's centre is a sub-pixel circle
 *                             fit (the hole metrology), the affine maps them to the grid; scale uniformity is
 *                             the spread of the local scale between neighbouring dots across the field.
 *   ring:DIAMETER_MM          a ring gauge (dark disc of known diameter) imaged at one or more positions:
 *                             isotropic scale from the fitted diameter at each position; uniformity across them.
 */
import { LinesightError } from '../runtime/errors.ts';
import { HoleLocator } from '../runtime/metrology/locate.ts';
import { HoleMeasurement, HoleMeasurer } from '../runtime/metrology/measure-hole.ts';
import { PixelToMm, type TelecentricCalibration } from '../runtime/metrology/calibration.ts';

export type TelecentricTarget = { kind: 'dots'; cols: number; rows: number; pitchMm: number } | { kind: 'ring'; diameterMm: number };

export function parseTarget(spec: string): TelecentricTarget {
  let m = /^dots:(\d+)x(\d+):([0-9.]+)$/.exec(spec);
  if (m) {
    const t = { kind: 'dots', cols: Number(m[1]), rows: Number(m[2]), pitchMm: Number(m[3]) } as const;
    if (t.cols < 2 || t.rows < 2 || !(t.pitchMm > 0))
      throw new LinesightError('LS_ERR_USAGE', `--target '${spec}': need ≥ 2×2 dots and a pitch > 0 mm`, { spec });
    return t;
  }
  m = /^ring:([0-9.]+)$/.exec(spec);
  if (m) {
    const diameterMm = Number(m[1]);
    if (!(diameterMm > 0)) throw new LinesightError('LS_ERR_USAGE', `--target '${spec}': the ring diameter must be a number > 0 mm`, { spec });
    return { kind: 'ring', diameterMm };
  }
  throw new LinesightError('LS_ERR_USAGE', `--target '${spec}': expected dots:COLSxROWS:PITCH_MM or ring:DIAMETER_MM`, { spec });
}

export interface GrayImage {
  readonly name: string;
  readonly width: number;
  readonly height: number;
  readonly data: Uint8Array;
}

interface Dot {
  u: number;
  v: number;
  dPx: number;
}

/** Sub-pixel centres of every dark disc in the image (px). */
function findDots(img: GrayImage, minDpx: number, maxDpx: number): Dot[] {
  const loc = new HoleLocator(4096);
  const n = loc.locate(img.data, img.width, img.height, {
    polarity: 'dark',
    step: minDpx > 16 ? 2 : 1,
    minDiameterPx: minDpx,
    maxDiameterPx: maxDpx,
  });
  const meas = new HoleMeasurer(new PixelToMm(null, 1), { damageSearch: 0, roundnessUpr: 0 });
  const out = new HoleMeasurement();
  const dots: Dot[] = [];
  for (let i = 0; i < n; i++) {
    const c = loc.candidates[i]!;
    if (meas.measure(img.data, img.width, img.height, c.cx, c.cy, c.r, out))
      dots.push({ u: out.centerPx[0]!, v: out.centerPx[1]!, dPx: out.diameterPx });
  }
  return dots;
}

export function calibrateTelecentric(
  images: readonly GrayImage[],
  target: TelecentricTarget,
  originMm: readonly [number, number] = [0, 0],
): TelecentricCalibration {
  if (images.length === 0) throw new LinesightError('LS_ERR_CALIBRATION_FAILED', 'no images', {});
  const [w, h] = [images[0]!.width, images[0]!.height];
  return target.kind === 'dots' ? fromDots(images, target, originMm, w, h) : fromRing(images, target, w, h);
}

function fromDots(
  images: readonly GrayImage[],
  t: { cols: number; rows: number; pitchMm: number },
  origin: readonly [number, number],
  w: number,
  h: number,
): TelecentricCalibration {
  const img = images[0]!;
  const dots = findDots(img, 4, Math.min(w, h) / Math.max(t.cols, t.rows));
  if (dots.length !== t.cols * t.rows) {
    throw new LinesightError('LS_ERR_CALIBRATION_FAILED', `${img.name}: found ${dots.length} dots, the target has ${t.cols}×${t.rows}`, {
      image: img.name,
      found: dots.length,
    });
  }
  // Grid indices: sort rows by v, then each row by u (the grid is assumed within ±20° of the image axes).
  dots.sort((a, b) => a.v - b.v);
  const grid: { u: number; v: number; i: number; j: number }[] = [];
  for (let j = 0; j < t.rows; j++) {
    const row = dots.slice(j * t.cols, (j + 1) * t.cols).sort((a, b) => a.u - b.u);
    row.forEach((d, i) => grid.push({ u: d.u, v: d.v, i, j }));
  }
  // Least squares: [x y] = [u v 1] · A, with (x, y) = origin + pitch·(i, j).
  const rowsU = grid.map((g) => [g.u, g.v, 1]);
  const ax = solveLsq3(
    rowsU,
    grid.map((g) => origin[0] + g.i * t.pitchMm),
  );
  const ay = solveLsq3(
    rowsU,
    grid.map((g) => origin[1] + g.j * t.pitchMm),
  );
  const affine = [ax[0]!, ax[1]!, ax[2]!, ay[0]!, ay[1]!, ay[2]!];
  let ss = 0;
  for (const g of grid) {
    const ex = affine[0]! * g.u + affine[1]! * g.v + affine[2]! - (origin[0] + g.i * t.pitchMm);
    const ey = affine[3]! * g.u + affine[4]! * g.v + affine[5]! - (origin[1] + g.j * t.pitchMm);
    ss += ex * ex + ey * ey;
  }
  // Local scale between horizontal and vertical neighbours, binned into a 3×3 field grid.
  const cells: { sum: number; n: number }[] = Array.from({ length: 9 }, () => ({ sum: 0, n: 0 }));
  const at = new Map(grid.map((g) => [`${g.i},${g.j}`, g]));
  for (const g of grid) {
    for (const [di, dj] of [
      [1, 0],
      [0, 1],
    ] as const) {
      const q = at.get(`${g.i + di},${g.j + dj}`);
      if (!q) continue;
      const s = t.pitchMm / Math.hypot(q.u - g.u, q.v - g.v);
      const cx = Math.min(2, Math.floor(((g.u + q.u) / 2 / w) * 3)),
        cy = Math.min(2, Math.floor(((g.v + q.v) / 2 / h) * 3));
      cells[cy * 3 + cx]!.sum += s;
      cells[cy * 3 + cx]!.n++;
    }
  }
  const local = cells.filter((c) => c.n > 0).map((c) => c.sum / c.n);
  const mmPerPx = Math.sqrt(Math.abs(affine[0]! * affine[4]! - affine[1]! * affine[3]!));
  const lo = Math.min(...local),
    hi = Math.max(...local);
  return {
    kind: 'telecentric',
    imageSize: [w, h],
    affine,
    mmPerPx,
    uniformity: { minMmPerPx: lo, maxMmPerPx: hi, spreadPct: ((hi - lo) / mmPerPx) * 100, cells: local.length },
    residualRmsMm: Math.sqrt(ss / grid.length),
    target: `dots:${t.cols}x${t.rows}:${t.pitchMm}`,
    createdAt: new Date().toISOString(),
  };
}

function fromRing(images: readonly GrayImage[], t: { diameterMm: number }, w: number, h: number): TelecentricCalibration {
  const scales: number[] = [];
  const centres: [number, number][] = [];
  for (const img of images) {
    const dots = findDots(img, 8, Math.min(img.width, img.height));
    if (dots.length !== 1)
      throw new LinesightError('LS_ERR_CALIBRATION_FAILED', `${img.name}: expected one ring gauge, found ${dots.length} discs`, { image: img.name });
    scales.push(t.diameterMm / dots[0]!.dPx);
    centres.push([dots[0]!.u, dots[0]!.v]);
  }
  const s = scales.reduce((a, b) => a + b, 0) / scales.length;
  const lo = Math.min(...scales),
    hi = Math.max(...scales);
  // Isotropic scale, origin at the image's top-left corner (x_mm = (u + ½)·s, as a plain mm/px scale).
  return {
    kind: 'telecentric',
    imageSize: [w, h],
    affine: [s, 0, s / 2, 0, s, s / 2],
    mmPerPx: s,
    uniformity: { minMmPerPx: lo, maxMmPerPx: hi, spreadPct: ((hi - lo) / s) * 100, cells: scales.length },
    target: `ring:${t.diameterMm}`,
    createdAt: new Date().toISOString(),
  };
}

/** Least squares for 3 unknowns through the normal equations (well conditioned after the affine's scaling). */
function solveLsq3(rows: number[][], b: number[]): number[] {
  const A = [
    [0, 0, 0],
    [0, 0, 0],
    [0, 0, 0],
  ];
  const y = [0, 0, 0];
  for (let k = 0; k < rows.length; k++) {
    const r = rows[k]!;
    for (let i = 0; i < 3; i++) {
      y[i]! += r[i]! * b[k]!;
      for (let j = 0; j < 3; j++) A[i]![j]! += r[i]! * r[j]!;
    }
  }
  return solve3(A, y);
}

export function solve3(A: number[][], y: number[]): number[] {
  const m = A.map((r, i) => [...r, y[i]!]);
  for (let c = 0; c < 3; c++) {
    let p = c;
    for (let r = c + 1; r < 3; r++) if (Math.abs(m[r]![c]!) > Math.abs(m[p]![c]!)) p = r;
    [m[c], m[p]] = [m[p]!, m[c]!];
    if (Math.abs(m[c]![c]!) < 1e-300) throw new LinesightError('LS_ERR_CALIBRATION_FAILED', 'degenerate target geometry', {});
    for (let r = 0; r < 3; r++) {
      if (r === c) continue;
      const f = m[r]![c]! / m[c]![c]!;
      for (let k = c; k < 4; k++) m[r]![k]! -= f * m[c]![k]!;
    }
  }
  return [m[0]![3]! / m[0]![0]!, m[1]![3]! / m[1]![1]!, m[2]![3]! / m[2]![2]!];
}
