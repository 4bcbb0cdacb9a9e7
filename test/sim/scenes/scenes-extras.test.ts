import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { HOLE_DEFECTS, holeCropDefectsForSeed, renderHoleCrop, renderSurface, SURFACE_FAMILIES } from '../../../sim/scenes/index.ts';
import { exportParts } from '../../../training/data/export.ts';

const N = 256;

describe('renderSurface extras', () => {
  it('draws a texture anomaly whose mask covers pixels that differ from the clean part', () => {
    for (const family of SURFACE_FAMILIES) {
      const clean = new Uint8Array(N * N);
      const bad = new Uint8Array(N * N);
      renderSurface({ seed: 31, width: N, height: N, family }, clean);
      const t = renderSurface({ seed: 31, width: N, height: N, family, defect: 'texture' }, bad);
      expect(t.defective).toBe(true);
      expect(t.defects[0]!.kind).toBe('texture');
      expect(t.params.defectPatchFamily).not.toBe(family);
      let inside = 0;
      let n = 0;
      let outside = 0;
      for (let i = 0; i < N * N; i++) {
        const d = Math.abs(bad[i]! - clean[i]!);
        if (t.mask![i]) {
          inside += d;
          n++;
        } else outside = Math.max(outside, d);
      }
      expect(n).toBeGreaterThan(50);
      expect(inside / n).toBeGreaterThan(1.5);
      // the mask is drawn where the patch's opacity is ≥ 50%; its soft fringe may change a few grey levels outside
      expect(outside).toBeLessThan(80);
    }
  });

  it("keeps the original bytes by default and makes 'extended' nuisances deterministic and different", () => {
    const a = new Uint8Array(N * N);
    const b = new Uint8Array(N * N);
    const c = new Uint8Array(N * N);
    renderSurface({ seed: 5, width: N, height: N, defect: 'scratch' }, a);
    renderSurface({ seed: 5, width: N, height: N, defect: 'scratch', nuisances: 'basic' }, b);
    expect(Buffer.compare(a, b)).toBe(0);
    const t1 = renderSurface({ seed: 5, width: N, height: N, defect: 'scratch', nuisances: 'extended' }, b);
    const t2 = renderSurface({ seed: 5, width: N, height: N, defect: 'scratch', nuisances: 'extended' }, c);
    expect(Buffer.compare(b, c)).toBe(0);
    expect(t2).toEqual(t1);
    expect(Buffer.compare(a, b)).not.toBe(0);
    expect(Math.abs(t1.params.rotationDeg as number)).toBeLessThanOrEqual(4);
    // the bbox follows the rotated mask
    const [x, y, w, h] = t1.defects[0]!.bboxPx;
    let set = 0;
    for (let yy = y; yy < y + h; yy++) for (let xx = x; xx < x + w; xx++) set += t1.mask![yy * N + xx]!;
    expect(set).toBe(t1.mask!.reduce((s, v) => s + v, 0));
  });
});

describe('renderHoleCrop', () => {
  it('is deterministic, honours forced defects and reports Fd only with delamination', () => {
    const a = new Uint8Array(128 * 128);
    const b = new Uint8Array(128 * 128);
    for (const d of HOLE_DEFECTS) {
      const ta = renderHoleCrop({ seed: 9, defects: [d], material: 'cfrp' }, a);
      const tb = renderHoleCrop({ seed: 9, defects: [d], material: 'cfrp' }, b);
      expect(Buffer.compare(a, b)).toBe(0);
      expect(ta).toEqual(tb);
      expect(ta.defects).toEqual([d]);
      if (d === 'delamination') expect(ta.fd).toBeGreaterThanOrEqual(1.1);
      else expect(ta.fd).toBe(1);
    }
    const clean = renderHoleCrop({ seed: 9, defects: [], material: 'cfrp' }, b);
    expect(clean.defects).toEqual([]);
    // the hole is dark in the middle and the surface brighter at the corners
    expect(b[64 * 128 + 64]!).toBeLessThan(b[2 * 128 + 2]!);
    let seen = 0;
    for (let s = 0; s < 200; s++) seen += holeCropDefectsForSeed(s, 'metal').length ? 1 : 0;
    expect(seen / 200).toBeGreaterThan(0.5);
    expect(seen / 200).toBeLessThan(0.8);
  });
});

describe('training/data/export.ts', () => {
  it('writes PNG + JSON per part and mask PNGs for defective ones', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ls-export-'));
    try {
      const parts = await exportParts({ kind: 'surface', count: 6, seed: 100, out: dir, defectRate: 0.5, size: 128 });
      const bad = parts.filter((p) => p.defective);
      expect(readdirSync(join(dir, 'bad')).filter((f) => f.endsWith('.png')).length).toBe(bad.length);
      expect(readdirSync(join(dir, 'masks')).length).toBe(bad.length);
      const meta = JSON.parse(readFileSync(join(dir, 'good', `${parts.find((p) => !p.defective)!.stem}.json`), 'utf8'));
      expect(meta).toMatchObject({ kind: 'surface', label: 'good', defects: [], generatorVersion: 2 });
      expect(typeof meta.seed).toBe('number');
      if (bad[0]) {
        const m = JSON.parse(readFileSync(join(dir, 'bad', `${bad[0].stem}.json`), 'utf8'));
        expect(m.defects[0].bboxPx).toHaveLength(4);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
