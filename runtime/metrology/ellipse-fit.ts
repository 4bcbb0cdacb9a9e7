/**
 * Direct least-squares ellipse fit (Fitzgibbon, Pilu & Fisher 1999) in the numerically stable form of
 * Halíř & Flusser (1998), on centred and scaled points. Used for tilted holes (a circle seen at tilt θ is an
 * ellipse with minor/major = cos θ) and for ovality. Allocation-free.
 */

export class Ellipse {
  cx = 0;
  cy = 0;
  /** Semi-axes, a ≥ b. */
  a = 0;
  b = 0;
  /** Direction of the major axis, radians in (−π/2, π/2]. */
  angle = 0;
}

const S = new Float64Array(9);
const Mm = new Float64Array(9);
const T = new Float64Array(9);

export function fitEllipse(xs: ArrayLike<number>, ys: ArrayLike<number>, n: number, out: Ellipse): boolean {
  if (n < 6) return false;
  let mx = 0,
    my = 0;
  for (let i = 0; i < n; i++) {
    mx += xs[i]!;
    my += ys[i]!;
  }
  mx /= n;
  my /= n;
  let sc = 0;
  for (let i = 0; i < n; i++) sc += Math.hypot(xs[i]! - mx, ys[i]! - my);
  sc = sc / n || 1;
  // Scatter blocks: D1 = [x², xy, y²], D2 = [x, y, 1]; S1 = D1ᵀD1, S2 = D1ᵀD2, S3 = D2ᵀD2.
  let s1_00 = 0,
    s1_01 = 0,
    s1_02 = 0,
    s1_11 = 0,
    s1_12 = 0,
    s1_22 = 0;
  let s2_00 = 0,
    s2_01 = 0,
    s2_02 = 0,
    s2_10 = 0,
    s2_11 = 0,
    s2_12 = 0,
    s2_20 = 0,
    s2_21 = 0,
    s2_22 = 0;
  let s3_00 = 0,
    s3_01 = 0,
    s3_02 = 0,
    s3_11 = 0,
    s3_12 = 0;
  for (let i = 0; i < n; i++) {
    const x = (xs[i]! - mx) / sc,
      y = (ys[i]! - my) / sc;
    const xx = x * x,
      xy = x * y,
      yy = y * y;
    s1_00 += xx * xx;
    s1_01 += xx * xy;
    s1_02 += xx * yy;
    s1_11 += xy * xy;
    s1_12 += xy * yy;
    s1_22 += yy * yy;
    s2_00 += xx * x;
    s2_01 += xx * y;
    s2_02 += xx;
    s2_10 += xy * x;
    s2_11 += xy * y;
    s2_12 += xy;
    s2_20 += yy * x;
    s2_21 += yy * y;
    s2_22 += yy;
    s3_00 += xx;
    s3_01 += xy;
    s3_02 += x;
    s3_11 += yy;
    s3_12 += y;
  }
  const s3_22 = n;
  // inv(S3) (symmetric)
  const c00 = s3_11 * s3_22 - s3_12 * s3_12,
    c01 = s3_02 * s3_12 - s3_01 * s3_22,
    c02 = s3_01 * s3_12 - s3_02 * s3_11;
  const det3 = s3_00 * c00 + s3_01 * c01 + s3_02 * c02;
  if (!(Math.abs(det3) > 0)) return false;
  const c11 = s3_00 * s3_22 - s3_02 * s3_02,
    c12 = s3_01 * s3_02 - s3_00 * s3_12,
    c22 = s3_00 * s3_11 - s3_01 * s3_01;
  const i00 = c00 / det3,
    i01 = c01 / det3,
    i02 = c02 / det3,
    i11 = c11 / det3,
    i12 = c12 / det3,
    i22 = c22 / det3;
  // T = -inv(S3) S2ᵀ  (3×3, rows = linear coeffs d,e,f; cols = a,b,c)
  const s2 = [s2_00, s2_01, s2_02, s2_10, s2_11, s2_12, s2_20, s2_21, s2_22];
  const inv = [i00, i01, i02, i01, i11, i12, i02, i12, i22];
  for (let r = 0; r < 3; r++)
    for (let c = 0; c < 3; c++) {
      let v = 0;
      for (let k = 0; k < 3; k++) v += inv[r * 3 + k]! * s2[c * 3 + k]!;
      T[r * 3 + c] = -v;
    }
  // M = S1 + S2 T
  const s1 = [s1_00, s1_01, s1_02, s1_01, s1_11, s1_12, s1_02, s1_12, s1_22];
  for (let r = 0; r < 3; r++)
    for (let c = 0; c < 3; c++) {
      let v = s1[r * 3 + c]!;
      for (let k = 0; k < 3; k++) v += s2[r * 3 + k]! * T[k * 3 + c]!;
      S[r * 3 + c] = v;
    }
  // Premultiply by inv(C1), C1 = [[0,0,2],[0,-1,0],[2,0,0]]: rows become [M2/2, -M1, M0/2].
  for (let c = 0; c < 3; c++) {
    Mm[c] = S[6 + c]! / 2;
    Mm[3 + c] = -S[3 + c]!;
    Mm[6 + c] = S[c]! / 2;
  }
  // Eigenvalues of Mm from its characteristic cubic; pick the eigenvector with 4ac − b² > 0.
  const p0 = Mm[0]!,
    p1 = Mm[1]!,
    p2 = Mm[2]!,
    p3 = Mm[3]!,
    p4 = Mm[4]!,
    p5 = Mm[5]!,
    p6 = Mm[6]!,
    p7 = Mm[7]!,
    p8 = Mm[8]!;
  const tr = p0 + p4 + p8;
  const minors = p0 * p4 - p1 * p3 + p0 * p8 - p2 * p6 + p4 * p8 - p5 * p7;
  const det = p0 * (p4 * p8 - p5 * p7) - p1 * (p3 * p8 - p5 * p6) + p2 * (p3 * p7 - p4 * p6);
  const roots = cubicRoots(-tr, minors, -det);
  let found = false;
  let A = 0,
    B = 0,
    C = 0;
  let bestCond = -Infinity;
  for (const lam of roots) {
    if (!Number.isFinite(lam)) continue;
    const r0x = p0 - lam,
      r0y = p1,
      r0z = p2;
    const r1x = p3,
      r1y = p4 - lam,
      r1z = p5;
    const r2x = p6,
      r2y = p7,
      r2z = p8 - lam;
    // Eigenvector = the largest cross product of two rows of (M − λI).
    let vx = r0y * r1z - r0z * r1y,
      vy = r0z * r1x - r0x * r1z,
      vz = r0x * r1y - r0y * r1x;
    let bx = r0y * r2z - r0z * r2y,
      by = r0z * r2x - r0x * r2z,
      bz = r0x * r2y - r0y * r2x;
    if (bx * bx + by * by + bz * bz > vx * vx + vy * vy + vz * vz) {
      vx = bx;
      vy = by;
      vz = bz;
    }
    bx = r1y * r2z - r1z * r2y;
    by = r1z * r2x - r1x * r2z;
    bz = r1x * r2y - r1y * r2x;
    if (bx * bx + by * by + bz * bz > vx * vx + vy * vy + vz * vz) {
      vx = bx;
      vy = by;
      vz = bz;
    }
    const nrm = Math.hypot(vx, vy, vz);
    if (!(nrm > 0)) continue;
    vx /= nrm;
    vy /= nrm;
    vz /= nrm;
    const cond = 4 * vx * vz - vy * vy;
    if (cond > 0 && cond > bestCond) {
      bestCond = cond;
      A = vx;
      B = vy;
      C = vz;
      found = true;
    }
  }
  if (!found) return false;
  const D = T[0]! * A + T[1]! * B + T[2]! * C;
  const E = T[3]! * A + T[4]! * B + T[5]! * C;
  const F = T[6]! * A + T[7]! * B + T[8]! * C;
  return conicToEllipse(A, B, C, D, E, F, mx, my, sc, out);
}

/** Geometric parameters of A x² + B xy + C y² + D x + E y + F = 0 in scaled coordinates. */
function conicToEllipse(A: number, B: number, C: number, D: number, E: number, F: number, mx: number, my: number, sc: number, out: Ellipse): boolean {
  const den = 4 * A * C - B * B;
  if (!(den > 0)) return false;
  const x0 = (B * E - 2 * C * D) / den;
  const y0 = (B * D - 2 * A * E) / den;
  const f0 = A * x0 * x0 + B * x0 * y0 + C * y0 * y0 + D * x0 + E * y0 + F;
  const theta = 0.5 * Math.atan2(B, A - C);
  const ct = Math.cos(theta),
    st = Math.sin(theta);
  const l1 = A * ct * ct + B * st * ct + C * st * st;
  const l2 = A * st * st - B * st * ct + C * ct * ct;
  const ax1 = Math.sqrt(-f0 / l1),
    ax2 = Math.sqrt(-f0 / l2);
  if (!Number.isFinite(ax1) || !Number.isFinite(ax2)) return false;
  out.cx = x0 * sc + mx;
  out.cy = y0 * sc + my;
  let ang = theta;
  if (ax1 >= ax2) {
    out.a = ax1 * sc;
    out.b = ax2 * sc;
  } else {
    out.a = ax2 * sc;
    out.b = ax1 * sc;
    ang = theta + Math.PI / 2;
  }
  while (ang > Math.PI / 2) ang -= Math.PI;
  while (ang <= -Math.PI / 2) ang += Math.PI;
  out.angle = ang;
  return true;
}

const rootsBuf = [Number.NaN, Number.NaN, Number.NaN];
/** Real roots of x³ + a x² + b x + c (NaN fills missing ones). */
function cubicRoots(a: number, b: number, c: number): number[] {
  const q = (a * a - 3 * b) / 9;
  const r = (2 * a * a * a - 9 * a * b + 27 * c) / 54;
  const q3 = q * q * q;
  if (r * r < q3) {
    const t = Math.acos(Math.max(-1, Math.min(1, r / Math.sqrt(q3))));
    const sq = -2 * Math.sqrt(q);
    rootsBuf[0] = sq * Math.cos(t / 3) - a / 3;
    rootsBuf[1] = sq * Math.cos((t + 2 * Math.PI) / 3) - a / 3;
    rootsBuf[2] = sq * Math.cos((t - 2 * Math.PI) / 3) - a / 3;
  } else {
    const A = -Math.sign(r) * Math.cbrt(Math.abs(r) + Math.sqrt(r * r - q3));
    const B = A === 0 ? 0 : q / A;
    rootsBuf[0] = A + B - a / 3;
    rootsBuf[1] = Number.NaN;
    rootsBuf[2] = Number.NaN;
  }
  return rootsBuf;
}
