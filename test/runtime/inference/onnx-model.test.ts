import { cpSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { OnnxModel } from '../../../runtime/inference/onnx-model.ts';
import { isLinesightError } from '../../../runtime/errors.ts';

const SHIPPED = path.resolve(import.meta.dirname, '../../../models/surface-anomaly');

function copyModel(): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'ls-model-'));
  cpSync(SHIPPED, dir, { recursive: true });
  return path.join(dir, 'model.yaml');
}

async function loadError(manifest: string): Promise<unknown> {
  try {
    const m = await OnnxModel.load(manifest);
    await m.close();
  } catch (err) {
    return err;
  }
  throw new Error('model loaded');
}

describe('OnnxModel.load', () => {
  it('loads the shipped model, passes its golden check and preallocates outputs', async () => {
    const m = await OnnxModel.load(path.join(SHIPPED, 'model.yaml'));
    expect(m.input.length).toBe(256 * 256);
    expect(m.outputs.size).toBeGreaterThan(0);
    await m.close();
  });

  it('keeps the event loop free while a frame is inferred (the session runs on a worker thread)', async () => {
    const m = await OnnxModel.load(path.join(SHIPPED, 'model.yaml'));
    let servedDuringInference = false;
    const inference = m.run();
    // onnxruntime-node on the calling thread would run the whole inference in the check phase before this.
    setImmediate(() => (servedDuringInference = true));
    await inference;
    expect(servedDuringInference).toBe(true);
    expect(m.output('pred_score')[0]).toBeGreaterThan(0);
    await m.close();
  });

  it('refuses a model file whose sha256 differs from model.yaml', async () => {
    const manifest = copyModel();
    const onnx = path.join(path.dirname(manifest), 'surface-anomaly.onnx');
    const bytes = readFileSync(onnx);
    bytes[bytes.length - 1]! ^= 0xff; // one flipped bit in the weights
    writeFileSync(onnx, bytes);
    const err = await loadError(manifest);
    expect(isLinesightError(err, 'LS_ERR_MODEL_SHA256_MISMATCH')).toBe(true);
  });

  it('refuses to go operational when the golden output drifts', async () => {
    const manifest = copyModel();
    const goldenFile = path.join(path.dirname(manifest), 'golden-output.json');
    const golden = JSON.parse(readFileSync(goldenFile, 'utf8')) as Record<string, number[]>;
    const first = Object.keys(golden)[0];
    golden[first!]![0]! += 0.01;
    writeFileSync(goldenFile, JSON.stringify(golden));
    const err = await loadError(manifest);
    expect(isLinesightError(err, 'LS_ERR_MODEL_GOLDEN_MISMATCH')).toBe(true);
  });

  it('refuses a manifest that names an input the graph does not have', async () => {
    const manifest = copyModel();
    writeFileSync(manifest, readFileSync(manifest, 'utf8').replace('name: image', 'name: pixels'));
    expect(isLinesightError(await loadError(manifest), 'LS_ERR_MODEL_IO_MISMATCH')).toBe(true);
  });
});
