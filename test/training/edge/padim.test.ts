import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { exportParts } from '../../../training/data/export.ts';
import { trainAnomaly, type TrainReport } from '../../../training/edge/padim.ts';
import { OnnxModel } from '../../../runtime/inference/onnx-model.ts';
import { evalCommand } from '../../../cli/commands/eval.ts';
import { trainCommand } from '../../../cli/commands/train.ts';
import { LinesightError } from '../../../runtime/errors.ts';

// Small sets keep this file to a few seconds: 12 good 256² parts to train, 6 + 6 held-out parts to evaluate.
let dir: string;
beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'ls-edge-'));
  await exportParts({ kind: 'surface', count: 12, seed: 700_000, out: join(dir, 'cast-train'), defectRate: 0, size: 256, family: 'cast' });
  await exportParts({
    kind: 'surface',
    count: 16,
    seed: 710_000,
    out: join(dir, 'cast-test'),
    defectRate: 0.5,
    size: 256,
    family: 'cast',
    defects: ['scratch', 'dent', 'crack'],
  });
  await exportParts({ kind: 'holes', count: 12, seed: 720_000, out: join(dir, 'plate-train'), defectRate: 0, size: 256 });
  await exportParts({
    kind: 'holes',
    count: 12,
    seed: 730_000,
    out: join(dir, 'plate-test'),
    defectRate: 0.5,
    size: 256,
    defects: ['missing', 'chipping'],
  });
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function capture(): { out: () => string; restore: () => void } {
  let buf = '';
  const spy = vi.spyOn(process.stdout, 'write').mockImplementation((s: string | Uint8Array) => {
    buf += String(s);
    return true;
  });
  return { out: () => buf, restore: () => spy.mockRestore() };
}

describe('linesight train anomaly', () => {
  let texture: TrainReport;

  it('builds a texture model from 12 good parts that loads with its golden check and separates defective parts', async () => {
    const lines: string[] = [];
    texture = await trainAnomaly({ good: join(dir, 'cast-train', 'good'), out: join(dir, 'm-cast'), size: 256, log: (l) => lines.push(l) });
    expect(texture.mode).toBe('texture');
    expect(texture.images).toEqual({ good: 12, fit: 10, calibrationGood: 2, bad: 0 });
    expect(lines.some((l) => l.includes('features 10/10'))).toBe(true);
    const m = await OnnxModel.load(join(dir, 'm-cast', 'model.yaml'));
    expect(m.sha256).toBe(texture.sha256);
    // the in-distribution statistics of its 12 good parts, for the runtime's frame-acceptance gate
    expect(m.manifest.inputStats?.samples).toBe(12);
    expect(m.manifest.inputStats!.features.std.mean).toBeGreaterThan(1);
    await m.close();

    const cap = capture();
    let code: number;
    try {
      code = await evalCommand([
        '--model',
        join(dir, 'm-cast'),
        '--good',
        join(dir, 'cast-test', 'good'),
        '--bad',
        join(dir, 'cast-test', 'bad'),
        '--masks',
        join(dir, 'cast-test', 'masks'),
        '--json',
      ]);
    } finally {
      cap.restore();
    }
    expect(code).toBe(0);
    const r = JSON.parse(cap.out());
    expect(Object.keys(r)).toEqual(
      expect.arrayContaining(['image_auroc', 'pixel_auroc', 'aupro_30', 'f1', 'miss_rate_at_1pct_false_reject', 'per_image']),
    );
    expect(r.counts.good + r.counts.bad).toBe(16);
    expect(r.counts.masks).toBe(r.counts.bad);
    for (const p of r.per_image) {
      expect(Object.keys(p)).toEqual(expect.arrayContaining(['file', 'score', 'label', 'predicted']));
      expect(p.predicted === 0 || p.predicted === 1).toBe(true);
    }
    // honest floors for 10 training parts (measured 1.0 / 0.97 / 0.9 on this set)
    expect(r.image_auroc).toBeGreaterThanOrEqual(0.85);
    expect(r.pixel_auroc).toBeGreaterThanOrEqual(0.85);
    expect(r.aupro_30).toBeGreaterThan(0.5);
  });

  it('picks per-location statistics for fixtured parts and finds missing holes and chipping', async () => {
    const rep = await trainAnomaly({ good: join(dir, 'plate-train', 'good'), out: join(dir, 'm-plate'), size: 256 });
    expect(rep.mode).toBe('fixtured');
    const cap = capture();
    try {
      await evalCommand([
        '--model',
        join(dir, 'm-plate'),
        '--good',
        join(dir, 'plate-test', 'good'),
        '--bad',
        join(dir, 'plate-test', 'bad'),
        '--json',
      ]);
    } finally {
      cap.restore();
    }
    const r = JSON.parse(cap.out());
    expect(r.pixel_auroc).toBeNull();
    expect(r.image_auroc).toBeGreaterThanOrEqual(0.8);
  });

  it('uses the F1-optimal threshold when bad parts are given, and rejects bad usage', async () => {
    const rep = await trainAnomaly({
      good: join(dir, 'cast-train', 'good'),
      bad: join(dir, 'cast-test', 'bad'),
      out: join(dir, 'm-cast-bad'),
      size: 256,
      mode: 'texture',
    });
    expect(rep.thresholdRule).toMatch(/^F1-optimal/);
    expect(rep.images.bad).toBeGreaterThan(0);
    const yaml = readFileSync(join(dir, 'm-cast-bad', 'model.yaml'), 'utf8');
    expect(yaml).toContain('topk-mean');
    await expect(trainCommand(['anomaly', '--good', join(dir, 'cast-train', 'good')])).rejects.toBeInstanceOf(LinesightError);
    await expect(trainCommand(['anomaly', '--good', dir, '--out', join(dir, 'x'), '--mode', 'sideways'])).rejects.toBeInstanceOf(LinesightError);
  });
});
