/**
 * In-distribution check of a model's input: a frame far from what the model was trained on is not "good",
 * however low its anomaly score (a dark, blank or foreign frame can score below every good part).
 *
 * At training, the statistics of a few features of the model's own input (after ROI, resize and normalisation,
 * channel 0 scaled back to grey levels) are recorded in model.yaml `inputStats`: per feature the mean, standard
 * deviation, minimum and maximum over the training frames. At run time the same features of each frame's input
 * are measured and a feature further than `maxZ` standard deviations from its training mean rejects the frame.
 * The deviation has a floor (2 % of the mean's magnitude, at least 0.5 grey level; 0.05 for roughness) so a training set with
 * almost no spread in a feature does not reject ordinary noise.
 */
import { z } from 'zod';

export const INPUT_FEATURES = ['mean', 'std', 'focus', 'roughness'] as const;
export type InputFeature = (typeof INPUT_FEATURES)[number];
export type InputFeatures = Record<InputFeature, number>;

/** The input tensor's geometry and normalisation (a PreprocessSpec, ./preprocess.ts). */
export interface InputTensorSpec {
  readonly width: number;
  readonly height: number;
  readonly channels: number;
  readonly layout: 'NCHW' | 'NHWC';
  readonly mean: readonly number[];
  readonly std: readonly number[];
}

const FeatureStats = z
  .object({
    mean: z.number().describe('Mean over the training frames'),
    std: z.number().nonnegative().describe('Standard deviation over the training frames'),
    min: z.number().describe('Smallest value seen in training'),
    max: z.number().describe('Largest value seen in training'),
  })
  .strict();

export const InputStatsSchema = z
  .object({
    samples: z.number().int().positive().describe('Training frames measured'),
    features: z
      .object({
        mean: FeatureStats.describe('Mean grey level of the model input (0–255)'),
        std: FeatureStats.describe('Standard deviation of the grey levels of the model input'),
        focus: FeatureStats.describe('Variance of the 4-neighbour Laplacian of the model input (grey levels²)'),
        roughness: FeatureStats.optional().describe(
          'focus ÷ variance: how much of the contrast is pixel-to-pixel (≈ 20 for white noise, a few for a real part); absent in older model.yaml files',
        ),
      })
      .strict(),
  })
  .strict()
  .describe('Statistics of the model input over its training frames (runtime/inference/input-stats.ts): the in-distribution check');

export type InputStats = z.output<typeof InputStatsSchema>;

const SAMPLE_STEP = 2;

/** A features record to measure into (one per model, reused for every frame). */
export function emptyInputFeatures(): InputFeatures {
  return { mean: 0, std: 0, focus: 0, roughness: 0 };
}

/** The features of one input tensor (channel 0), in grey levels. Allocation-free. */
export function measureInputFeatures(input: Float32Array, spec: InputTensorSpec, out: InputFeatures): InputFeatures {
  const { width, height } = spec;
  const scale = 255 * spec.std[0]!;
  const offset = 255 * spec.mean[0]!;
  // Channel 0 of NHWC is every `channels`-th value; of NCHW the first plane.
  const step = spec.layout === 'NHWC' ? spec.channels : 1;
  const rowStride = width * step;
  let sum = 0;
  let sq = 0;
  let lapSum = 0;
  let lapSq = 0;
  let n = 0;
  let inner = 0;
  // Every other row and column (a quarter of the input); the Laplacian still uses each sample's direct neighbours.
  for (let y = 0; y < height; y += SAMPLE_STEP) {
    const row = y * rowStride;
    for (let x = 0; x < width; x += SAMPLE_STEP) {
      const p = row + x * step;
      const v = input[p]! * scale + offset;
      sum += v;
      sq += v * v;
      n++;
      if (y === 0 || y === height - 1 || x === 0 || x === width - 1) continue;
      const lap = (input[p - step]! + input[p + step]! + input[p - rowStride]! + input[p + rowStride]! - 4 * input[p]!) * scale;
      lapSum += lap;
      lapSq += lap * lap;
      inner++;
    }
  }
  n = Math.max(1, n);
  inner = Math.max(1, inner);
  const mean = sum / n;
  out.mean = mean;
  out.std = Math.sqrt(Math.max(0, sq / n - mean * mean));
  const lapMean = lapSum / inner;
  out.focus = Math.max(0, lapSq / inner - lapMean * lapMean);
  out.roughness = out.focus / Math.max(1, out.std * out.std);
  return out;
}

export interface InputCheck {
  /** The feature furthest from its training mean, and how far in (floored) standard deviations. */
  readonly feature: InputFeature;
  readonly z: number;
  readonly value: number;
}

/** Smallest standard deviation a feature is judged by: half a grey level, or 0.05 for the dimensionless roughness. */
const SIGMA_FLOOR: Record<InputFeature, number> = { mean: 0.5, std: 0.5, focus: 0.5, roughness: 0.05 };

/** The largest z over the features; the caller compares it with its limit. */
export function worstInputFeature(features: InputFeatures, stats: InputStats): InputCheck {
  let worst: InputCheck = { feature: 'mean', z: 0, value: features.mean };
  for (const f of INPUT_FEATURES) {
    const s = stats.features[f];
    if (s === undefined) continue;
    const sigma = Math.max(s.std, 0.02 * Math.abs(s.mean), SIGMA_FLOOR[f]);
    const z = Math.abs(features[f] - s.mean) / sigma;
    if (z > worst.z || !Number.isFinite(z)) worst = { feature: f, z: Number.isFinite(z) ? z : Number.MAX_VALUE, value: features[f] };
  }
  return worst;
}

/** Summarises per-frame features measured on training frames into model.yaml's `inputStats`. */
export function summariseInputFeatures(samples: readonly InputFeatures[]): InputStats {
  if (samples.length === 0) throw new RangeError('no training frames to summarise');
  const feature = (f: InputFeature) => {
    const values = samples.map((s) => s[f]);
    const mean = values.reduce((a, b) => a + b, 0) / values.length;
    const variance = values.reduce((a, b) => a + (b - mean) ** 2, 0) / values.length;
    return { mean: round(mean), std: round(Math.sqrt(variance)), min: round(Math.min(...values)), max: round(Math.max(...values)) };
  };
  return {
    samples: samples.length,
    features: { mean: feature('mean'), std: feature('std'), focus: feature('focus'), roughness: feature('roughness') },
  };
}

function round(v: number): number {
  return Math.round(v * 1e4) / 1e4;
}
