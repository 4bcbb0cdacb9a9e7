/** Shared helpers for the model build scripts and tests: hashing, metrics, manifest I/O, ORT sessions. */
import { createHash } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';

export function sha256(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/** Single-threaded sessions: the build must be byte-for-byte reproducible on any core count. */
export async function createSession(model: Uint8Array | string): Promise<ort.InferenceSession> {
  const opts: ort.InferenceSession.SessionOptions = { intraOpNumThreads: 1, interOpNumThreads: 1, graphOptimizationLevel: 'all' };
  return typeof model === 'string' ? ort.InferenceSession.create(model, opts) : ort.InferenceSession.create(model, opts);
}

export async function runFloat(
  session: ort.InferenceSession,
  inputName: string,
  data: Float32Array,
  shape: readonly number[],
): Promise<Record<string, Float32Array>> {
  const res = await session.run({ [inputName]: new ort.Tensor('float32', data, shape) });
  const out: Record<string, Float32Array> = {};
  for (const [k, v] of Object.entries(res)) out[k] = v.data as Float32Array;
  return out;
}

// The runtime's own reader: build scripts and tests validate manifests exactly as loading does.
export { readManifest } from '../runtime/inference/onnx-model.ts';

/**
 * Writes a model folder's golden pair: the input tensor as raw float32 LE and the expected outputs as JSON
 * (values rounded to float32, as the runtime reads them). OnnxModel.load checks the pair at every load.
 */
export function writeGoldenFiles(dir: string, input: Float32Array, outputs: Readonly<Record<string, ArrayLike<number>>>): void {
  writeFileSync(join(dir, 'golden-input.f32'), f32le(input));
  const json = Object.fromEntries(Object.entries(outputs).map(([name, v]) => [name, Array.from(v, (x) => Math.fround(x))]));
  writeFileSync(join(dir, 'golden-output.json'), `${JSON.stringify(json)}\n`);
}

/** Float32 little-endian bytes of an array (golden input files). */
export function f32le(data: Float32Array): Uint8Array {
  const b = new Uint8Array(data.length * 4);
  const dv = new DataView(b.buffer);
  for (let i = 0; i < data.length; i++) dv.setFloat32(i * 4, data[i]!, true);
  return b;
}

export function readF32le(bytes: Uint8Array): Float32Array {
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out = new Float32Array(bytes.byteLength / 4);
  for (let i = 0; i < out.length; i++) out[i] = dv.getFloat32(i * 4, true);
  return out;
}

/** ROC AUC by the rank statistic (ties count half). */
export function auroc(scores: readonly number[], labels: readonly boolean[]): number {
  const idx = scores.map((s, i) => i).sort((a, b) => scores[a]! - scores[b]!);
  let rankSumPos = 0;
  let nPos = 0;
  let i = 0;
  while (i < idx.length) {
    let j = i;
    while (j + 1 < idx.length && scores[idx[j + 1]!] === scores[idx[i]!]) j++;
    const avgRank = (i + j) / 2 + 1;
    for (let k = i; k <= j; k++)
      if (labels[idx[k]!]) {
        rankSumPos += avgRank;
        nPos++;
      }
    i = j + 1;
  }
  const nNeg = idx.length - nPos;
  if (nPos === 0 || nNeg === 0) return NaN;
  return (rankSumPos - (nPos * (nPos + 1)) / 2) / (nPos * nNeg);
}

export interface BinaryStats {
  tp: number;
  fp: number;
  fn: number;
  tn: number;
  precision: number;
  recall: number;
  f1: number;
  accuracy: number;
}

export function binaryStats(pred: readonly boolean[], labels: readonly boolean[]): BinaryStats {
  let tp = 0;
  let fp = 0;
  let fn = 0;
  let tn = 0;
  pred.forEach((p, i) => {
    if (p && labels[i]) tp++;
    else if (p) fp++;
    else if (labels[i]) fn++;
    else tn++;
  });
  const precision = tp + fp ? tp / (tp + fp) : 0;
  const recall = tp + fn ? tp / (tp + fn) : 0;
  const f1 = precision + recall ? (2 * precision * recall) / (precision + recall) : 0;
  return { tp, fp, fn, tn, precision, recall, f1, accuracy: (tp + tn) / pred.length };
}

/** Threshold maximising F1 (score ≥ t is positive); midpoint between adjacent sorted scores, anomalib-style. */
export function f1OptimalThreshold(scores: readonly number[], labels: readonly boolean[]): { threshold: number; f1: number } {
  const order = scores.map((_, i) => i).sort((a, b) => scores[b]! - scores[a]!);
  const nPos = labels.filter(Boolean).length;
  let tp = 0;
  let fp = 0;
  let best = { threshold: Infinity, f1: 0 };
  for (let k = 0; k < order.length; k++) {
    if (labels[order[k]!]) tp++;
    else fp++;
    const next = k + 1 < order.length ? scores[order[k + 1]!]! : -Infinity;
    if (next === scores[order[k]!]) continue;
    const f1 = (2 * tp) / (tp + fp + nPos);
    if (f1 > best.f1) best = { threshold: Number.isFinite(next) ? (scores[order[k]!]! + next) / 2 : scores[order[k]!]! - 1e-6, f1 };
  }
  return best;
}

export function round(v: number, digits = 4): number {
  const p = 10 ** digits;
  return Math.round(v * p) / p;
}
