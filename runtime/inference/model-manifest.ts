/**
 * model.yaml: what the runtime must know to run one ONNX model and read its outputs. The sha256 pin makes a
 * swapped or corrupted file refuse to load instead of producing verdicts from the wrong weights.
 */
import { z } from 'zod';
import { DecoderSpecSchema } from './decoders/index.ts';
import { InputStatsSchema } from './input-stats.ts';

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
    pixelFormat: z
      .enum(['Mono8', 'RGB8'])
      .describe('Pixel format the model expects; Mono8 frames are replicated to RGB and RGB frames are converted to luma as needed'),
    normalization: Normalization,
  })
  .strict()
  .superRefine((input, ctx) => {
    // The preprocessor converts frames to the model's pixel format; the tensor's channel count must agree with it.
    const channels = input.layout === 'NCHW' ? input.shape[1] : input.shape[3];
    const wanted = input.pixelFormat === 'Mono8' ? 1 : 3;
    if (channels !== wanted)
      ctx.addIssue({
        code: 'custom',
        path: ['pixelFormat'],
        message: `${input.pixelFormat} needs ${wanted} channel(s); shape [${input.shape.join(',')}] (${input.layout}) has ${String(channels)}`,
      });
    const fits = (n: number) => n === 1 || n === wanted; // one value applies to every channel
    if (!fits(input.normalization.mean.length) || !fits(input.normalization.std.length)) {
      ctx.addIssue({ code: 'custom', path: ['normalization'], message: `mean and std need 1 or ${wanted} value(s) for ${input.pixelFormat}` });
    }
  });

export const ModelManifestSchema = z
  .object({
    name: z.string().min(1).describe('Model name, used in results and reason codes'),
    version: z.string().min(1).describe('Model version'),
    onnx: z.string().min(1).describe('ONNX file, relative to the model folder'),
    sha256: z
      .string()
      .regex(/^[0-9a-f]{64}$/)
      .describe('sha256 of the ONNX file; loading refuses a mismatch'),
    description: z.string().default('').describe('What the model does'),
    input: ModelInput,
    decoder: DecoderSpecSchema,
    inputStats: InputStatsSchema.optional(),
    golden: z
      .object({
        input: z.string().describe('Raw little-endian float32 input tensor file, relative to the model folder'),
        output: z.string().describe('JSON {outputName: number[]} of expected outputs'),
        tolerance: z.number().positive().describe('Largest allowed absolute difference'),
        frame: z
          .object({
            image: z.string().min(1).describe("Lossless 8-bit image of a good part at the stations' frame size, relative to the model folder"),
            output: z.string().min(1).describe('JSON {outputName: number[]} the runtime path (decode + preprocessing + graph) produced for it'),
            tolerance: z.number().positive().describe('Largest allowed absolute difference'),
          })
          .strict()
          .optional()
          .describe(
            'Golden frame (runtime/inference/golden-frame.ts): pins decode + preprocessing + graph, so a changed decoder, resize kernel, ROI handling or normalisation refuses the model',
          ),
      })
      .strict()
      .optional()
      .describe('Golden input tensor/output checked at load (pins the graph and runtime): drift refuses the model'),
  })
  .strict();

export type ModelManifest = z.output<typeof ModelManifestSchema>;
export type { AnomalyMapDecoderSpec } from './decoders/anomaly-map.ts';
