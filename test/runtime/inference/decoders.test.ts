import { describe, expect, it } from 'vitest';
import { AnomalyMapDecoder } from '../../../runtime/inference/decoders/anomaly-map.ts';
import { ClassificationDecoder } from '../../../runtime/inference/decoders/classification.ts';
import { bindDecoder, DECODERS, DecoderSpecSchema } from '../../../runtime/inference/decoders/index.ts';
import { ModelManifestSchema } from '../../../runtime/inference/model-manifest.ts';
import { decide } from '../../../runtime/decision/rules.ts';
import type { StationModel } from '../../../runtime/inference/station-model.ts';

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
    for (const [x, y] of [
      [1, 1],
      [2, 1],
      [1, 2],
      [2, 2],
    ] as const)
      map[y * 8 + x] = 5; // 2×2 blob
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
    const d = new ClassificationDecoder({
      kind: 'classification',
      output: 'logits',
      activation: 'sigmoid',
      labels: ['a', 'b'],
      thresholds: { b: 0.8 },
      okLabels: [],
    });
    d.decode(Float32Array.from([0, 2]));
    expect(d.probabilities[0]).toBeCloseTo(0.5);
    expect(d.probabilities[1]).toBeCloseTo(1 / (1 + Math.exp(-2)));
    expect(Array.from(d.thresholds)).toEqual([0.5, Math.fround(0.8)]);
  });

  it('applies a stable softmax', () => {
    const d = new ClassificationDecoder({
      kind: 'classification',
      output: 'logits',
      activation: 'softmax',
      labels: ['good', 'bad'],
      thresholds: {},
      okLabels: ['good'],
    });
    d.decode(Float32Array.from([1000, 1000]));
    expect(d.probabilities[0]).toBeCloseTo(0.5);
    expect(d.probabilities[0]! + d.probabilities[1]!).toBeCloseTo(1);
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
    expect(d.regions[0]!.area).toBe(4);
  });
});

describe('decoder registry', () => {
  const buffers = new Map<string, { data: Float32Array; shape: number[] }>([
    ['anomaly_map', { data: new Float32Array(64), shape: [1, 1, 8, 8] }],
    ['logits', { data: new Float32Array(2), shape: [1, 2] }],
  ]);
  const outputs = { output: (n: string) => buffers.get(n)!.data, outputShape: (n: string) => buffers.get(n)!.shape };
  const clsSpec = {
    kind: 'classification' as const,
    output: 'logits',
    activation: 'sigmoid' as const,
    labels: ['burr', 'ok'],
    thresholds: {},
    okLabels: ['ok'],
  };

  it('builds model.yaml decoder sections from the registered kinds only', () => {
    expect(DECODERS.map((d) => d.kind)).toEqual(['anomaly-map', 'classification']);
    expect(DecoderSpecSchema.safeParse(anomalySpec).success).toBe(true);
    expect(DecoderSpecSchema.safeParse({ ...anomalySpec, kind: 'segmentation' }).success).toBe(false);
  });

  it('decodes and decides through the bound decoder: the rule of its own kind, with the reason it names', () => {
    const d = bindDecoder('surface', anomalySpec, { anomaly: { reason: 'SCRATCH', threshold: 0.5 } }, outputs);
    buffers.get('anomaly_map')!.data.fill(0).fill(9, 10, 14);
    d.decode();
    const decision = decide([{ decide: (g: never, into: never) => d.decide(g, into) } as unknown as StationModel], {
      roi: { x: 0, y: 0, width: 16, height: 16 },
      mmPerPx: null,
    });
    expect(decision.verdict).toBe('NOK');
    expect(decision.reasons.map((r) => r.code)).toEqual(['SCRATCH']);
    expect(decision.defects[0]!.bboxPx).toEqual([4, 2, 8, 2]); // map 8×8 → frame 16×16: ×2
  });

  it('refuses a rule key of another kind and labels the model does not have', () => {
    expect(() => bindDecoder('surface', anomalySpec, { labels: { burr: { nok: true } } }, outputs)).toThrow(
      /'labels:' is a rule for classification models; this model's decoder is anomaly-map \(use 'anomaly:'\)/,
    );
    expect(() => bindDecoder('holes', clsSpec, { labels: { chip: { nok: true } } }, outputs)).toThrow(
      /labels: chip not among the model's labels \(burr, ok\)/,
    );
    buffers.get('logits')!.data.set([3, 3]);
    const d = bindDecoder('holes', clsSpec, { labels: { burr: { reason: 'BURR_FOUND', nok: true } } }, outputs);
    d.decode();
    const parts = { reasons: [], measurements: {}, defects: [] };
    d.decide({ roi: { x: 0, y: 0, width: 1, height: 1 }, mmPerPx: null }, parts);
    expect(parts.reasons.map((r: { code: string }) => r.code)).toEqual(['BURR_FOUND']); // 'ok' is an OK label
  });
});

describe('model.yaml input', () => {
  const manifest = (input: object) => ({
    name: 'm',
    version: '1',
    onnx: 'm.onnx',
    sha256: 'a'.repeat(64),
    decoder: anomalySpec,
    input: { name: 'x', shape: [1, 1, 8, 8], layout: 'NCHW', pixelFormat: 'Mono8', normalization: { mean: [0.5], std: [0.25] }, ...input },
  });

  it('refuses a pixel format that disagrees with the tensor channels', () => {
    expect(ModelManifestSchema.safeParse(manifest({})).success).toBe(true);
    const bad = ModelManifestSchema.safeParse(manifest({ pixelFormat: 'RGB8' }));
    expect(bad.success).toBe(false);
    expect(bad.error?.issues[0]?.message).toMatch(/RGB8 needs 3 channel\(s\); shape \[1,1,8,8\] \(NCHW\) has 1/);
    expect(ModelManifestSchema.safeParse(manifest({ pixelFormat: 'RGB8', shape: [1, 3, 8, 8] })).success).toBe(true);
    expect(
      ModelManifestSchema.safeParse(manifest({ pixelFormat: 'RGB8', shape: [1, 3, 8, 8], normalization: { mean: [0.5, 0.5], std: [1] } })).success,
    ).toBe(false);
  });
});
