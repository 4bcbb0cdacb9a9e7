/**
 * Renders views of a ChArUco board through a known pinhole + Brown–Conrady camera, for calibration tests and
 * the accuracy benchmark. The board texture comes from opencv-js (generateImage, 1 texel = 1/ppm mm); each
 * output pixel is the mean of ss×ss sub-samples, each traced back exactly: distorted pixel → undistorted
 * normalised ray (the same inverse as runtime/metrology/calibration.ts) → intersection with the board plane → bilinear
 * texture lookup. Around the board: a white margin of one square, then mid grey.
 */
import { Prng } from './prng.ts';
import { makeBoard, type BoardSpec } from '../../calibration/charuco.ts';
import { undistortNormalized, type DistortionCoeffs } from '../../runtime/metrology/calibration.ts';
import type { CV } from '../../calibration/opencv.ts';

export interface TrueCamera {
  width: number;
  height: number;
  fx: number;
  fy: number;
  cx: number;
  cy: number;
  distortion: DistortionCoeffs;
}

export interface Pose {
  /** Rotation as (rx, ry, rz) Euler angles in degrees, applied x then y then z. */
  rotDeg: [number, number, number];
  /** Translation of the board origin in camera coordinates, mm. */
  tMm: [number, number, number];
}

export class BoardTexture {
  readonly data: Uint8Array;
  readonly width: number;
  readonly height: number;
  readonly ppm: number;
  readonly board: BoardSpec;

  constructor(cv: CV, board: BoardSpec, ppm = 8) {
    const b = makeBoard(cv, board);
    const mat = new cv.Mat();
    this.width = Math.round(board.cols * board.squareMm * ppm);
    this.height = Math.round(board.rows * board.squareMm * ppm);
    b.generateImage(new cv.Size(this.width, this.height), mat, 0, 1);
    this.data = Uint8Array.from(mat.data);
    this.ppm = ppm;
    this.board = board;
    mat.delete();
    b.delete();
  }

  /** Grey level at board coordinates (mm from the board's top-left corner). */
  sample(X: number, Y: number): number {
    const bw = this.board.cols * this.board.squareMm,
      bh = this.board.rows * this.board.squareMm,
      m = this.board.squareMm;
    if (X < 0 || Y < 0 || X >= bw || Y >= bh) return X > -m && Y > -m && X < bw + m && Y < bh + m ? 250 : 110;
    const x = X * this.ppm - 0.5,
      y = Y * this.ppm - 0.5;
    const x0 = Math.max(0, Math.min(this.width - 2, Math.floor(x))),
      y0 = Math.max(0, Math.min(this.height - 2, Math.floor(y)));
    const fx = Math.max(0, Math.min(1, x - x0)),
      fy = Math.max(0, Math.min(1, y - y0));
    const i = y0 * this.width + x0,
      d = this.data;
    const v = (d[i]! + (d[i + 1]! - d[i]!) * fx) * (1 - fy) + (d[i + this.width]! + (d[i + this.width + 1]! - d[i + this.width]!) * fx) * fy;
    return 20 + (v / 255) * 230; // printed black is not 0, white not 255
  }
}

export function rotation(rotDeg: readonly [number, number, number]): number[] {
  const ax = (rotDeg[0] * Math.PI) / 180,
    ay = (rotDeg[1] * Math.PI) / 180,
    az = (rotDeg[2] * Math.PI) / 180;
  const Rx = [1, 0, 0, 0, Math.cos(ax), -Math.sin(ax), 0, Math.sin(ax), Math.cos(ax)];
  const Ry = [Math.cos(ay), 0, Math.sin(ay), 0, 1, 0, -Math.sin(ay), 0, Math.cos(ay)];
  const Rz = [Math.cos(az), -Math.sin(az), 0, Math.sin(az), Math.cos(az), 0, 0, 0, 1];
  return mul(Rz, mul(Ry, Rx));
}

function mul(A: number[], B: number[]): number[] {
  const C = new Array<number>(9).fill(0);
  for (let r = 0; r < 3; r++) for (let c = 0; c < 3; c++) for (let k = 0; k < 3; k++) C[r * 3 + c]! += A[r * 3 + k]! * B[k * 3 + c]!;
  return C;
}

export function renderCharucoView(
  tex: BoardTexture,
  cam: TrueCamera,
  pose: Pose,
  opts: { ss?: number; noiseSigma?: number; seed?: number } = {},
): Uint8Array {
  const R = rotation(pose.rotDeg);
  const t = pose.tMm;
  // Board point (X, Y, 0) maps to the camera ray ∝ H·(X, Y, 1) with H = [r1 r2 t]; so (X, Y, 1) ∝ H⁻¹·(x, y, 1).
  const Hi = inv3([R[0]!, R[1]!, t[0], R[3]!, R[4]!, t[1], R[6]!, R[7]!, t[2]]);
  const ss = opts.ss ?? 3;
  const out = new Uint8Array(cam.width * cam.height);
  const rng = new Prng(opts.seed ?? 1);
  const nrm = new Float64Array(2);
  const noise = opts.noiseSigma ?? 0;
  for (let v = 0; v < cam.height; v++)
    for (let u = 0; u < cam.width; u++) {
      let acc = 0;
      for (let j = 0; j < ss; j++)
        for (let i = 0; i < ss; i++) {
          const pu = u - 0.5 + (i + 0.5) / ss,
            pv = v - 0.5 + (j + 0.5) / ss;
          undistortNormalized((pu - cam.cx) / cam.fx, (pv - cam.cy) / cam.fy, cam.distortion, nrm);
          const x = nrm[0]!,
            y = nrm[1]!;
          const w = Hi[6]! * x + Hi[7]! * y + Hi[8]!;
          acc += tex.sample((Hi[0]! * x + Hi[1]! * y + Hi[2]!) / w, (Hi[3]! * x + Hi[4]! * y + Hi[5]!) / w);
        }
      const val = acc / (ss * ss) + (noise > 0 ? noise * rng.normal() : 0);
      out[v * cam.width + u] = val <= 0 ? 0 : val >= 255 ? 255 : Math.round(val);
    }
  return out;
}

/** A spread of poses that covers the field and tilts ±35° (what a good calibration session looks like). */
export function posesCoveringField(cam: TrueCamera, board: BoardSpec, count: number, seed = 7): Pose[] {
  const rng = new Prng(seed);
  const bw = board.cols * board.squareMm,
    bh = board.rows * board.squareMm;
  const poses: Pose[] = [];
  for (let k = 0; k < count; k++) {
    const z = (rng.uniform(0.9, 1.25) * (cam.fx * bw)) / (cam.width * 0.62);
    const rx = rng.uniform(-35, 35),
      ry = rng.uniform(-35, 35),
      rz = rng.uniform(-20, 20);
    // Aim the board centre at a point spread over the image (corners included).
    const gx = ((k % 3) - 1) * 0.22 * cam.width + rng.uniform(-20, 20),
      gy = ((Math.floor(k / 3) % 3) - 1) * 0.2 * cam.height + rng.uniform(-20, 20);
    const R = rotation([rx, ry, rz]);
    const cxMm = (gx / cam.fx) * z,
      cyMm = (gy / cam.fy) * z;
    // t = target centre − R·(board centre)
    const bc = [(R[0]! * bw) / 2 + (R[1]! * bh) / 2, (R[3]! * bw) / 2 + (R[4]! * bh) / 2, (R[6]! * bw) / 2 + (R[7]! * bh) / 2];
    poses.push({ rotDeg: [rx, ry, rz], tMm: [cxMm - bc[0]!, cyMm - bc[1]!, z - bc[2]!] });
  }
  return poses;
}

function inv3(m: readonly number[]): number[] {
  const a = m[0]!,
    b = m[1]!,
    c = m[2]!,
    d = m[3]!,
    e = m[4]!,
    f = m[5]!,
    g = m[6]!,
    h = m[7]!,
    i = m[8]!;
  const A = e * i - f * h,
    B = -(d * i - f * g),
    C = d * h - e * g;
  const det = a * A + b * B + c * C;
  return [
    A / det,
    -(b * i - c * h) / det,
    (b * f - c * e) / det,
    B / det,
    (a * i - c * g) / det,
    -(a * f - c * d) / det,
    C / det,
    -(a * h - b * g) / det,
    (a * e - b * d) / det,
  ];
}
