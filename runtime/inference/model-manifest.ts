/**
 * model.yaml: what the runtime must know to run one ONNX model and read its outputs. The sha256 pin makes a
 * swapped or corrupted file refuse to load instead of producing verdicts from the wrong weights.
 */
import { z } from 'zod';

const Normalization = z
  .object({
    mean: z.array(z.number()).min(1).describe('Per-channel mean, applied after scaling pixels to 0..1'),
    std: z.array(z.number().positive()).min(1).describe('Per-channel standard deviation, after scaling to 0..1'),
  })
  .strict()
  .describe('input = (pixel/255 − mean) / std per channel');

const ModelInput = z
  .object({
    name: z.string().min(1).describe('Input tensor name in the ONNX graph'),
    shape: z.array(z.number().int().positive()).length(4).describe('Fixed input shape, batch 1'),
    layout: z.enum(['NCHW', 'NHWC']).describe('Tensor layout'),
    pixelFormat: z.enum(['Mono8', 'RGB8']).describe('Pixel format the model expects; Mono8 frames are replicated to RGB and RGB frames are converted to luma as needed'),
    normalization: Normalization,
  })
  .strict();

const AnomalyScoreNormalization = z
  .object({
    min: z.number().describe('Lowest raw image score seen in validation'),
    max: z.number().describe('Highest raw image score seen in validation'),
    imageThreshold: z.number().describe('Raw image score threshold (maps to 0.5 after normalisation)'),
    pixelThreshold: z.number().describe('Raw anomaly-map threshold (maps to 0.5 after normalisation)'),
  })
  .strict()
  .describe("anomalib's min-max normalisation: clamp((s − t)/(max − min) + 0.5, 0, 1)");

const AnomalyMapDecoder = z
  .object({
    kind: z.literal('anomaly-map'),
    mapOutput: z.string().describe('Output holding the anomaly map, shape [1,1,h,w]'),
    scoreOutput: z.string().optional().describe('Output holding the raw image score [1]; computed from the map when absent'),
    imageScore: z
      .object({ rule: z.enum(['max', 'topk-mean']), k: z.number().int().positive().default(16) })
      .strict()
      .default({ rule: 'max', k: 16 })
      .describe('How the image score is taken from the map when there is no score output'),
    normalization: AnomalyScoreNormalization,
    threshold: z.number().min(0).max(1).default(0.5).describe('Normalised image score at or above which the part is anomalous'),
    minRegionAreaPx: z.number().int().nonnegative().default(4).describe('Regions smaller than this (map pixels) are ignored'),
  })
  .strict();

const ClassificationDecoder = z
  .object({
    kind: z.literal('classification'),
    output: z.string().describe('Output holding logits or probabilities, shape [1,n]'),
    activation: z.enum(['softmax', 'sigmoid', 'none']).describe('softmax: one class; sigmoid: multi-label; none: already probabilities'),
    labels: z.array(z.string().min(1)).min(1).describe('Class names in output order'),
    thresholds: z.record(z.string(), z.number().min(0).max(1)).default({}).describe('Per-label decision threshold (default 0.5)'),
    okLabels: z.array(z.string()).default([]).describe('Labels that mean a good part (e.g. "good" in a softmax model)'),
  })
  .strict();

export const ModelManifestSchema = z
  .object({
    name: z.string().min(1).describe('Model name, used in results and reason codes'),
    version: z.string().min(1).describe('Model version'),
    onnx: z.string().min(1).describe('ONNX file, relative to the model folder'),
    sha256: z.string().regex(/^[0-9a-f]{64}$/).describe('sha256 of the ONNX file; loading refuses a mismatch'),
    description: z.string().default('').describe('What the model does'),
    input: ModelInput,
    decoder: z.discriminatedUnion('kind', [AnomalyMapDecoder, ClassificationDecoder]),
    golden: z
      .object({
        input: z.string().describe('Raw little-endian float32 input tensor file, relative to the model folder'),
        output: z.string().describe('JSON {outputName: number[]} of expected outputs'),
        tolerance: z.number().positive().describe('Largest allowed absolute difference'),
      })
      .strict()
      .optional()
      .describe('Golden input/output checked at load: preprocessing or runtime drift refuses the model'),
  })
  .strict();

export type ModelManifest = z.output<typeof ModelManifestSchema>;
export type AnomalyMapDecoderSpec = z.output<typeof AnomalyMapDecoder>;
export type ClassificationDecoderSpec = z.output<typeof ClassificationDecoder>;
