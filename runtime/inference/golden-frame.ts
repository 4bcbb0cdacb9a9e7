/**
 * The frame golden: a lossless 8-bit image of a good part (model.yaml `golden.frame.image`), decoded by the
 * runtime's own decoder, preprocessed by the Preprocessor a station builds for the model (no ROI: the whole
 * frame) and run through the graph; every recorded output must agree within `golden.frame.tolerance`.
 *
 * The tensor golden (OnnxModel.checkGolden) writes a recorded input tensor straight into the model and so pins
 * the graph and onnxruntime only. This check pins decode + preprocessing + graph: a changed resize kernel, ROI
 * handling or normalisation LUT (or a model.yaml whose mean/std no longer match the training) shifts the outputs
 * here and refuses the model, where the tensor golden would still pass.
 */
import { access, readFile } from 'node:fs/promises';
import path from 'node:path';
import { LinesightError, isLinesightError } from '../errors.ts';
import { readFrameFile } from '../frame/decode-image.ts';
import type { FrameSlot } from '../frame/frame-slot.ts';
import type { ModelManifest } from './model-manifest.ts';
import type { OnnxModel } from './onnx-model.ts';
import { Preprocessor, preprocessSpecOf } from './preprocess.ts';

/** What fills the model input from a frame: a Preprocessor, or any stage with the same contract. */
export interface FramePreprocessor {
  run(slot: FrameSlot, dst: Float32Array): void;
}

export interface GoldenFrameOutput {
  readonly name: string;
  readonly maxAbsDiff: number;
}

export interface GoldenFrameResult {
  /** Absolute path of the golden frame image. */
  readonly image: string;
  readonly width: number;
  readonly height: number;
  readonly tolerance: number;
  readonly outputs: readonly GoldenFrameOutput[];
}

export interface CheckGoldenFrameOptions {
  /**
   * The preprocessing to check; default: the Preprocessor a station builds for this model, without ROI.
   * Tools pass another one to see whether it is equivalent.
   */
  readonly preprocessor?: FramePreprocessor;
}

/**
 * Runs the model's golden frame through decode + preprocessing + graph and compares every recorded output.
 * Returns null when model.yaml declares no `golden.frame`. Throws LS_ERR_MODEL_GOLDEN_MISMATCH (context:
 * model, output, maxAbsDiff, tolerance, file) on drift, on a missing or unreadable golden file, or when an
 * output's length differs. Leaves the model input zeroed, as the tensor golden check does.
 */
export async function checkGoldenFrame(model: OnnxModel, options: CheckGoldenFrameOptions = {}): Promise<GoldenFrameResult | null> {
  const spec = model.manifest.golden?.frame;
  if (!spec) return null;
  const name = model.manifest.name;
  const imageFile = path.join(model.dir, spec.image);
  const outputFile = path.join(model.dir, spec.output);
  const expected = await readExpected(name, outputFile);
  const slot = await readGoldenImage(name, imageFile, model.manifest.input.pixelFormat);
  const preprocessor = options.preprocessor ?? new Preprocessor(preprocessSpecOf(model.manifest.input), null);
  const outputs: GoldenFrameOutput[] = [];
  try {
    preprocessor.run(slot, model.input);
    await model.run();
    for (const [output, values] of Object.entries(expected)) {
      const got = model.outputs.get(output);
      if (!got) {
        throw new LinesightError('LS_ERR_MODEL_GOLDEN_MISMATCH', `${outputFile}: records output '${output}', which the model does not have`, {
          model: name,
          output,
          file: outputFile,
        });
      }
      if (got.length !== values.length) {
        throw new LinesightError(
          'LS_ERR_MODEL_GOLDEN_MISMATCH',
          `${name}.${output}: golden frame records ${values.length} values, the model gives ${got.length}`,
          {
            model: name,
            output,
            file: outputFile,
          },
        );
      }
      let worst = 0;
      for (let i = 0; i < values.length; i++) worst = Math.max(worst, Math.abs((got[i] as number) - (values[i] as number)));
      // NaN anywhere makes `worst` NaN, and NaN fails the comparison
      if (!(worst <= spec.tolerance)) {
        throw new LinesightError(
          'LS_ERR_MODEL_GOLDEN_MISMATCH',
          `${name}.${output} on golden frame ${spec.image}: max |Δ| ${worst} > ${spec.tolerance} (decode, preprocessing or graph changed)`,
          {
            model: name,
            output,
            maxAbsDiff: worst,
            tolerance: spec.tolerance,
            file: imageFile,
          },
        );
      }
      outputs.push({ name: output, maxAbsDiff: worst });
    }
  } finally {
    model.input.fill(0);
  }
  return { image: imageFile, width: slot.width, height: slot.height, tolerance: spec.tolerance, outputs };
}

async function readGoldenImage(model: string, file: string, format: ModelManifest['input']['pixelFormat']): Promise<FrameSlot> {
  try {
    await access(file);
  } catch (err) {
    throw new LinesightError(
      'LS_ERR_MODEL_GOLDEN_MISMATCH',
      `golden frame ${file} is missing (model.yaml golden.frame.image)`,
      { model, file },
      { cause: err },
    );
  }
  try {
    return await readFrameFile(file, format);
  } catch (err) {
    const detail = isLinesightError(err) ? err.message : String(err);
    throw new LinesightError('LS_ERR_MODEL_GOLDEN_MISMATCH', `golden frame ${file} cannot be decoded: ${detail}`, { model, file }, { cause: err });
  }
}

async function readExpected(model: string, file: string): Promise<Record<string, readonly number[]>> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    throw new LinesightError(
      'LS_ERR_MODEL_GOLDEN_MISMATCH',
      `golden frame output ${file} is missing or unreadable (model.yaml golden.frame.output)`,
      { model, file },
      { cause: err },
    );
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    throw new LinesightError('LS_ERR_MODEL_GOLDEN_MISMATCH', `golden frame output ${file} is not JSON`, { model, file }, { cause: err });
  }
  const ok =
    typeof parsed === 'object' &&
    parsed !== null &&
    !Array.isArray(parsed) &&
    Object.keys(parsed).length > 0 &&
    Object.values(parsed).every((v) => Array.isArray(v) && v.every((x) => typeof x === 'number'));
  if (!ok) {
    throw new LinesightError('LS_ERR_MODEL_GOLDEN_MISMATCH', `golden frame output ${file} must be a non-empty JSON object {outputName: number[]}`, {
      model,
      file,
    });
  }
  return parsed as Record<string, readonly number[]>;
}
