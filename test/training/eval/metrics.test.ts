import { describe, expect, it } from 'vitest';
import { aupro, aurocSplit, components, missRateAtFalseReject } from '../../../training/eval/metrics.ts';
import { auroc } from '../../../training/common.ts';

describe('evaluation metrics', () => {
  it('pixel AUROC from split arrays agrees with the rank AUROC, ties counting half', () => {
    const neg = Float32Array.from([0.1, 0.2, 0.2, 0.5, 0.9]);
    const pos = Float32Array.from([0.2, 0.6, 0.95]);
    const ref = auroc([...neg, ...pos], [...Array.from(neg, () => false), ...Array.from(pos, () => true)]);
    expect(aurocSplit(neg, pos)).toBeCloseTo(ref, 12);
  });

  it('AUPRO is 1 for a perfect map, ~0 for a map that only reaches regions at 30% FPR', () => {
    const neg = new Float32Array(1000).map((_, i) => i / 1000);
    expect(aupro(neg, [Float32Array.from([2, 3]), Float32Array.from([5])], 0.3)).toBeCloseTo(1, 6);
    // region values sit at the 70th percentile of the negatives: overlap goes 0 → 1 at FPR 0.3
    const r = aupro(neg, [Float32Array.from([0.7005])], 0.3);
    expect(r).toBeLessThan(0.05);
  });

  it('miss rate at 1% false rejects and connected components', () => {
    const good = Array.from({ length: 100 }, (_, i) => i);
    const m = missRateAtFalseReject(good, [98.5, 50, 200], 0.01);
    expect(m.threshold).toBe(98);
    expect(m.falseRejectRate).toBeCloseTo(0.01);
    expect(m.missRate).toBeCloseTo(1 / 3);
    const mask = Uint8Array.from([1, 1, 0, 0, 0, 0, 0, 1, 1]);
    expect(components(mask, 3, 3).map((c) => c.length)).toEqual([2, 2]);
    expect(components(Uint8Array.from([1, 0, 0, 0, 1, 0, 0, 0, 1]), 3, 3).map((c) => c.length)).toEqual([3]);
  });
});
