import { describe, expect, it } from 'vitest';
import { measureInputFeatures, summariseInputFeatures, worstInputFeature, emptyInputFeatures } from '../../../runtime/inference/input-stats.ts';
import type { PreprocessSpec } from '../../../runtime/inference/preprocess.ts';

const spec: PreprocessSpec = { width: 8, height: 8, channels: 1, layout: 'NCHW', mean: [0.5], std: [0.25] };
/** The tensor the preprocessor would write for these grey levels. */
const tensorOf = (grey: (i: number) => number) => Float32Array.from({ length: 64 }, (_, i) => (grey(i) / 255 - 0.5) / 0.25);

describe('input statistics', () => {
  // (sampled on every other row and column: the pattern alternates between 2×2 blocks)
  it('measures in grey levels, whatever the normalisation', () => {
    const f = measureInputFeatures(
      tensorOf((i) => ((Math.floor((i % 8) / 2) + Math.floor(i / 16)) % 2 === 0 ? 100 : 140)),
      spec,
      emptyInputFeatures(),
    );
    expect(f.mean).toBeCloseTo(120, 3);
    expect(f.std).toBeCloseTo(20, 3);
    expect(f.focus).toBeGreaterThan(0);
    const flat = measureInputFeatures(
      tensorOf(() => 77),
      spec,
      emptyInputFeatures(),
    );
    expect(flat).toMatchObject({ std: expect.closeTo(0, 3), focus: expect.closeTo(0, 3) });
    expect(flat.mean).toBeCloseTo(77, 3);
  });

  it('reads channel 0 of an NHWC tensor', () => {
    const nhwc: PreprocessSpec = { ...spec, channels: 3, layout: 'NHWC' };
    const t = new Float32Array(64 * 3);
    for (let i = 0; i < 64; i++) t.set([(200 / 255 - 0.5) / 0.25, 9, 9], i * 3);
    expect(measureInputFeatures(t, nhwc, emptyInputFeatures()).mean).toBeCloseTo(200, 3);
  });

  it('the worst feature is the one furthest from training, in floored standard deviations', () => {
    const stats = summariseInputFeatures([
      { mean: 100, std: 10, focus: 50, roughness: 0.5 },
      { mean: 120, std: 12, focus: 70, roughness: 0.49 },
    ]);
    expect(stats.features.mean).toEqual({ mean: 110, std: 10, min: 100, max: 120 });
    expect(worstInputFeature({ mean: 110, std: 11, focus: 60, roughness: 0.495 }, stats).z).toBeCloseTo(0, 6);
    const dark = worstInputFeature({ mean: 5, std: 11, focus: 60, roughness: 0.495 }, stats);
    expect(dark.feature).toBe('mean');
    expect(dark.z).toBeCloseTo(10.5, 6);
    // std of 1 over training: the floor (2 % of the mean, ≥ 0.5) keeps noise from counting as far
    expect(worstInputFeature({ mean: 110, std: 11.2, focus: 60, roughness: 0.495 }, stats).z).toBeLessThan(1);
  });

  it('white noise is rough: its Laplacian variance is about 20 × its variance, a real part a few', () => {
    let seed = 1;
    const rand = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31) * 2 - 1;
    const big: typeof spec = { ...spec, width: 64, height: 64 };
    const noise = Float32Array.from({ length: 64 * 64 }, () => ((120 + 30 * rand()) / 255 - 0.5) / 0.25);
    expect(measureInputFeatures(noise, big, emptyInputFeatures()).roughness).toBeGreaterThan(15);
    const ramp = Float32Array.from({ length: 64 * 64 }, (_, i) => ((60 + (i % 64) * 2 + Math.floor(i / 64)) / 255 - 0.5) / 0.25);
    expect(measureInputFeatures(ramp, big, emptyInputFeatures()).roughness).toBeLessThan(0.1);
  });

  it('a model.yaml without roughness (older training) is judged on the other features', () => {
    const stats = summariseInputFeatures([
      { mean: 100, std: 10, focus: 50, roughness: 0.5 },
      { mean: 120, std: 12, focus: 70, roughness: 0.49 },
    ]);
    const { roughness: _old, ...older } = stats.features;
    expect(worstInputFeature({ mean: 110, std: 11, focus: 60, roughness: 40 }, { ...stats, features: older }).z).toBeLessThan(1);
  });

  it('refuses to summarise nothing', () => {
    expect(() => summariseInputFeatures([])).toThrow(RangeError);
  });
});
