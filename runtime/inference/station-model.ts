/**
 * A model as a station runs it: preprocessor into the model's own input tensor, the ONNX session and the
 * decoder for its outputs. Each stage is a separate call so the station can time them separately.
 */
import path from 'node:path';
import type { FrameSlot } from '../frame/frame-slot.ts';
import type { RoiConfig, StationModelConfig } from '../config/schema.ts';
import { OnnxModel } from './onnx-model.ts';
import { Preprocessor } from './preprocess.ts';
import { AnomalyMapDecoder } from './decoders/anomaly-map.ts';
import { ClassificationDecoder } from './decoders/classification.ts';

export class StationModel {
  readonly name: string;
  readonly config: StationModelConfig;
  readonly onnx: OnnxModel;
  readonly preprocessor: Preprocessor;
  readonly anomaly: AnomalyMapDecoder | null;
  readonly classification: ClassificationDecoder | null;
  private readonly mapOut: Float32Array | null;
  private readonly scoreOut: Float32Array | null;
  private readonly logitsOut: Float32Array | null;

  private constructor(config: StationModelConfig, onnx: OnnxModel, roi: RoiConfig | null) {
    this.config = config;
    this.onnx = onnx;
    this.name = config.name ?? onnx.manifest.name;
    const input = onnx.manifest.input;
    const [, d1, d2, d3] = input.shape;
    const nchw = input.layout === 'NCHW';
    this.preprocessor = new Preprocessor(
      {
        channels: (nchw ? d1 : d3) as 1 | 3,
        height: nchw ? d2 : d1,
        width: nchw ? d3 : d2,
        layout: input.layout,
        mean: input.normalization.mean,
        std: input.normalization.std,
      },
      roi,
    );
    const d = onnx.manifest.decoder;
    if (d.kind === 'anomaly-map') {
      this.anomaly = new AnomalyMapDecoder(d, onnx.outputShapes.get(d.mapOutput) ?? []);
      this.classification = null;
      this.mapOut = onnx.output(d.mapOutput);
      this.scoreOut = d.scoreOutput ? onnx.output(d.scoreOutput) : null;
      this.logitsOut = null;
    } else {
      this.anomaly = null;
      this.classification = new ClassificationDecoder(d);
      this.mapOut = null;
      this.scoreOut = null;
      this.logitsOut = onnx.output(d.output);
    }
  }

  static async load(config: StationModelConfig, configDir: string, roi: RoiConfig | null): Promise<StationModel> {
    const onnx = await OnnxModel.load(path.resolve(configDir, config.manifest), { intraOpThreads: config.intraOpThreads });
    return new StationModel(config, onnx, roi);
  }

  preprocess(slot: FrameSlot): void {
    this.preprocessor.run(slot, this.onnx.input);
  }

  infer(): Promise<void> {
    return this.onnx.run();
  }

  decode(): void {
    if (this.anomaly) this.anomaly.decode(this.mapOut as Float32Array, this.scoreOut);
    else (this.classification as ClassificationDecoder).decode(this.logitsOut as Float32Array);
  }

  close(): Promise<void> {
    return this.onnx.close();
  }
}
