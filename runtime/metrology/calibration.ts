/**
 * Calibration files (YAML under calibration/) and the pixel → part-plane millimetre mapping the metrology uses.
 *
 *   kind: pinhole      Zhang/Brown–Conrady intrinsics (fx, fy, cx, cy; k1, k2, p1, p2, k3) from `calibrate
 *                      camera`; optional `plane.homography` (undistorted pixel → mm on the part plane). Without
 *                      a plane the station's or CLI's mm/px applies after undistortion.
 *   kind: telecentric  affine pixel → mm (xmm = a·u + b·v + c, ymm = d·u + e·v + f) from `calibrate telecentric`.
 *
 * Pixel coordinates follow OpenCV: the centre of pixel (i, j) is (i, j). A plain mm/px scale maps the image's
 * top-left corner to (0, 0) mm, i.e. x_mm = (u + ½)·s, matching the synthetic plate renderer.
 */
import { writeFileSync } from 'node:fs';
import { stringify } from 'yaml';
import { z } from 'zod';
import { readYamlFile, YamlInputError } from '../config/yaml-limits.ts';
import { LinesightError, reasonOf } from '../errors.ts';

const Num = z.number().refine(Number.isFinite, 'must be finite');

const Distortion = z
  .object({ k1: Num, k2: Num, p1: Num, p2: Num, k3: Num.default(0) })
  .strict()
  .describe('Brown–Conrady distortion (OpenCV order k1, k2, p1, p2, k3)');

const ViewReport = z
  .object({
    image: z.string(),
    corners: z.number().int(),
    rmsPx: Num.nullable(),
    used: z.boolean(),
    reason: z.string().optional(),
  })
  .strict();

const Pinhole = z
  .object({
    kind: z.literal('pinhole'),
    imageSize: z.tuple([z.number().int().positive(), z.number().int().positive()]).describe('[width, height] px'),
    camera: z.object({ fx: Num, fy: Num, cx: Num, cy: Num }).strict(),
    distortion: Distortion,
    plane: z
      .object({
        homography: z.array(Num).length(9).describe('Row-major 3×3: undistorted pixel → part-plane mm'),
        source: z.string().optional().describe('View the plane pose came from'),
      })
      .strict()
      .optional(),
    quality: z
      .object({ rmsPx: Num, views: z.array(ViewReport), rejected: z.number().int().nonnegative() })
      .strict()
      .optional(),
    board: z.string().optional(),
    createdAt: z.string().optional(),
  })
  .strict();

const Telecentric = z
  .object({
    kind: z.literal('telecentric'),
    imageSize: z.tuple([z.number().int().positive(), z.number().int().positive()]).optional(),
    affine: z.array(Num).length(6).describe('[a, b, c, d, e, f]: x_mm = a·u + b·v + c, y_mm = d·u + e·v + f'),
    mmPerPx: Num.describe('Mean scale, √|det| of the linear part'),
    uniformity: z.object({ minMmPerPx: Num, maxMmPerPx: Num, spreadPct: Num, cells: z.number().int() }).strict().optional(),
    residualRmsMm: Num.optional(),
    target: z.string().optional(),
    createdAt: z.string().optional(),
  })
  .strict();

export const CalibrationSchema = z.discriminatedUnion('kind', [Pinhole, Telecentric]);
export type Calibration = z.output<typeof CalibrationSchema>;
export type PinholeCalibration = z.output<typeof Pinhole>;
export type TelecentricCalibration = z.output<typeof Telecentric>;
export type DistortionCoeffs = z.output<typeof Distortion>;

export function readCalibration(file: string): Calibration {
  let data: unknown;
  try {
    data = readYamlFile(file);
  } catch (err) {
    const detail = err instanceof YamlInputError ? `${file}:${err.line}: ${err.message}` : `cannot read calibration ${file}: ${reasonOf(err)}`;
    throw new LinesightError('LS_ERR_CALIBRATION_INVALID', detail, { file }, { cause: err });
  }
  const r = CalibrationSchema.safeParse(data);
  if (!r.success) {
    const msg = r.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ');
    throw new LinesightError('LS_ERR_CALIBRATION_INVALID', `${file}: ${msg}`, { file }, { cause: r.error });
  }
  return r.data;
}

export function writeCalibration(file: string, cal: Calibration, comment = ''): void {
  const checked = CalibrationSchema.parse(cal);
  const header = `# Linesight calibration (${checked.kind}); written by linesight calibrate${comment ? `\n# ${comment}` : ''}\n`;
  writeFileSync(file, header + stringify(checked, { lineWidth: 0 }));
}

/** Forward Brown–Conrady on normalised coordinates. */
export function distortNormalized(x: number, y: number, d: DistortionCoeffs, out: Float64Array): void {
  const r2 = x * x + y * y;
  const radial = 1 + r2 * (d.k1 + r2 * (d.k2 + r2 * d.k3));
  out[0] = x * radial + 2 * d.p1 * x * y + d.p2 * (r2 + 2 * x * x);
  out[1] = y * radial + d.p1 * (r2 + 2 * y * y) + 2 * d.p2 * x * y;
}

/**
 * Inverse Brown–Conrady by fixed-point iteration (OpenCV's undistortPoints scheme, which opencv-js lacks),
 * iterated to 1e-12 or 50 steps: converges in a few steps for the distortion of industrial lenses.
 */
export function undistortNormalized(xd: number, yd: number, d: DistortionCoeffs, out: Float64Array): void {
  let x = xd,
    y = yd;
  for (let i = 0; i < 50; i++) {
    const r2 = x * x + y * y;
    const icdist = 1 / (1 + r2 * (d.k1 + r2 * (d.k2 + r2 * d.k3)));
    const dx = 2 * d.p1 * x * y + d.p2 * (r2 + 2 * x * x);
    const dy = d.p1 * (r2 + 2 * y * y) + 2 * d.p2 * x * y;
    const nx = (xd - dx) * icdist,
      ny = (yd - dy) * icdist;
    const step = Math.abs(nx - x) + Math.abs(ny - y);
    x = nx;
    y = ny;
    if (step < 1e-12) break;
  }
  out[0] = x;
  out[1] = y;
}

/** Distorted pixel → undistorted pixel (same camera matrix), as cv.undistortPoints with P = K would give. */
export function undistortPixel(cal: PinholeCalibration, u: number, v: number, out: Float64Array): void {
  const { fx, fy, cx, cy } = cal.camera;
  undistortNormalized((u - cx) / fx, (v - cy) / fy, cal.distortion, out);
  out[0] = out[0]! * fx + cx;
  out[1] = out[1]! * fy + cy;
}

export function distortPixel(cal: PinholeCalibration, u: number, v: number, out: Float64Array): void {
  const { fx, fy, cx, cy } = cal.camera;
  distortNormalized((u - cx) / fx, (v - cy) / fy, cal.distortion, out);
  out[0] = out[0]! * fx + cx;
  out[1] = out[1]! * fy + cy;
}

/**
 * Maps measured pixel coordinates to part-plane mm. One instance per station; `map` writes into a caller
 * buffer so the per-frame path allocates nothing.
 */
export class PixelToMm {
  readonly description: string;
  /** Approximate mm per pixel at the image centre (for px ↔ mm thresholds and residual reports). */
  readonly mmPerPx: number;
  private readonly cal: Calibration | null;
  private readonly scale: number;
  private readonly tmp = new Float64Array(2);

  constructor(cal: Calibration | null, fallbackMmPerPx: number | null) {
    this.cal = cal;
    if (cal?.kind === 'telecentric') {
      this.scale = cal.mmPerPx;
      this.description = `telecentric affine (${cal.mmPerPx.toPrecision(6)} mm/px)`;
    } else if (cal?.kind === 'pinhole' && cal.plane) {
      this.scale = 0;
      this.description = 'pinhole + distortion, part plane by homography';
    } else {
      if (!(fallbackMmPerPx && fallbackMmPerPx > 0)) {
        throw new LinesightError(
          'LS_ERR_METROLOGY_SPEC',
          'no scale: give mm per pixel (station scale or --mm-per-px) or a calibration with a metric mapping',
          {},
        );
      }
      this.scale = fallbackMmPerPx;
      this.description = cal ? `pinhole undistortion, ${fallbackMmPerPx} mm/px` : `${fallbackMmPerPx} mm/px`;
    }
    this.mmPerPx = cal?.kind === 'pinhole' && cal.plane ? this.localScale() : this.scale;
  }

  /** Writes [x_mm, y_mm] of pixel (u, v) into out[o], out[o+1]. */
  map(u: number, v: number, out: Float64Array, o = 0): void {
    const cal = this.cal;
    let x = u,
      y = v;
    if (cal?.kind === 'pinhole') {
      undistortPixel(cal, u, v, this.tmp);
      x = this.tmp[0]!;
      y = this.tmp[1]!;
      if (cal.plane) {
        const h = cal.plane.homography;
        const w = h[6]! * x + h[7]! * y + h[8]!;
        out[o] = (h[0]! * x + h[1]! * y + h[2]!) / w;
        out[o + 1] = (h[3]! * x + h[4]! * y + h[5]!) / w;
        return;
      }
    } else if (cal?.kind === 'telecentric') {
      const a = cal.affine;
      out[o] = a[0]! * x + a[1]! * y + a[2]!;
      out[o + 1] = a[3]! * x + a[4]! * y + a[5]!;
      return;
    }
    out[o] = (x + 0.5) * this.scale;
    out[o + 1] = (y + 0.5) * this.scale;
  }

  private localScale(): number {
    const cal = this.cal as PinholeCalibration;
    const [w, h] = cal.imageSize;
    const p = new Float64Array(6);
    this.map(w / 2, h / 2, p, 0);
    this.map(w / 2 + 1, h / 2, p, 2);
    this.map(w / 2, h / 2 + 1, p, 4);
    return (Math.hypot(p[2]! - p[0]!, p[3]! - p[1]!) + Math.hypot(p[4]! - p[0]!, p[5]! - p[1]!)) / 2;
  }
}
