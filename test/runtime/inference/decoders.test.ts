import { describe, expect, it } from 'vitest';
import { AnomalyMapDecoder } from '../../../runtime/inference/decoders/anomaly-map.ts';
import { ClassificationDecoder } from '../../../runtime/inference/decoders/classification.ts';

const anomalySpec = {
  kind: 'anomaly-map' as const,
  mapOutput: 'anomaly_map',
  imageScore: { rule: 'max' as const, k: 4 },
  normalization: { min: 0, max: 10, imageThreshold: 4, pixelThreshold: 3 },
  threshold: 0.5,
  minRegionAreaPx: 2,
};

describe('AnomalyMapDecoder', () => {
  it('normalises scores the anomalib way: threshold ↦ 0.5, clamped to [0, 1]', () => {
    const d = new AnomalyMapDecoder(anomalySpec, [1, 1, 8, 8]);
    expect(d.normalize(4, 4)).toBe(0.5);
    expect(d.normalize(9, 4)).toBe(1);
    expect(d.normalize(6, 4)).toBeCloseTo(0.7);
    expect(d.normalize(-20, 4)).toBe(0);
  });

  it('finds separate regions with their boxes and areas, ignoring specks', () => {
    const map = new Float32Array(64);
    for (const [x, y] of [[1, 1], [2, 1], [1, 2], [2, 2]]) map[y * 8 + x] = 5; // 2×2 blob
    for (let x = 4; x < 8; x++) map[6 * 8 + x] = 8; // 4×1 line
    map[0 * 8 + 7] = 9; // single-pixel speck below minRegionAreaPx
    const d = new AnomalyMapDecoder(anomalySpec, [1, 1, 8, 8]);
    d.decode(map, null);
    expect(d.rawScore).toBe(9);
    expect(d.regionCount).toBe(2);
    const regions = d.regions.slice(0, d.regionCount).map((r) => ({ x0: r.x0, y0: r.y0, x1: r.x1, y1: r.y1, area: r.area, peak: r.peak }));
    expect(regions).toContainEqual({ x0: 1, y0: 1, x1: 2, y1: 2, area: 4, peak: 5 });
    expect(regions).toContainEqual({ x0: 4, y0: 6, x1: 7, y1: 6, area: 4, peak: 8 });
  });

  it('uses the top-k mean when asked', () => {
    const d = new AnomalyMapDecoder({ ...anomalySpec, imageScore: { rule: 'topk-mean', k: 4 } }, [1, 1, 4, 4]);
    const map = Float32Array.from([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16]);
    d.decode(map, null);
    expect(d.rawScore).toBeCloseTo((13 + 14 + 15 + 16) / 4);
  });

  it('prefers the graph score output when there is one', () => {
    const d = new AnomalyMapDecoder(anomalySpec, [1, 1, 2, 2]);
    d.decode(new Float32Array(4), Float32Array.from([7]));
    expect(d.rawScore).toBe(7);
  });
});

describe('ClassificationDecoder', () => {
  it('applies sigmoid per label for multi-label models', () => {
    const d = new ClassificationDecoder({ kind: 'classification', output: 'logits', activation: 'sigmoid', labels: ['a', 'b'], thresholds: { b: 0.8 }, okLabels: [] });
    d.decode(Float32Array.from([0, 2]));
    expect(d.probabilities[0]).toBeCloseTo(0.5);
    expect(d.probabilities[1]).toBeCloseTo(1 / (1 + Math.exp(-2)));
    expect(Array.from(d.thresholds)).toEqual([0.5, Math.fround(0.8)]);
  });

  it('applies a stable softmax', () => {
    const d = new ClassificationDecoder({ kind: 'classification', output: 'logits', activation: 'softmax', labels: ['good', 'bad'], thresholds: {}, okLabels: ['good'] });
    d.decode(Float32Array.from([1000, 1000]));
    expect(d.probabilities[0]).toBeCloseTo(0.5);
    expect(d.probabilities[0] + d.probabilities[1]).toBeCloseTo(1);
  });
});

describe('AnomalyMapDecoder across frames', () => {
  it('forgets the regions of the previous frame', () => {
    const d = new AnomalyMapDecoder(anomalySpec, [1, 1, 8, 8]);
    const defective = new Float32Array(64);
    defective.fill(5, 8, 12);
    d.decode(defective, null);
    expect(d.regionCount).toBe(1);
    d.decode(new Float32Array(64), null);
    expect(d.regionCount).toBe(0);
    d.decode(defective, null);
    expect(d.regionCount).toBe(1);
    expect(d.regions[0].area).toBe(4);
  });
});
