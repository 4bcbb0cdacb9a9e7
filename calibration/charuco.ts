/**
 * ChArUco camera calibration with opencv-js: detect the board in each view (CharucoDetector.detectBoard,
 * whose corner interpolation refines corners to sub-pixel), then Zhang's method with the Brown–Conrady
 * model via calibrateCameraExtended (k1, k2, p1, p2 and optionally k3). Views are judged by their own RMS
 * reprojection error; a view above max(3 × median, 0.3 px) is dropped and the camera re-solved, once per
 * round, up to three rounds. Board coordinates are OpenCV's: charuco corner k at ((k mod (cols−1)) + 1,
 * ⌊k / (cols−1)⌋ + 1) squares from the board's top-left corner (getChessboardCorners is unbound in opencv-js).
 */
import { LinesightError } from '../runtime/errors.ts';
import type { CV } from './opencv.ts';
import { undistortPixel, type PinholeCalibration } from '../runtime/metrology/calibration.ts';
import type { GrayImage } from './telecentric.ts';

export interface BoardSpec {
  cols: number;
  rows: number;
  squareMm: number;
  markerMm: number;
  dict: string;
}

/** cv::CALIB_FIX_K3 of calib3d.hpp (0x80). */
const CALIB_FIX_K3 = 0x80;
/** cv::TermCriteria::COUNT | cv::TermCriteria::EPS. */
const TERM_COUNT_EPS = 3;

export function parseBoard(spec: string): BoardSpec {
  const m = /^charuco:(\d+)x(\d+):([0-9.]+):([0-9.]+):(?:DICT_)?([A-Z0-9_]+)$/i.exec(spec);
  if (!m)
    throw new LinesightError(
      'LS_ERR_USAGE',
      `--board '${spec}': expected charuco:COLSxROWS:SQUARE_MM:MARKER_MM:DICT (e.g. charuco:11x8:15:11:5X5_100)`,
      { spec },
    );
  const b = { cols: Number(m[1]), rows: Number(m[2]), squareMm: Number(m[3]), markerMm: Number(m[4]), dict: `DICT_${m[5]!.toUpperCase()}` };
  if (b.cols < 3 || b.rows < 3 || !(b.markerMm > 0) || !(b.markerMm < b.squareMm))
    throw new LinesightError('LS_ERR_USAGE', `--board '${spec}': need ≥ 3×3 squares and 0 < marker < square`, { spec });
  return b;
}

export function boardToString(b: BoardSpec): string {
  return `charuco:${b.cols}x${b.rows}:${b.squareMm}:${b.markerMm}:${b.dict.replace(/^DICT_/, '')}`;
}

export function makeBoard(cv: CV, b: BoardSpec): CV {
  const dictId = cv[b.dict];
  if (typeof dictId !== 'number') throw new LinesightError('LS_ERR_USAGE', `unknown ArUco dictionary ${b.dict}`, { dict: b.dict });
  const dict = cv.getPredefinedDictionary(dictId);
  return new cv.aruco_CharucoBoard(new cv.Size(b.cols, b.rows), b.squareMm, b.markerMm, dict, new cv.Mat());
}

export function cornerObjectPoint(b: BoardSpec, id: number): [number, number] {
  const n = b.cols - 1;
  return [((id % n) + 1) * b.squareMm, (Math.floor(id / n) + 1) * b.squareMm];
}

export interface ViewCorners {
  name: string;
  ids: Int32Array;
  /** x, y pairs in pixels. */
  px: Float32Array;
}

export function detectViews(cv: CV, b: BoardSpec, images: readonly GrayImage[]): ViewCorners[] {
  const board = makeBoard(cv, b);
  const det = new cv.aruco_CharucoDetector(
    board,
    new cv.aruco_CharucoParameters(),
    new cv.aruco_DetectorParameters(),
    new cv.aruco_RefineParameters(10, 3, true),
  );
  const views: ViewCorners[] = [];
  for (const img of images) {
    const mat = new cv.Mat(img.height, img.width, cv.CV_8UC1);
    mat.data.set(img.data.subarray(0, img.width * img.height));
    const corners = new cv.Mat(),
      ids = new cv.Mat(),
      mc = new cv.MatVector(),
      mi = new cv.Mat();
    try {
      det.detectBoard(mat, corners, ids, mc, mi);
      views.push({
        name: img.name,
        ids: Int32Array.from(ids.rows > 0 ? ids.data32S : []),
        px: Float32Array.from(corners.rows > 0 ? corners.data32F : []),
      });
    } finally {
      for (const m of [mat, corners, ids, mc, mi]) m.delete();
    }
  }
  det.delete();
  board.delete();
  return views;
}

export interface CalibrateOptions {
  /** Fewer detected corners than this and the view is not used. */
  minCorners: number;
  /** Estimate k3 as well (wide-angle lenses); default fixed at 0, which is steadier for machine-vision lenses. */
  k3: boolean;
  rejectFactor: number;
  rejectFloorPx: number;
}

export const DEFAULT_CALIBRATE_OPTIONS: CalibrateOptions = { minCorners: 12, k3: false, rejectFactor: 3, rejectFloorPx: 0.3 };

export function calibrateCharuco(
  cv: CV,
  b: BoardSpec,
  views: readonly ViewCorners[],
  size: [number, number],
  opts: Partial<CalibrateOptions> = {},
): PinholeCalibration {
  const o = { ...DEFAULT_CALIBRATE_OPTIONS, ...opts };
  const report = views.map((v) => ({
    image: v.name,
    corners: v.ids.length,
    rmsPx: null as number | null,
    used: v.ids.length >= o.minCorners,
    reason: v.ids.length >= o.minCorners ? undefined : `${v.ids.length} corners < ${o.minCorners}`,
  }));
  let result: { K: number[]; dist: number[]; rms: number; perView: number[] } | null = null;
  for (let round = 0; round < 4; round++) {
    const use = report.map((r, i) => (r.used ? i : -1)).filter((i) => i >= 0);
    if (use.length < 3)
      throw new LinesightError('LS_ERR_CALIBRATION_FAILED', `only ${use.length} usable views (need ≥ 3; ≥ 10 at several tilts recommended)`, {
        views: report,
      });
    result = solve(
      cv,
      b,
      use.map((i) => views[i]!),
      size,
      o.k3,
    );
    use.forEach((vi, k) => {
      report[vi]!.rmsPx = round6(result!.perView[k]!);
    });
    const sorted = [...result.perView].sort((x, y) => x - y);
    const median = sorted[Math.floor(sorted.length / 2)]!;
    const limit = Math.max(o.rejectFactor * median, o.rejectFloorPx);
    let dropped = 0;
    use.forEach((vi, k) => {
      if (result!.perView[k]! > limit && round < 3 && use.length - dropped > 3) {
        report[vi]!.used = false;
        report[vi]!.reason = `rms ${result!.perView[k]!.toFixed(3)} px > ${limit.toFixed(3)} px`;
        dropped++;
      }
    });
    if (dropped === 0) break;
  }
  const r = result!;
  return {
    kind: 'pinhole',
    imageSize: size,
    camera: { fx: r.K[0]!, fy: r.K[4]!, cx: r.K[2]!, cy: r.K[5]! },
    distortion: { k1: r.dist[0]!, k2: r.dist[1]!, p1: r.dist[2]!, p2: r.dist[3]!, k3: r.dist[4] ?? 0 },
    quality: {
      rmsPx: round6(r.rms),
      views: report.map((v) => (v.reason === undefined ? { image: v.image, corners: v.corners, rmsPx: v.rmsPx, used: v.used } : v)),
      rejected: report.filter((v) => !v.used).length,
    },
    board: boardToString(b),
    createdAt: new Date().toISOString(),
  };
}

function solve(
  cv: CV,
  b: BoardSpec,
  views: readonly ViewCorners[],
  size: [number, number],
  k3: boolean,
): { K: number[]; dist: number[]; rms: number; perView: number[] } {
  const obj = new cv.MatVector(),
    img = new cv.MatVector();
  const mats: CV[] = [];
  for (const v of views) {
    const o = new cv.Mat(v.ids.length, 1, cv.CV_32FC3),
      p = new cv.Mat(v.ids.length, 1, cv.CV_32FC2);
    for (let i = 0; i < v.ids.length; i++) {
      const [x, y] = cornerObjectPoint(b, v.ids[i]!);
      o.data32F[3 * i] = x;
      o.data32F[3 * i + 1] = y;
      o.data32F[3 * i + 2] = 0;
      p.data32F[2 * i] = v.px[2 * i];
      p.data32F[2 * i + 1] = v.px[2 * i + 1];
    }
    obj.push_back(o);
    img.push_back(p);
    mats.push(o, p);
  }
  const K = new cv.Mat(),
    D = new cv.Mat(),
    rv = new cv.MatVector(),
    tv = new cv.MatVector();
  const sdI = new cv.Mat(),
    sdE = new cv.Mat(),
    per = new cv.Mat();
  // Literal calib3d flag values: opencv-js 4.10 exports the *fisheye* enum under the CALIB_FIX_K* names
  // (its CALIB_FIX_K3 is 64, which calibrateCamera reads as CALIB_FIX_K2), measured here.
  const flags = k3 ? 0 : CALIB_FIX_K3;
  const crit = new cv.TermCriteria(TERM_COUNT_EPS, 100, 1e-12);
  try {
    const rms = cv.calibrateCameraExtended(obj, img, new cv.Size(size[0], size[1]), K, D, rv, tv, sdI, sdE, per, flags, crit);
    return { K: Array.from(K.data64F), dist: Array.from(D.data64F), rms, perView: Array.from(per.data64F) };
  } catch (err) {
    throw new LinesightError(
      'LS_ERR_CALIBRATION_FAILED',
      `calibrateCameraExtended failed: ${typeof err === 'number' ? (cv.exceptionFromPtr?.(err)?.msg ?? err) : (err as Error).message}`,
      {},
      { cause: err },
    );
  } finally {
    for (const m of [...mats, obj, img, K, D, rv, tv, sdI, sdE, per]) m.delete();
  }
}

/**
 * Part-plane mapping from one view of the board lying on the part plane: homography from undistorted pixels
 * to board mm (DLT on the corners, normalised), so measurements come out in the board's frame.
 */
export function planeFromView(cal: PinholeCalibration, b: BoardSpec, view: ViewCorners): number[] {
  const tmp = new Float64Array(2);
  const src: [number, number][] = [],
    dst: [number, number][] = [];
  for (let i = 0; i < view.ids.length; i++) {
    undistortPixel(cal, view.px[2 * i]!, view.px[2 * i + 1]!, tmp);
    src.push([tmp[0]!, tmp[1]!]);
    dst.push(cornerObjectPoint(b, view.ids[i]!));
  }
  if (src.length < 4) throw new LinesightError('LS_ERR_CALIBRATION_FAILED', `plane view ${view.name}: ${src.length} corners`, {});
  return homographyDlt(src, dst);
}

/** Normalised DLT homography (Hartley), solved by Gauss–Jordan with h33 = 1; fine for well-spread points. */
export function homographyDlt(src: readonly [number, number][], dst: readonly [number, number][]): number[] {
  const norm = (pts: readonly [number, number][]) => {
    const mx = pts.reduce((s, p) => s + p[0], 0) / pts.length,
      my = pts.reduce((s, p) => s + p[1], 0) / pts.length;
    const d = pts.reduce((s, p) => s + Math.hypot(p[0] - mx, p[1] - my), 0) / pts.length;
    const k = Math.SQRT2 / d;
    return { T: [k, 0, -k * mx, 0, k, -k * my, 0, 0, 1], pts: pts.map(([x, y]) => [k * (x - mx), k * (y - my)] as [number, number]) };
  };
  const a = norm(src),
    bn = norm(dst);
  // 8 unknowns, normal equations of the 2n×8 system.
  const N = Array.from({ length: 8 }, () => new Array<number>(9).fill(0));
  for (let i = 0; i < a.pts.length; i++) {
    const [x, y] = a.pts[i]!,
      [u, v] = bn.pts[i]!;
    const rows = [
      [x, y, 1, 0, 0, 0, -u * x, -u * y, u],
      [0, 0, 0, x, y, 1, -v * x, -v * y, v],
    ];
    for (const r of rows) for (let p = 0; p < 8; p++) for (let q = 0; q < 9; q++) N[p]![q]! += r[p]! * r[q]!;
  }
  for (let c = 0; c < 8; c++) {
    let p = c;
    for (let r = c + 1; r < 8; r++) if (Math.abs(N[r]![c]!) > Math.abs(N[p]![c]!)) p = r;
    [N[c], N[p]] = [N[p]!, N[c]!];
    for (let r = 0; r < 8; r++) {
      if (r === c) continue;
      const f = N[r]![c]! / N[c]![c]!;
      for (let k = c; k < 9; k++) N[r]![k]! -= f * N[c]![k]!;
    }
  }
  const h = [...N.map((r, i) => r[8]! / r[i]!), 1];
  // H = Tdst⁻¹ · Hn · Tsrc
  const Hn = h;
  const Ts = a.T,
    Td = bn.T;
  const TdInv = [1 / Td[0]!, 0, -Td[2]! / Td[0]!, 0, 1 / Td[4]!, -Td[5]! / Td[4]!, 0, 0, 1];
  const H = mul3(TdInv, mul3(Hn, Ts));
  return H.map((v) => v / H[8]!);
}

function mul3(A: readonly number[], B: readonly number[]): number[] {
  const C = new Array<number>(9).fill(0);
  for (let r = 0; r < 3; r++) for (let c = 0; c < 3; c++) for (let k = 0; k < 3; k++) C[r * 3 + c]! += A[r * 3 + k]! * B[k * 3 + c]!;
  return C;
}

function round6(v: number): number {
  return Math.round(v * 1e6) / 1e6;
}
