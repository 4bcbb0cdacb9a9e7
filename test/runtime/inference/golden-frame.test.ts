import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { afterAll, describe, expect, it } from 'vitest';
import { parse as parseYaml, stringify } from 'yaml';
import { isLinesightError, type LinesightError } from '../../../runtime/errors.ts';
import type { FrameSlot } from '../../../runtime/frame/frame-slot.ts';
import { checkGoldenFrame, type FramePreprocessor } from '../../../runtime/inference/golden-frame.ts';
import { OnnxModel } from '../../../runtime/inference/onnx-model.ts';
import { Preprocessor, preprocessSpecOf } from '../../../runtime/inference/preprocess.ts';
import { renderSurface } from '../../../sim/scenes/surface.ts';
import {
  GOLDEN_FRAME_IMAGE,
  GOLDEN_FRAME_OUTPUT,
  main,
  writeGoldenFrameFromFile,
  writeShippedGoldenFrame,
} from '../../../training/golden/write-golden-frame.ts';

const MODELS = path.resolve(import.meta.dirname, '../../../models');
const SHIPPED = ['surface-anomaly', 'drilling-defects', 'surface-segmenter', 'hole-defects'] as const;
const FRAME_SIZE: Record<string, number> = { 'surface-anomaly': 512, 'drilling-defects': 512, 'surface-segmenter': 512, 'hole-defects': 128 };

const temps: string[] = [];
afterAll(() => {
  for (const t of temps) rmSync(t, { recursive: true, force: true });
});

// any: a free-form YAML document, edited on purpose into shapes the schema may then refuse
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type YamlDoc = Record<string, any>;

/** A copy of a shipped model folder; `edit` changes its parsed model.yaml. */
function copyModel(name: string, edit?: (doc: YamlDoc) => void): string {
  const dir = mkdtempSync(path.join(tmpdir(), `ls-golden-frame-${name}-`));
  temps.push(dir);
  cpSync(path.join(MODELS, name), dir, { recursive: true });
  if (edit) {
    const file = path.join(dir, 'model.yaml');
    const doc = parseYaml(readFileSync(file, 'utf8')) as YamlDoc;
    edit(doc);
    writeFileSync(file, stringify(doc));
  }
  return dir;
}

async function refusal(model: OnnxModel, preprocessor?: FramePreprocessor): Promise<LinesightError> {
  try {
    await checkGoldenFrame(model, preprocessor ? { preprocessor } : {});
  } catch (err) {
    if (isLinesightError(err)) return err;
    throw err;
  }
  throw new Error('golden frame check passed');
}

describe('checkGoldenFrame on the shipped models', () => {
  for (const name of SHIPPED) {
    it(`${name}: the golden frame passes through decode + preprocessing + graph; input left zeroed`, async () => {
      const model = await OnnxModel.load(path.join(MODELS, name, 'model.yaml'));
      try {
        const frame = model.manifest.golden?.frame;
        expect(frame).toEqual({ image: GOLDEN_FRAME_IMAGE, output: GOLDEN_FRAME_OUTPUT, tolerance: 1e-4 });
        model.input.fill(1);
        const r = await checkGoldenFrame(model);
        expect(r).not.toBeNull();
        expect([r!.width, r!.height]).toEqual([FRAME_SIZE[name], FRAME_SIZE[name]]);
        // every output of the graph is recorded and compared
        expect(r!.outputs.map((o) => o.name).sort()).toEqual([...model.outputs.keys()].sort());
        for (const o of r!.outputs) expect(o.maxAbsDiff).toBeLessThanOrEqual(1e-4);
        expect(model.input.every((v) => v === 0)).toBe(true);
      } finally {
        await model.close();
      }
    });
  }

  it('the committed frame goldens are exactly what the writer produces (PNG, outputs, model.yaml)', async () => {
    for (const name of SHIPPED) {
      const dir = copyModel(name, (doc) => delete doc.golden.frame);
      const w = await writeShippedGoldenFrame(dir);
      expect(w.outputs.length).toBeGreaterThan(0);
      for (const f of [GOLDEN_FRAME_IMAGE, 'model.yaml', 'golden-input.f32', 'golden-output.json']) {
        expect(readFileSync(path.join(dir, f)).equals(readFileSync(path.join(MODELS, name, f))), `${name}/${f}`).toBe(true);
      }
      // Outputs are floats from onnxruntime's kernels, which differ in the last bits between CPUs (AVX2 vs AVX-512):
      // measured 4.8e-7 (surface-anomaly map) and 3.3e-6 (surface-segmenter logits) between two machines; load tolerance 1e-4.
      expect(
        maxAbsDiff(path.join(dir, GOLDEN_FRAME_OUTPUT), path.join(MODELS, name, GOLDEN_FRAME_OUTPUT)),
        `${name}/${GOLDEN_FRAME_OUTPUT}`,
      ).toBeLessThanOrEqual(1e-5);
    }
  });
});

describe('a changed preprocessing is refused while the tensor golden still passes', () => {
  // surface-anomaly normalises gain and offset inside its graph (band-pass / RMS), so model.yaml's mean/std
  // barely move its outputs; the other three see them directly.
  const changes = [
    ['mean 0.5 → 0.502 (half a grey level)', (doc: YamlDoc) => (doc.input.normalization.mean = [0.502])],
    ['std 0.25 → 0.26', (doc: YamlDoc) => (doc.input.normalization.std = [0.26])],
  ] as const;
  for (const name of ['drilling-defects', 'surface-segmenter', 'hole-defects'] as const) {
    for (const [label, edit] of changes) {
      it(`${name}: model.yaml normalisation ${label}`, async () => {
        const dir = copyModel(name, edit);
        // OnnxModel.load runs the tensor golden: it writes the recorded tensor, so it cannot see this change
        const model = await OnnxModel.load(path.join(dir, 'model.yaml'));
        try {
          const err = await refusal(model);
          expect(err.code).toBe('LS_ERR_MODEL_GOLDEN_MISMATCH');
          expect(err.context.model).toBe(name);
          expect(model.outputs.has(err.context.output as string)).toBe(true);
          expect(err.context.maxAbsDiff as number).toBeGreaterThan(1e-4);
          expect(err.context.tolerance).toBe(1e-4);
          expect(err.context.file).toBe(path.join(dir, GOLDEN_FRAME_IMAGE));
          expect(err.message).toContain('max |Δ|');
          expect(model.input.every((v) => v === 0)).toBe(true);
        } finally {
          await model.close();
        }
      });
    }
  }

  it('surface-anomaly: a one-pixel ROI shift and an align-corners resize kernel are refused', async () => {
    const model = await OnnxModel.load(path.join(MODELS, 'surface-anomaly', 'model.yaml'));
    try {
      const spec = preprocessSpecOf(model.manifest.input);
      const shifted = await refusal(model, new Preprocessor(spec, { x: 1, y: 1, width: 510, height: 510 }));
      expect(shifted.code).toBe('LS_ERR_MODEL_GOLDEN_MISMATCH');
      expect(shifted.context.maxAbsDiff as number).toBeGreaterThan(1e-4);
      const alignCorners: FramePreprocessor = {
        run(slot: FrameSlot, dst: Float32Array): void {
          const { width: W, height: H } = spec;
          const sx = (slot.width - 1) / (W - 1);
          const sy = (slot.height - 1) / (H - 1);
          const px = (x: number, y: number): number => slot.data[y * slot.width + x]!;
          for (let j = 0; j < H; j++)
            for (let i = 0; i < W; i++) {
              const fx = i * sx;
              const fy = j * sy;
              const x0 = Math.floor(fx);
              const y0 = Math.floor(fy);
              const x1 = Math.min(x0 + 1, slot.width - 1);
              const y1 = Math.min(y0 + 1, slot.height - 1);
              const top = px(x0, y0) + (px(x1, y0) - px(x0, y0)) * (fx - x0);
              const bot = px(x0, y1) + (px(x1, y1) - px(x0, y1)) * (fx - x0);
              dst[j * W + i] = ((top + (bot - top) * (fy - y0)) / 255 - spec.mean[0]!) / spec.std[0]!;
            }
        },
      };
      const resized = await refusal(model, alignCorners);
      expect(resized.code).toBe('LS_ERR_MODEL_GOLDEN_MISMATCH');
      expect(resized.context.maxAbsDiff as number).toBeGreaterThan(1e-4);
      // the station's own preprocessor, passed explicitly, still passes
      expect(await checkGoldenFrame(model, { preprocessor: new Preprocessor(spec, null) })).not.toBeNull();
    } finally {
      await model.close();
    }
  });
});

describe('golden frame files', () => {
  it('a missing golden-frame image is refused naming the file', async () => {
    const dir = copyModel('hole-defects');
    rmSync(path.join(dir, GOLDEN_FRAME_IMAGE));
    const model = await OnnxModel.load(path.join(dir, 'model.yaml'));
    try {
      const err = await refusal(model);
      expect(err.code).toBe('LS_ERR_MODEL_GOLDEN_MISMATCH');
      expect(err.message).toContain(path.join(dir, GOLDEN_FRAME_IMAGE));
      expect(err.message).toContain('missing');
      expect(err.context.file).toBe(path.join(dir, GOLDEN_FRAME_IMAGE));
    } finally {
      await model.close();
    }
  });

  it('a missing golden-frame output file is refused naming the file', async () => {
    const dir = copyModel('hole-defects');
    rmSync(path.join(dir, GOLDEN_FRAME_OUTPUT));
    const model = await OnnxModel.load(path.join(dir, 'model.yaml'));
    try {
      const err = await refusal(model);
      expect(err.code).toBe('LS_ERR_MODEL_GOLDEN_MISMATCH');
      expect(err.message).toContain(path.join(dir, GOLDEN_FRAME_OUTPUT));
    } finally {
      await model.close();
    }
  });

  it('without golden.frame in model.yaml there is nothing to check', async () => {
    const dir = copyModel('hole-defects', (doc) => delete doc.golden.frame);
    const model = await OnnxModel.load(path.join(dir, 'model.yaml'));
    try {
      expect(await checkGoldenFrame(model)).toBeNull();
    } finally {
      await model.close();
    }
  });

  it("an engineer's own JPEG becomes a lossless golden frame of the pixels the runtime decoded", async () => {
    const dir = copyModel('surface-anomaly', (doc) => delete doc.golden.frame);
    const px = new Uint8Array(640 * 480);
    renderSurface({ seed: 77, width: 640, height: 480, family: 'cast', defect: null }, px);
    const jpeg = path.join(dir, 'good-0001.jpg');
    await sharp(px, { raw: { width: 640, height: 480, channels: 1 } })
      .jpeg({ quality: 90 })
      .toFile(jpeg);
    const w = await writeGoldenFrameFromFile(dir, jpeg, { tolerance: 1e-3 });
    expect([w.width, w.height, w.tolerance]).toEqual([640, 480, 1e-3]);
    const model = await OnnxModel.load(path.join(dir, 'model.yaml'));
    try {
      expect(model.manifest.golden?.frame).toEqual({ image: GOLDEN_FRAME_IMAGE, output: GOLDEN_FRAME_OUTPUT, tolerance: 1e-3 });
      expect(await checkGoldenFrame(model)).not.toBeNull();
    } finally {
      await model.close();
    }
  });

  it('the writer script: --help, and usage errors exit 2', async () => {
    const lines: string[] = [];
    expect(await main(['--help'], (l) => lines.push(l))).toBe(0);
    expect(lines.join('\n')).toContain('usage: npx tsx training/golden/write-golden-frame.ts MODEL_DIR');
    expect(await main([], () => {})).toBe(2);
    expect(await main([path.join(MODELS, 'hole-defects'), '--seed', '3'], () => {})).toBe(2);
    expect(await main([path.join(MODELS, 'hole-defects'), '--scene', 'moon'], () => {})).toBe(2);
    expect(await main([path.join(MODELS, 'hole-defects'), '--scene', 'surface', '--image', 'x.png'], () => {})).toBe(2);
    expect(await main([path.join(MODELS, 'hole-defects'), '--tolerance', '-1'], () => {})).toBe(2);
  });
});

/** Largest |a − b| over every output of two golden-output JSON files ({name: number[]}); Infinity if their shapes differ. */
function maxAbsDiff(fileA: string, fileB: string): number {
  const a = JSON.parse(readFileSync(fileA, 'utf8')) as Record<string, number[]>;
  const b = JSON.parse(readFileSync(fileB, 'utf8')) as Record<string, number[]>;
  if (Object.keys(a).sort().join() !== Object.keys(b).sort().join()) return Infinity;
  let max = 0;
  for (const [name, values] of Object.entries(a)) {
    const other = b[name]!;
    if (other.length !== values.length) return Infinity;
    for (let i = 0; i < values.length; i++) max = Math.max(max, Math.abs(values[i]! - other[i]!));
  }
  return max;
}
