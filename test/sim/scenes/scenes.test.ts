import { describe, expect, it } from 'vitest';
import {
  DEFAULT_HOLE_PATTERN,
  OVERSIZE_DELTA_MM,
  PLATE_DEFECTS,
  Prng,
  renderDrilledPlate,
  renderSurface,
  resizeBilinearMono8ToFloat,
  SURFACE_DEFECTS,
  SURFACE_FAMILIES,
} from '../../../sim/scenes/index.ts';

const W = 512;
const H = 512;

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((v, i) => v === b[i]);
}

describe('Prng', () => {
  it('is deterministic per seed and stays in range', () => {
    const a = new Prng(42);
    const b = new Prng(42);
    const c = new Prng(43);
    const xs = Array.from({ length: 100 }, () => a.next());
    expect(Array.from({ length: 100 }, () => b.next())).toEqual(xs);
    expect(Array.from({ length: 100 }, () => c.next())).not.toEqual(xs);
    const r = new Prng(1);
    let sum = 0;
    let sumSq = 0;
    for (let i = 0; i < 20000; i++) {
      const n = r.normal();
      sum += n;
      sumSq += n * n;
      const k = r.int(3, 5);
      expect(k >= 3 && k <= 5 && Number.isInteger(k)).toBe(true);
      const u = r.uniform(-2, 2);
      expect(u >= -2 && u < 2).toBe(true);
    }
    expect(Math.abs(sum / 20000)).toBeLessThan(0.05);
    expect(Math.abs(sumSq / 20000 - 1)).toBeLessThan(0.05);
  });
});

describe('renderSurface', () => {
  it('gives identical bytes for identical options and different bytes for another seed', () => {
    for (const family of SURFACE_FAMILIES) {
      const a = new Uint8Array(W * H);
      const b = new Uint8Array(W * H);
      const c = new Uint8Array(W * H);
      const ta = renderSurface({ seed: 7, width: W, height: H, family, defect: 'crack' }, a);
      // render something else in between: module scratch buffers must not leak state
      renderSurface({ seed: 99, width: 300, height: 200, family: 'cast', defect: 'stain' }, c);
      const tb = renderSurface({ seed: 7, width: W, height: H, family, defect: 'crack' }, b);
      expect(sameBytes(a, b)).toBe(true);
      expect(tb).toEqual(ta);
      renderSurface({ seed: 8, width: W, height: H, family, defect: 'crack' }, c);
      expect(sameBytes(a, c)).toBe(false);
    }
  });

  it('returns truth consistent with the pixels for every family and defect', () => {
    const good = new Uint8Array(W * H);
    const bad = new Uint8Array(W * H);
    for (const family of SURFACE_FAMILIES)
      for (const defect of SURFACE_DEFECTS) {
        const seed = 500 + SURFACE_FAMILIES.indexOf(family) * 10 + SURFACE_DEFECTS.indexOf(defect);
        const tg = renderSurface({ seed, width: W, height: H, family }, good);
        expect(tg.defective).toBe(false);
        expect(tg.defects).toEqual([]);
        expect(tg.mask).toBeUndefined();
        const t = renderSurface({ seed, width: W, height: H, family, defect }, bad);
        expect(t.defective).toBe(true);
        expect(t.params.family).toBe(family);
        expect(t.defects).toHaveLength(1);
        const [x, y, w, h] = t.defects[0]!.bboxPx;
        expect(t.defects[0]!.kind).toBe(defect);
        expect(x >= 0 && y >= 0 && w > 0 && h > 0 && x + w <= W && y + h <= H).toBe(true);
        const mask = t.mask!;
        let n = 0;
        let outside = 0;
        let diff = 0;
        let diffOff = 0;
        for (let yy = 0; yy < H; yy++)
          for (let xx = 0; xx < W; xx++) {
            const i = yy * W + xx;
            if (!mask[i]) {
              diffOff += Math.abs(good[i]! - bad[i]!);
              continue;
            }
            n++;
            diff += Math.abs(good[i]! - bad[i]!);
            if (xx < x || xx >= x + w || yy < y || yy >= y + h) outside++;
          }
        expect(n).toBeGreaterThan(5);
        expect(outside).toBe(0);
        // the texture is the same (defects use their own random stream): pixels change inside the mask,
        // and outside it only by the defect's faint fringe
        expect(diff / n).toBeGreaterThan(3);
        expect(diffOff / (W * H - n)).toBeLessThan(0.5);
      }
  });

  // Render speed is a benchmark figure (the synthetic camera's acquire stage), never a timed assertion here.
  it('derives the family from the seed when not given', () => {
    const out = new Uint8Array(W * H);
    const fams = new Set([0, 1, 2, 3].map((s) => renderSurface({ seed: s, width: 64, height: 64 }, out).params.family));
    expect(fams.size).toBe(4);
  });

  it('rejects an output buffer that is too small', () => {
    expect(() => renderSurface({ seed: 1, width: 64, height: 64 }, new Uint8Array(100))).toThrow(RangeError);
  });
});

describe('renderDrilledPlate', () => {
  const s = 0.05;
  /** mean grey over a disc (mm geometry) */
  function discMean(img: Uint8Array, cx: number, cy: number, rMm: number): number {
    let sum = 0;
    let n = 0;
    for (let y = 0; y < H; y++)
      for (let x = 0; x < W; x++)
        if (Math.hypot((x + 0.5) * s - cx, (y + 0.5) * s - cy) < rMm) {
          sum += img[y * W + x]!;
          n++;
        }
    return sum / n;
  }

  it('is deterministic', () => {
    const a = new Uint8Array(W * H);
    const b = new Uint8Array(W * H);
    const ta = renderDrilledPlate({ seed: 3, width: W, height: H, defect: 'burr' }, a);
    renderDrilledPlate({ seed: 4, width: W, height: H, defect: 'chipping' }, b);
    const tb = renderDrilledPlate({ seed: 3, width: W, height: H, defect: 'burr' }, b);
    expect(sameBytes(a, b)).toBe(true);
    expect(tb).toEqual(ta);
  });

  it('renders the nominal pattern: dark drilled holes on a bright plate', () => {
    const img = new Uint8Array(W * H);
    const t = renderDrilledPlate({ seed: 11, width: W, height: H }, img);
    expect(t.defective).toBe(false);
    expect(t.holes).toHaveLength(DEFAULT_HOLE_PATTERN.centresMm.length);
    for (const h of t.holes) {
      expect(h.drilled).toBe(true);
      expect(Math.abs(h.diameterMm - DEFAULT_HOLE_PATTERN.diameterMm)).toBeLessThanOrEqual(0.03);
      expect(discMean(img, h.centreMm[0], h.centreMm[1], 2.0)).toBeLessThan(80);
    }
    expect(discMean(img, 9.2, 12.8, 0.8)).toBeGreaterThan(140); // between holes
  });

  it('puts each defect where the truth says', () => {
    const img = new Uint8Array(W * H);
    for (const defect of PLATE_DEFECTS) {
      const t = renderDrilledPlate({ seed: 20 + PLATE_DEFECTS.indexOf(defect), width: W, height: H, defect, defectHole: 4 }, img);
      expect(t.defective).toBe(true);
      expect(t.defects).toHaveLength(1);
      const d = t.defects[0]!;
      expect(d.kind).toBe(defect);
      expect(d.hole).toBe(4);
      const [x, y, w, h] = d.bboxPx;
      expect(x >= 0 && y >= 0 && x + w <= W && y + h <= H && w > 0 && h > 0).toBe(true);
      const hole = t.holes[4]!;
      expect(hole.defect).toBe(defect);
      // the bbox touches the defective hole
      const [cxPx, cyPx] = [hole.centreMm[0] / s, hole.centreMm[1] / s];
      const R = (DEFAULT_HOLE_PATTERN.diameterMm / 2 + 0.7) / s;
      expect(x < cxPx + R && x + w > cxPx - R && y < cyPx + R && y + h > cyPx - R).toBe(true);
      for (const other of t.holes.filter((o) => o.index !== 4)) expect(other.defect).toBeNull();
      if (defect === 'missing') {
        expect(hole.drilled).toBe(false);
        expect(discMean(img, hole.centreMm[0], hole.centreMm[1], 2.0)).toBeGreaterThan(140);
        expect(discMean(img, t.holes[0]!.centreMm[0], t.holes[0]!.centreMm[1], 2.0)).toBeLessThan(80);
      }
      if (defect === 'oversize') {
        expect(hole.diameterMm - DEFAULT_HOLE_PATTERN.diameterMm).toBeGreaterThan(OVERSIZE_DELTA_MM - 0.031);
        // the ring between nominal and oversize radius is dark on this hole
        const ring = discMean(img, hole.centreMm[0], hole.centreMm[1], 2.6);
        const ref = discMean(img, t.holes[1]!.centreMm[0], t.holes[1]!.centreMm[1], 2.6);
        expect(ring).toBeLessThan(ref - 1);
      }
    }
  });
});

describe('resizeBilinearMono8ToFloat', () => {
  it('halves by averaging 2×2 blocks (half-pixel centres) and normalises', () => {
    const src = new Uint8Array(16);
    for (let i = 0; i < 16; i++) src[i] = i * 10;
    const dst = new Float32Array(4);
    resizeBilinearMono8ToFloat(src, 4, 4, dst, 2, 2, 0.5, 0.25);
    const expectPix = [(0 + 10 + 40 + 50) / 4, (20 + 30 + 60 + 70) / 4, (80 + 90 + 120 + 130) / 4, (100 + 110 + 140 + 150) / 4];
    expectPix.forEach((p, i) => expect(dst[i]).toBeCloseTo((p / 255 - 0.5) / 0.25, 5));
  });

  it('is the identity (plus normalisation) at the same size and clamps at borders when upscaling', () => {
    const src = Uint8Array.from([0, 255, 51, 102]);
    const same = new Float32Array(4);
    resizeBilinearMono8ToFloat(src, 2, 2, same, 2, 2, 0, 1);
    expect(Array.from(same)).toEqual(Array.from(src, (v) => Math.fround(v / 255)));
    const up = new Float32Array(16);
    resizeBilinearMono8ToFloat(src, 2, 2, up, 4, 4, 0, 1);
    expect(up[0]).toBeCloseTo(0, 6); // corner clamps to the source corner
    expect(up[3]).toBeCloseTo(1, 6);
    expect(up[1]).toBeCloseTo(0.25, 6); // src x = 0.25
  });
});
