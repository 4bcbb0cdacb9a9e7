/**
 * Coarse hole location: Otsu threshold on a subsampled grid, 4-connected components by union-find, then
 * shape filters. Gives each candidate's centroid and equivalent radius in full-resolution pixels; the radial
 * edge stage refines them. Buffers grow to the largest frame seen and are then reused.
 */

export interface LocateOptions {
  /** 'dark': holes darker than the part (front light); 'bright': backlit holes. */
  polarity: 'dark' | 'bright';
  /** Grid step in pixels (2 quarters the work and is ample for holes ≥ 10 px across). */
  step: number;
  minDiameterPx: number;
  maxDiameterPx: number;
}

export class HoleCandidate {
  cx = 0;
  cy = 0;
  r = 0;
  areaPx = 0;
}

export class HoleLocator {
  readonly candidates: HoleCandidate[] = [];
  count = 0;
  threshold = 0;
  private parent = new Int32Array(0);
  private area = new Float64Array(0);
  private sx = new Float64Array(0);
  private sy = new Float64Array(0);
  private x0 = new Int32Array(0);
  private x1 = new Int32Array(0);
  private y0 = new Int32Array(0);
  private y1 = new Int32Array(0);
  private readonly hist = new Uint32Array(256);

  private readonly maxCandidates: number;

  constructor(maxCandidates = 256) {
    this.maxCandidates = maxCandidates;
    for (let i = 0; i < maxCandidates; i++) this.candidates.push(new HoleCandidate());
  }

  locate(img: Uint8Array, W: number, H: number, o: LocateOptions): number {
    const step = Math.max(1, o.step | 0);
    const gw = Math.ceil(W / step),
      gh = Math.ceil(H / step),
      n = gw * gh;
    this.grow(n);
    const hist = this.hist;
    hist.fill(0);
    for (let gy = 0; gy < gh; gy++) for (let gx = 0; gx < gw; gx++) hist[img[gy * step * W + gx * step]!]!++;
    const thr = otsu(hist, n);
    this.threshold = thr;
    const dark = o.polarity === 'dark';
    const parent = this.parent;
    // Pass 1: provisional labels (index of the grid cell) joined to the left and upper neighbours.
    for (let gy = 0; gy < gh; gy++) {
      const row = gy * step * W;
      for (let gx = 0; gx < gw; gx++) {
        const v = img[row + gx * step]!;
        const i = gy * gw + gx;
        if (dark ? v > thr : v <= thr) {
          parent[i] = -1;
          continue;
        }
        parent[i] = i;
        if (gx > 0 && parent[i - 1]! >= 0) union(parent, i, i - 1);
        if (gy > 0 && parent[i - gw]! >= 0) union(parent, i, i - gw);
      }
    }
    // Pass 2: statistics per root.
    const { area, sx, sy, x0, x1, y0, y1 } = this;
    for (let i = 0; i < n; i++)
      if (parent[i]! >= 0 && find(parent, i) === i) {
        area[i] = 0;
        sx[i] = 0;
        sy[i] = 0;
        x0[i] = gw;
        x1[i] = -1;
        y0[i] = gh;
        y1[i] = -1;
      }
    for (let gy = 0; gy < gh; gy++)
      for (let gx = 0; gx < gw; gx++) {
        const i = gy * gw + gx;
        if (parent[i]! < 0) continue;
        const r = find(parent, i);
        area[r]!++;
        sx[r]! += gx;
        sy[r]! += gy;
        if (gx < x0[r]!) x0[r] = gx;
        if (gx > x1[r]!) x1[r] = gx;
        if (gy < y0[r]!) y0[r] = gy;
        if (gy > y1[r]!) y1[r] = gy;
      }
    let count = 0;
    const minA = (Math.PI / 4) * (o.minDiameterPx / step) ** 2;
    const maxA = (Math.PI / 4) * (o.maxDiameterPx / step) ** 2;
    for (let i = 0; i < n && count < this.maxCandidates; i++) {
      if (parent[i] !== i) continue;
      const a = area[i]!;
      if (a < minA || a > maxA) continue;
      if (x0[i] === 0 || y0[i] === 0 || x1[i] === gw - 1 || y1[i] === gh - 1) continue; // cut by the image edge
      const bw = x1[i]! - x0[i]! + 1,
        bh = y1[i]! - y0[i]! + 1;
      if (bw > 2 * bh || bh > 2 * bw) continue;
      if (a / (bw * bh) < 0.55) continue; // a disc fills π/4 ≈ 0.785 of its box; slivers and rings do not
      const c = this.candidates[count++]!;
      c.cx = (sx[i]! / a) * step;
      c.cy = (sy[i]! / a) * step;
      c.areaPx = a * step * step;
      c.r = Math.sqrt(c.areaPx / Math.PI);
    }
    this.count = count;
    return count;
  }

  private grow(n: number): void {
    if (this.parent.length >= n) return;
    this.parent = new Int32Array(n);
    this.area = new Float64Array(n);
    this.sx = new Float64Array(n);
    this.sy = new Float64Array(n);
    this.x0 = new Int32Array(n);
    this.x1 = new Int32Array(n);
    this.y0 = new Int32Array(n);
    this.y1 = new Int32Array(n);
  }
}

function find(p: Int32Array, i: number): number {
  let r = i;
  while (p[r] !== r) r = p[r]!;
  while (p[i] !== r) {
    const next = p[i]!;
    p[i] = r;
    i = next;
  }
  return r;
}

function union(p: Int32Array, a: number, b: number): void {
  const ra = find(p, a),
    rb = find(p, b);
  if (ra === rb) return;
  if (ra < rb) p[rb] = ra;
  else p[ra] = rb;
}

/** Otsu's threshold on a 256-bin histogram: pixels ≤ threshold are the dark class. */
export function otsu(hist: Uint32Array, total: number): number {
  let sum = 0;
  for (let i = 0; i < 256; i++) sum += i * hist[i]!;
  let sumB = 0,
    wB = 0,
    best = 0,
    thr = 127;
  for (let t = 0; t < 256; t++) {
    wB += hist[t]!;
    if (wB === 0) continue;
    const wF = total - wB;
    if (wF === 0) break;
    sumB += t * hist[t]!;
    const mB = sumB / wB,
      mF = (sum - sumB) / wF;
    const between = wB * wF * (mB - mF) * (mB - mF);
    if (between > best) {
      best = between;
      thr = t;
    }
  }
  return thr;
}
