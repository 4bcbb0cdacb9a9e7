/**
 * Circle fits on edge points held in parallel Float64Arrays (xs, ys, first n used), allocation-free so the
 * station can call them per frame:
 *
 *   ransacCircle  3-point circles, keeps the largest consensus set (chips, burrs, dirt are outliers)
 *   fitHyper      Al-Sharadqah & Chernov's Hyper fit: algebraic, essentially unbiased, no initial guess
 *   fitTaubin     Taubin's fit (same Newton scheme), kept for comparison and tests
 *   fitKasa       Kåsa's linear fit: biased towards small radii on short arcs (see test/metrology)
 *   fitCircleLM   geometric Levenberg–Marquardt on Σ(|p−c|−r)², started from Hyper
 *
 * The algebraic fits follow N. Chernov's reference implementations (centred moments, Newton on the
 * characteristic polynomial from x = 0), which are stable for near-full and short arcs alike.
 */

export class Circle {
  cx = 0;
  cy = 0;
  r = 0;
  set(cx: number, cy: number, r: number): this {
    this.cx = cx;
    this.cy = cy;
    this.r = r;
    return this;
  }
}

interface Moments {
  mx: number;
  my: number;
  Mxx: number;
  Myy: number;
  Mxy: number;
  Mxz: number;
  Myz: number;
  Mzz: number;
}
const M: Moments = { mx: 0, my: 0, Mxx: 0, Myy: 0, Mxy: 0, Mxz: 0, Myz: 0, Mzz: 0 };

function moments(xs: ArrayLike<number>, ys: ArrayLike<number>, n: number): Moments {
  let sx = 0,
    sy = 0;
  for (let i = 0; i < n; i++) {
    sx += xs[i]!;
    sy += ys[i]!;
  }
  const mx = sx / n,
    my = sy / n;
  let Mxx = 0,
    Myy = 0,
    Mxy = 0,
    Mxz = 0,
    Myz = 0,
    Mzz = 0;
  for (let i = 0; i < n; i++) {
    const x = xs[i]! - mx,
      y = ys[i]! - my,
      z = x * x + y * y;
    Mxx += x * x;
    Myy += y * y;
    Mxy += x * y;
    Mxz += x * z;
    Myz += y * z;
    Mzz += z * z;
  }
  M.mx = mx;
  M.my = my;
  M.Mxx = Mxx / n;
  M.Myy = Myy / n;
  M.Mxy = Mxy / n;
  M.Mxz = Mxz / n;
  M.Myz = Myz / n;
  M.Mzz = Mzz / n;
  return M;
}

/** Kåsa: least squares on x²+y²+Dx+Ey+F = 0. Exact on exact points; biased (r too small) on noisy short arcs. */
export function fitKasa(xs: ArrayLike<number>, ys: ArrayLike<number>, n: number, out: Circle): boolean {
  if (n < 3) return false;
  const m = moments(xs, ys, n);
  // In centred coordinates: [Mxx Mxy; Mxy Myy] [a; b] = ½ [Mxz; Myz]
  const det = m.Mxx * m.Myy - m.Mxy * m.Mxy;
  if (!(Math.abs(det) > 0)) return false;
  const a = (0.5 * (m.Mxz * m.Myy - m.Myz * m.Mxy)) / det;
  const b = (0.5 * (m.Myz * m.Mxx - m.Mxz * m.Mxy)) / det;
  out.set(a + m.mx, b + m.my, Math.sqrt(a * a + b * b + m.Mxx + m.Myy));
  return Number.isFinite(out.r);
}

/** Taubin's algebraic fit (Chernov's Newton variant). */
export function fitTaubin(xs: ArrayLike<number>, ys: ArrayLike<number>, n: number, out: Circle): boolean {
  if (n < 3) return false;
  const m = moments(xs, ys, n);
  const Mz = m.Mxx + m.Myy;
  const covXY = m.Mxx * m.Myy - m.Mxy * m.Mxy;
  const varZ = m.Mzz - Mz * Mz;
  const A3 = 4 * Mz;
  const A2 = -3 * Mz * Mz - m.Mzz;
  const A1 = varZ * Mz + 4 * covXY * Mz - m.Mxz * m.Mxz - m.Myz * m.Myz;
  const A0 = m.Mxz * (m.Mxz * m.Myy - m.Myz * m.Mxy) + m.Myz * (m.Myz * m.Mxx - m.Mxz * m.Mxy) - varZ * covXY;
  let x = 0,
    y = A0;
  for (let it = 0; it < 99; it++) {
    const dy = A1 + x * (2 * A2 + 3 * A3 * x);
    const xn = x - y / dy;
    if (xn === x || !Number.isFinite(xn)) break;
    const yn = A0 + xn * (A1 + xn * (A2 + xn * A3));
    if (Math.abs(yn) >= Math.abs(y)) break;
    x = xn;
    y = yn;
  }
  return centreFromRoot(m, x, Mz, 0, out);
}

/** Hyper fit (Al-Sharadqah & Chernov 2009): removes the essential bias of algebraic fits. */
export function fitHyper(xs: ArrayLike<number>, ys: ArrayLike<number>, n: number, out: Circle): boolean {
  if (n < 3) return false;
  const m = moments(xs, ys, n);
  const Mz = m.Mxx + m.Myy;
  const covXY = m.Mxx * m.Myy - m.Mxy * m.Mxy;
  const varZ = m.Mzz - Mz * Mz;
  const A2 = 4 * covXY - 3 * Mz * Mz - m.Mzz;
  const A1 = varZ * Mz + 4 * covXY * Mz - m.Mxz * m.Mxz - m.Myz * m.Myz;
  const A0 = m.Mxz * (m.Mxz * m.Myy - m.Myz * m.Mxy) + m.Myz * (m.Myz * m.Mxx - m.Mxz * m.Mxy) - varZ * covXY;
  let x = 0,
    y = A0;
  for (let it = 0; it < 99; it++) {
    const dy = A1 + x * (2 * A2 + 16 * x * x);
    const xn = x - y / dy;
    if (xn === x || !Number.isFinite(xn)) break;
    const yn = A0 + xn * (A1 + xn * (A2 + 4 * xn * xn));
    if (Math.abs(yn) >= Math.abs(y)) break;
    x = xn;
    y = yn;
  }
  return centreFromRoot(m, x, Mz, 2 * x, out);
}

function centreFromRoot(m: Moments, x: number, Mz: number, rExtra: number, out: Circle): boolean {
  const det = x * x - x * Mz + m.Mxx * m.Myy - m.Mxy * m.Mxy;
  if (!(Math.abs(det) > 0)) return false;
  const a = (m.Mxz * (m.Myy - x) - m.Myz * m.Mxy) / det / 2;
  const b = (m.Myz * (m.Mxx - x) - m.Mxz * m.Mxy) / det / 2;
  out.set(a + m.mx, b + m.my, Math.sqrt(a * a + b * b + Mz + rExtra));
  return Number.isFinite(out.r) && Number.isFinite(out.cx) && Number.isFinite(out.cy);
}

/**
 * Geometric fit: Levenberg–Marquardt on the orthogonal distances, from `init`. Returns the RMS residual
 * (NaN when it cannot fit). Normal equations are 3×3, solved in closed form.
 */
export function fitCircleLM(xs: ArrayLike<number>, ys: ArrayLike<number>, n: number, init: Circle, out: Circle, maxIter = 50): number {
  if (n < 3) return Number.NaN;
  let a = init.cx,
    b = init.cy,
    r = init.r;
  let lambda = 1e-3;
  let cost = geometricCost(xs, ys, n, a, b, r);
  for (let it = 0; it < maxIter; it++) {
    // J rows: [-(x-a)/d, -(y-b)/d, -1]; residual e = d - r.
    let j11 = 0,
      j12 = 0,
      j13 = 0,
      j22 = 0,
      j23 = 0,
      g1 = 0,
      g2 = 0,
      g3 = 0;
    for (let i = 0; i < n; i++) {
      const dx = xs[i]! - a,
        dy = ys[i]! - b;
      const d = Math.sqrt(dx * dx + dy * dy) || 1e-12;
      const u = -dx / d,
        v = -dy / d,
        e = d - r;
      j11 += u * u;
      j12 += u * v;
      j13 += u;
      j22 += v * v;
      j23 += v;
      g1 += u * e;
      g2 += v * e;
      g3 -= e;
    }
    const j33 = n;
    let improved = false;
    for (let tries = 0; tries < 10; tries++) {
      const s11 = j11 * (1 + lambda),
        s22 = j22 * (1 + lambda),
        s33 = j33 * (1 + lambda);
      // Solve S δ = -g (Cramer's rule on the symmetric 3×3).
      const c11 = s22 * s33 - j23 * j23,
        c12 = j13 * j23 - j12 * s33,
        c13 = j12 * j23 - s22 * j13;
      const det = s11 * c11 + j12 * c12 + j13 * c13;
      if (!(Math.abs(det) > 0)) return Number.NaN;
      const c22 = s11 * s33 - j13 * j13,
        c23 = j12 * j13 - s11 * j23,
        c33 = s11 * s22 - j12 * j12;
      const da = -(c11 * g1 + c12 * g2 + c13 * g3) / det;
      const db = -(c12 * g1 + c22 * g2 + c23 * g3) / det;
      const dr = -(c13 * g1 + c23 * g2 + c33 * g3) / det;
      const nc = geometricCost(xs, ys, n, a + da, b + db, r + dr);
      if (nc < cost) {
        a += da;
        b += db;
        r += dr;
        const rel = (cost - nc) / (cost + 1e-300);
        cost = nc;
        lambda = Math.max(lambda * 0.1, 1e-12);
        improved = true;
        if (rel < 1e-12 || Math.abs(da) + Math.abs(db) + Math.abs(dr) < 1e-12 * (Math.abs(r) + 1)) it = maxIter;
        break;
      }
      lambda *= 10;
    }
    if (!improved) break;
  }
  out.set(a, b, Math.abs(r));
  return Math.sqrt(cost / n);
}

function geometricCost(xs: ArrayLike<number>, ys: ArrayLike<number>, n: number, a: number, b: number, r: number): number {
  let s = 0;
  for (let i = 0; i < n; i++) {
    const e = Math.hypot(xs[i]! - a, ys[i]! - b) - r;
    s += e * e;
  }
  return s;
}

/** Circle through three points; false when they are (nearly) collinear. */
export function circleThrough3(x1: number, y1: number, x2: number, y2: number, x3: number, y3: number, out: Circle): boolean {
  const bx = x2 - x1,
    by = y2 - y1,
    cx = x3 - x1,
    cy = y3 - y1;
  const d = 2 * (bx * cy - by * cx);
  if (Math.abs(d) < 1e-12 * (bx * bx + by * by + cx * cx + cy * cy)) return false;
  const b2 = bx * bx + by * by,
    c2 = cx * cx + cy * cy;
  const ux = (cy * b2 - by * c2) / d,
    uy = (bx * c2 - cx * b2) / d;
  out.set(x1 + ux, y1 + uy, Math.hypot(ux, uy));
  return true;
}

/** Small deterministic generator for RANSAC sampling: results repeat frame to frame for the same points. */
class XorShift {
  s = 0x9e3779b9;
  next(): number {
    let x = this.s;
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    this.s = x >>> 0;
    return this.s / 4294967296;
  }
}
const rng = new XorShift();
const trial = new Circle();

/**
 * RANSAC over 3-point circles. Marks inliers (|d − r| ≤ threshold) in `inliers` and returns their count
 * (0 when no circle was found). Iterations adapt to the inlier ratio (99.9% confidence), at most maxIter.
 */
export function ransacCircle(
  xs: ArrayLike<number>,
  ys: ArrayLike<number>,
  n: number,
  threshold: number,
  inliers: Uint8Array,
  best: Circle,
  maxIter = 100,
  rMin = 0,
  rMax = Number.POSITIVE_INFINITY,
): number {
  if (n < 3) return 0;
  rng.s = 0x9e3779b9;
  let bestCount = 0;
  let needed = maxIter;
  for (let it = 0; it < needed && it < maxIter; it++) {
    // Spread the three samples around the contour: one from each third of the point order (points come from
    // rays in angular order), which avoids near-collinear triples on a full circle.
    const t = n / 3;
    const i1 = Math.floor(rng.next() * t),
      i2 = Math.floor(t + rng.next() * t),
      i3 = Math.min(n - 1, Math.floor(2 * t + rng.next() * t));
    if (!circleThrough3(xs[i1]!, ys[i1]!, xs[i2]!, ys[i2]!, xs[i3]!, ys[i3]!, trial)) continue;
    if (trial.r < rMin || trial.r > rMax) continue;
    let count = 0;
    for (let i = 0; i < n; i++) if (Math.abs(Math.hypot(xs[i]! - trial.cx, ys[i]! - trial.cy) - trial.r) <= threshold) count++;
    if (count > bestCount) {
      bestCount = count;
      best.set(trial.cx, trial.cy, trial.r);
      const w = count / n;
      const p = 1 - w * w * w;
      needed = p <= 1e-9 ? 1 : Math.ceil(Math.log(1e-3) / Math.log(p));
    }
  }
  if (bestCount === 0) return 0;
  return markInliers(xs, ys, n, best, threshold, inliers);
}

export function markInliers(xs: ArrayLike<number>, ys: ArrayLike<number>, n: number, c: Circle, threshold: number, inliers: Uint8Array): number {
  let count = 0;
  for (let i = 0; i < n; i++) {
    const ok = Math.abs(Math.hypot(xs[i]! - c.cx, ys[i]! - c.cy) - c.r) <= threshold;
    inliers[i] = ok ? 1 : 0;
    if (ok) count++;
  }
  return count;
}

/** Copies the points marked in `mask` to the front of (ox, oy); returns how many. */
export function compact(xs: ArrayLike<number>, ys: ArrayLike<number>, n: number, mask: Uint8Array, ox: Float64Array, oy: Float64Array): number {
  let k = 0;
  for (let i = 0; i < n; i++)
    if (mask[i]) {
      ox[k] = xs[i]!;
      oy[k] = ys[i]!;
      k++;
    }
  return k;
}
