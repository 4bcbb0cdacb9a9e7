/**
 * Anomaly-detection metrics as MVTec AD / anomalib report them: image and pixel AUROC, AUPRO up to a false
 * positive rate (30% by default, normalised to 0..1), F1 at a threshold, and the miss rate at a fixed false
 * reject rate. Pure functions over plain arrays, so `linesight eval --json` output can be recomputed anywhere.
 */
import { auroc } from '../common.ts';

export { auroc };

/** Pixel AUROC from negative and positive pixel values: P(pos > neg) + ½P(pos = neg), by two sorted sweeps. */
export function aurocSplit(neg: Float32Array, pos: Float32Array): number {
  if (neg.length === 0 || pos.length === 0) return NaN;
  const n = Float32Array.from(neg).sort();
  const p = Float32Array.from(pos).sort();
  let j = 0; // neg < current
  let k = 0; // neg <= current
  let acc = 0;
  for (let i = 0; i < p.length; i++) {
    const v = p[i]!;
    while (j < n.length && n[j]! < v) j++;
    if (k < j) k = j;
    while (k < n.length && n[k]! <= v) k++;
    acc += j + 0.5 * (k - j);
  }
  return acc / (n.length * p.length);
}

/**
 * Area under the per-region-overlap curve for FPR ∈ [0, maxFpr], divided by maxFpr (Bergmann et al., MVTec AD).
 * `regions` are the pixel values of each ground-truth connected component; `neg` every defect-free pixel.
 */
export function aupro(neg: Float32Array, regions: readonly Float32Array[], maxFpr = 0.3, steps = 300): number {
  if (neg.length === 0 || regions.length === 0) return NaN;
  const n = Float32Array.from(neg).sort(); // ascending, like the regions: one lowerBound serves both
  const rs = regions.map((r) => Float32Array.from(r).sort());
  let area = 0;
  let prevF = 0;
  // overlap at FPR 0: region pixels above every negative
  let prevP = 0;
  for (const r of rs) prevP += (r.length - upperBound(r, n[n.length - 1]!)) / r.length / rs.length;
  for (let s = 1; s <= steps; s++) {
    const fTarget = (s / steps) * maxFpr;
    const idx = Math.min(n.length - 1, Math.max(0, Math.floor(fTarget * n.length) - 1));
    const t = n[n.length - 1 - idx]!; // the (idx+1)-th highest negative
    // FPR at threshold t (pixels ≥ t are positive)
    const fpr = (n.length - lowerBound(n, t)) / n.length;
    let pro = 0;
    for (const r of rs) pro += (r.length - lowerBound(r, t)) / r.length;
    pro /= rs.length;
    const f = Math.min(fpr, maxFpr);
    area += ((pro + prevP) / 2) * (f - prevF);
    prevF = f;
    prevP = pro;
  }
  if (prevF < maxFpr) area += prevP * (maxFpr - prevF);
  return area / maxFpr;
}

/** First index with asc[i] > t in an ascending array. */
function upperBound(asc: Float32Array, t: number): number {
  let lo = 0;
  let hi = asc.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (asc[mid]! <= t) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** First index with asc[i] ≥ t in an ascending array. */
function lowerBound(asc: Float32Array, t: number): number {
  let lo = 0;
  let hi = asc.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (asc[mid]! < t) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/**
 * Miss rate when the threshold is set so that at most `falseRejectRate` of the good parts are rejected:
 * the threshold sits just above the ⌊rate·nGood⌋+1-th highest good score.
 */
export function missRateAtFalseReject(
  good: readonly number[],
  bad: readonly number[],
  falseRejectRate = 0.01,
): { threshold: number; missRate: number; falseRejectRate: number } {
  const g = [...good].sort((a, b) => b - a);
  const allowed = Math.floor(falseRejectRate * g.length);
  const t = g[allowed]!; // scores strictly above t are rejected: `allowed` goods at most
  const missed = bad.filter((s) => !(s > t)).length;
  const fr = good.filter((s) => s > t).length / good.length;
  return { threshold: t, missRate: bad.length ? missed / bad.length : NaN, falseRejectRate: fr };
}

/** 8-connected components of a 0/1 mask; returns the pixel indices of each. */
export function components(mask: Uint8Array, w: number, h: number): Int32Array[] {
  const seen = new Uint8Array(w * h);
  const out: Int32Array[] = [];
  const stack: number[] = [];
  for (let s = 0; s < w * h; s++) {
    if (!mask[s] || seen[s]) continue;
    const px: number[] = [];
    stack.push(s);
    seen[s] = 1;
    while (stack.length) {
      const p = stack.pop()!;
      px.push(p);
      const x = p % w;
      const y = (p - x) / w;
      for (let dy = -1; dy <= 1; dy++)
        for (let dx = -1; dx <= 1; dx++) {
          const xx = x + dx;
          const yy = y + dy;
          if (xx < 0 || yy < 0 || xx >= w || yy >= h) continue;
          const q = yy * w + xx;
          if (mask[q] && !seen[q]) {
            seen[q] = 1;
            stack.push(q);
          }
        }
    }
    out.push(Int32Array.from(px));
  }
  return out;
}
