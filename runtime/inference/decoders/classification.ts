/** Classification decoder: softmax (one class) or sigmoid (multi-label) into a preallocated array. */
import type { ClassificationDecoderSpec } from '../model-manifest.ts';

export class ClassificationDecoder {
  readonly spec: ClassificationDecoderSpec;
  readonly probabilities: Float32Array;
  readonly thresholds: Float32Array;

  constructor(spec: ClassificationDecoderSpec) {
    this.spec = spec;
    this.probabilities = new Float32Array(spec.labels.length);
    this.thresholds = new Float32Array(spec.labels.length);
    for (let i = 0; i < spec.labels.length; i++) this.thresholds[i] = spec.thresholds[spec.labels[i]] ?? 0.5;
  }

  decode(logits: Float32Array): void {
    const p = this.probabilities;
    const n = p.length;
    if (this.spec.activation === 'sigmoid') {
      for (let i = 0; i < n; i++) p[i] = 1 / (1 + Math.exp(-logits[i]));
    } else if (this.spec.activation === 'softmax') {
      let m = -Infinity;
      for (let i = 0; i < n; i++) if (logits[i] > m) m = logits[i];
      let s = 0;
      for (let i = 0; i < n; i++) s += p[i] = Math.exp(logits[i] - m);
      for (let i = 0; i < n; i++) p[i] /= s;
    } else {
      for (let i = 0; i < n; i++) p[i] = logits[i];
    }
  }
}
