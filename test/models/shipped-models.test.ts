import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { InferenceSession } from 'onnxruntime-node';
import { beforeAll, describe, expect, it } from 'vitest';
import { auroc, createSession, readF32le, readManifest, runFloat, sha256 } from '../../training/common.ts';
import { LABEL_OF, platePart, plateInput, evaluatePlates } from '../../training/demo/drilling-defects/build.ts';
import { surfacePart, surfaceInput } from '../../training/demo/surface-anomaly/build.ts';
import type { ModelManifest } from '../../runtime/inference/model-manifest.ts';

const modelsDir = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'models');

for (const name of ['surface-anomaly', 'drilling-defects']) {
  describe(`shipped model ${name}`, () => {
    const dir = join(modelsDir, name);
    let manifest: ModelManifest;
    let bytes: Uint8Array;
    let session: InferenceSession;

    beforeAll(async () => {
      manifest = readManifest(join(dir, 'model.yaml'));
      bytes = readFileSync(join(dir, manifest.onnx));
      session = await createSession(bytes);
    });

    it('model.yaml parses and pins the file sha256; the file is small', () => {
      expect(manifest.name).toBe(name);
      expect(sha256(bytes)).toBe(manifest.sha256);
      expect(bytes.length).toBeLessThan(2 * 1024 * 1024);
      expect(readFileSync(join(dir, 'README.md'), 'utf8')).toContain('trained on synthetic data only');
    });

    it('graph inputs/outputs match the manifest', () => {
      expect(session.inputNames).toEqual([manifest.input.name]);
      const d = manifest.decoder;
      const outs = d.kind === 'anomaly-map' ? [d.mapOutput, ...(d.scoreOutput ? [d.scoreOutput] : [])] : [d.output];
      for (const o of outs) expect(session.outputNames).toContain(o);
    });

    it('reproduces the golden output within tolerance', async () => {
      const g = manifest.golden!;
      const input = readF32le(readFileSync(join(dir, g.input)));
      expect(input.length).toBe(manifest.input.shape.reduce((a, b) => a * b, 1));
      const expected = JSON.parse(readFileSync(join(dir, g.output), 'utf8')) as Record<string, number[]>;
      const got = await runFloat(session, manifest.input.name, input, manifest.input.shape);
      for (const [out, want] of Object.entries(expected)) {
        const have = got[out]!;
        expect(have.length).toBe(want.length);
        let worst = 0;
        for (let i = 0; i < want.length; i++) worst = Math.max(worst, Math.abs(have[i]! - want[i]!));
        expect(worst).toBeLessThanOrEqual(g.tolerance);
      }
    });
  });
}

// Floors: just under what these exact samples measure (deterministic rendering and CPU inference; the 0.01 margin
// absorbs float noise across machines). A floor that trips means the model or its input path changed.
const SURFACE_FLOORS = {
  auroc: 0.99, // measured 1.0 (24 good + 24 defective)
  tpr: 0.95, // measured 0.9583 (23 of 24 defective flagged at the calibrated threshold)
  fpr: 0.01, // ceiling; measured 0 (no good part flagged; one would be 0.042)
};
const DRILLING_FLOORS = {
  macroF1: 0.96, // measured 0.9773 (30 plates)
  partAccuracy: 0.95, // measured 0.9667 (29 of 30 plates)
};

describe('surface-anomaly separates fresh parts', () => {
  it(`image AUROC ≥ ${SURFACE_FLOORS.auroc} on 24 good + 24 defective parts from unseen seeds`, async () => {
    const dir = join(modelsDir, 'surface-anomaly');
    const m = readManifest(join(dir, 'model.yaml'));
    const s = await createSession(readFileSync(join(dir, m.onnx)));
    const scores: number[] = [];
    const labels: boolean[] = [];
    for (const defective of [false, true])
      for (let i = 0; i < 24; i++) {
        const { x } = surfaceInput(surfacePart(defective ? 41_000 : 40_000, i, defective));
        scores.push((await runFloat(s, 'image', x, [1, 1, 256, 256])).pred_score![0]!);
        labels.push(defective);
      }
    const a = auroc(scores, labels);
    expect(a).toBeGreaterThanOrEqual(SURFACE_FLOORS.auroc);
    // the calibrated threshold flags most defective parts and few good ones
    if (m.decoder.kind !== 'anomaly-map') throw new Error('wrong decoder');
    const t = m.decoder.normalization.imageThreshold;
    const tpr = scores.filter((v, i) => labels[i] && v >= t).length / 24;
    const fpr = scores.filter((v, i) => !labels[i] && v >= t).length / 24;
    expect(tpr).toBeGreaterThanOrEqual(SURFACE_FLOORS.tpr);
    expect(fpr).toBeLessThanOrEqual(SURFACE_FLOORS.fpr);
  });
});

describe('drilling-defects classifies fresh plates', () => {
  it(`macro F1 ≥ ${DRILLING_FLOORS.macroF1} on 30 plates from unseen seeds (6 per class)`, async () => {
    const dir = join(modelsDir, 'drilling-defects');
    const m = readManifest(join(dir, 'model.yaml'));
    if (m.decoder.kind !== 'classification') throw new Error('wrong decoder');
    const s = await createSession(readFileSync(join(dir, m.onnx)));
    const res = [];
    for (let i = 0; i < 30; i++) {
      const part = platePart(90_000, i);
      const { x } = plateInput(part);
      const logits = (await runFloat(s, 'image', x, [1, 1, 256, 256])).logits!;
      res.push({ part, prob: Array.from(logits, (v) => 1 / (1 + Math.exp(-v))) });
    }
    const thr = Object.fromEntries(m.decoder.labels.map((l) => [l, m.decoder.kind === 'classification' ? (m.decoder.thresholds[l] ?? 0.5) : 0.5]));
    const metrics = evaluatePlates(res, thr) as { macroF1: number; partLevel: { accuracy: number } };
    expect(metrics.macroF1).toBeGreaterThanOrEqual(DRILLING_FLOORS.macroF1);
    expect(metrics.partLevel.accuracy).toBeGreaterThanOrEqual(DRILLING_FLOORS.partAccuracy);
    expect(Object.values(LABEL_OF)).toEqual(m.decoder.labels);
  });
});
