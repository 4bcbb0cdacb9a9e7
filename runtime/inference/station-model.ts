/**
 * A model as a station runs it: preprocessor into the model's own input tensor, the ONNX session and the
 * decoder of its kind (./decoders/index.ts) bound to its outputs and the station's rule. Each stage is a separate
 * call so the station can time them separately.
 */
import path from 'node:path';
import type { Logger } from 'pino';
import type { FrameSlot } from '../frame/frame-slot.ts';
import type { RoiConfig, StationModelConfig } from '../config/schema.ts';
import { OnnxModel } from './onnx-model.ts';
import { Preprocessor, preprocessSpecOf } from './preprocess.ts';
import { checkGoldenFrame } from './golden-frame.ts';
import { bindDecoder, type AnyBoundDecoder } from './decoders/index.ts';
import type { AnomalyMapDecoder } from './decoders/anomaly-map.ts';
import type { ClassificationDecoder } from './decoders/classification.ts';
import type { DecisionParts, FrameGeometry } from './decoders/decoder.ts';
import { emptyInputFeatures, measureInputFeatures, worstInputFeature, type InputCheck, type InputFeatures } from './input-stats.ts';

export class StationModel {
  readonly name: string;
  readonly config: StationModelConfig;
  readonly onnx: OnnxModel;
  readonly preprocessor: Preprocessor;
  readonly decoder: AnyBoundDecoder;
  private readonly inputFeatures: InputFeatures = emptyInputFeatures();

  private constructor(config: StationModelConfig, onnx: OnnxModel, roi: RoiConfig | null) {
    this.config = config;
    this.onnx = onnx;
    this.name = config.name ?? onnx.manifest.name;
    this.preprocessor = new Preprocessor(preprocessSpecOf(onnx.manifest.input), roi);
    const outputs = { output: (n: string) => onnx.output(n), outputShape: (n: string) => onnx.outputShapes.get(n) ?? [] };
    this.decoder = bindDecoder(this.name, onnx.manifest.decoder, config, outputs);
  }

  static async load(config: StationModelConfig, configDir: string, roi: RoiConfig | null, log?: Logger): Promise<StationModel> {
    const onnx = await OnnxModel.load(path.resolve(configDir, config.manifest), {
      intraOpThreads: config.intraOpThreads,
      runTimeoutMs: config.runTimeoutMs,
      ...(log ? { log } : {}),
    });
    try {
      // The golden frame goes through the very preprocessing a station builds (no ROI): a changed decoder, resize
      // or normalisation refuses the model here instead of shifting scores on the line.
      await checkGoldenFrame(onnx, { preprocessor: new Preprocessor(preprocessSpecOf(onnx.manifest.input), null) });
      return new StationModel(config, onnx, roi);
    } catch (err) {
      await onnx.close();
      throw err;
    }
  }

  /** The anomaly-map decoder's last decode, for tools that read scores and regions (eval, training); else null. */
  get anomaly(): AnomalyMapDecoder | null {
    return this.decoder.kind === 'anomaly-map' ? this.decoder.state : null;
  }

  /** The classification decoder's last decode, for tools that read probabilities; else null. */
  get classification(): ClassificationDecoder | null {
    return this.decoder.kind === 'classification' ? this.decoder.state : null;
  }

  preprocess(slot: FrameSlot): void {
    this.preprocessor.run(slot, this.onnx.input);
  }

  /**
   * After preprocess(): how far this frame's input lies from the model's training frames (model.yaml
   * `inputStats`), or null for a model without them.
   */
  checkInput(): InputCheck | null {
    const stats = this.onnx.manifest.inputStats;
    if (stats === undefined) return null;
    return worstInputFeature(measureInputFeatures(this.onnx.input, this.preprocessor.spec, this.inputFeatures), stats);
  }

  infer(): Promise<void> {
    return this.onnx.run();
  }

  decode(): void {
    this.decoder.decode();
  }

  decide(geometry: FrameGeometry, into: DecisionParts): void {
    this.decoder.decide(geometry, into);
  }

  close(): Promise<void> {
    return this.onnx.close();
  }
}
