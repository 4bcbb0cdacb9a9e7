/**
 * The frame-acceptance gate with the shipped models: the demo stations' own parts pass it (good and defective),
 * and blank, broken, blurred, mis-sized and foreign frames are NOK with FRAME_REJECTED, never OK.
 */
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FrameSlot } from '../../../runtime/frame/frame-slot.ts';
import { StationModel } from '../../../runtime/inference/station-model.ts';
import { AcceptanceSchema, DEFAULT_ACCEPTANCE, FRAME_REJECTED, FrameGate } from '../../../runtime/pipeline/frame-gate.ts';
import { emptyTimings, inspectFrame } from '../../../runtime/pipeline/inspect-frame.ts';
import { SyntheticSource } from '../../../adapters/source/synthetic/index.ts';
import { Prng } from '../../../sim/scenes/prng.ts';
import { renderDrilledPlate } from '../../../sim/scenes/holes.ts';
import { renderSurface } from '../../../sim/scenes/surface.ts';

const MODELS = path.resolve(import.meta.dirname, '../../../models');
const model = (name: string) => ({ manifest: `${name}/model.yaml`, intraOpThreads: 1, runTimeoutMs: 5000 });
const geometry = { roi: { x: 0, y: 0, width: 512, height: 512 }, mmPerPx: 0.05 };
let surface: StationModel;
let drilling: StationModel;

beforeAll(async () => {
  surface = await StationModel.load(model('surface-anomaly'), MODELS, null);
  drilling = await StationModel.load(model('drilling-defects'), MODELS, null);
});
afterAll(async () => {
  await surface?.close();
  await drilling?.close();
});

function slotOf(width: number, height: number, fill?: (data: Uint8Array) => void): FrameSlot {
  const slot = new FrameSlot(0, Math.max(1, width * height));
  slot.width = width;
  slot.height = height;
  fill?.(slot.data);
  return slot;
}

async function verdictOf(models: StationModel[], slot: FrameSlot, gate = new FrameGate(DEFAULT_ACCEPTANCE, { width: 512, height: 512 }, null)) {
  return inspectFrame(models, slot, geometry, emptyTimings(), { gate });
}

describe('frame-acceptance gate on the demo stations', () => {
  it.each([
    ['surface', 1000, 0.25],
    ['surface', 9000, 0.5],
    ['drilled-plate', 5000, 0.25],
  ] as const)('%s parts of the demo stream (seed %i) all pass the gate: none FRAME_REJECTED', async (scene, seed, defectRate) => {
    const source = new SyntheticSource({ type: 'synthetic', scene, width: 512, height: 512, seed, defectRate, mmPerPx: 0.05 });
    await source.open();
    const models = scene === 'surface' ? [surface] : [drilling];
    let rejected = 0;
    const z: number[] = [];
    for (let i = 0; i < 60; i++) {
      const slot = slotOf(512, 512);
      await source.grab(slot);
      const d = await verdictOf(models, slot);
      if (d.reasons.some((r) => r.code === FRAME_REJECTED)) rejected++;
      z.push(d.measurements[`${models[0]!.name}.inputZ`]!);
    }
    expect(rejected).toBe(0);
    // measured: largest input z of the demo streams 5.1 (surface, 300 parts), 3.9 (plates); the limit is 7
    expect(Math.max(...z)).toBeLessThan(DEFAULT_ACCEPTANCE.maxInputZ);
  });

  const rng = new Prng(11);
  const cases: [string, FrameSlot, string][] = [
    ['all black', slotOf(512, 512, (d) => d.fill(0)), 'frame.dark'],
    ['all white', slotOf(512, 512, (d) => d.fill(255)), 'frame.saturated'],
    ['uniform grey', slotOf(512, 512, (d) => d.fill(128)), 'frame.contrast'],
    ['lens cap (dark + sensor noise)', slotOf(512, 512, (d) => d.forEach((_, i) => (d[i] = Math.floor(rng.next() * 8)))), 'frame.dark'],
    ['1×1 image', slotOf(1, 1, (d) => (d[0] = 120)), 'frame.size'],
    ['640×480 on a 512² station', slotOf(640, 480, (d) => renderSurface({ seed: 3, width: 640, height: 480, defect: null }, d)), 'frame.size'],
    [
      'grey-filled lower 40% (a broken transfer)',
      slotOf(512, 512, (d) => {
        renderSurface({ seed: 4, width: 512, height: 512, defect: null }, d);
        d.fill(128, 307 * 512);
      }),
      'frame.flat',
    ],
    [
      'Gaussian-like noise at the training mean and spread (no part at all)',
      slotOf(512, 512, (d) => d.forEach((_, i) => (d[i] = Math.round(119 + 8 * (rng.next() + rng.next() + rng.next() - 1.5) * 2)))),
      'surface-anomaly.input',
    ],
    [
      'the last good row repeated down the lower 60% (a stalled transfer)',
      slotOf(512, 512, (d) => {
        renderSurface({ seed: 6, width: 512, height: 512, defect: null }, d);
        for (let y = 205; y < 512; y++) d.copyWithin(y * 512, 204 * 512, 205 * 512);
      }),
      'frame.rows',
    ],
    [
      'a drilled plate on the surface station',
      slotOf(512, 512, (d) => renderDrilledPlate({ seed: 5, width: 512, height: 512, defect: null }, d)),
      'surface-anomaly.input',
    ],
  ];

  it.each(cases)('%s is NOK FRAME_REJECTED by %s, before any model runs', async (_name, slot, source) => {
    const d = await verdictOf([surface], slot);
    expect(d.verdict).toBe('NOK');
    expect(d.reasons).toHaveLength(1);
    expect(d.reasons[0]).toMatchObject({ code: FRAME_REJECTED, source });
    expect(d.reasons[0]!.detail.length).toBeGreaterThan(10);
  });

  it("a surface part on the drilling station is rejected by the drilling model's input check", async () => {
    const slot = slotOf(512, 512, (d) => renderSurface({ seed: 8, width: 512, height: 512, defect: null }, d));
    const d = await verdictOf([drilling], slot);
    expect(d.reasons[0]).toMatchObject({ code: FRAME_REJECTED, source: 'drilling-defects.input' });
  });

  it('a blurred part is rejected by focus', async () => {
    const slot = slotOf(512, 512, (d) => {
      const sharp = new Uint8Array(512 * 512);
      renderSurface({ seed: 9, width: 512, height: 512, defect: null }, sharp);
      for (let y = 0; y < 512; y++)
        for (let x = 0; x < 512; x++) {
          let s = 0;
          for (let k = -4; k <= 4; k++)
            for (let j = -4; j <= 4; j++) s += sharp[Math.min(511, Math.max(0, y + k)) * 512 + Math.min(511, Math.max(0, x + j))]!;
          d[y * 512 + x] = Math.round(s / 81);
        }
    });
    const d = await verdictOf([surface], slot);
    expect(d.reasons[0]).toMatchObject({ code: FRAME_REJECTED, source: 'frame.focus' });
  });

  it('every frame carries its statistics as measurements, accepted or not', async () => {
    const ok = slotOf(512, 512, (d) => renderSurface({ seed: 10, width: 512, height: 512, defect: null }, d));
    const d = await verdictOf([surface], ok);
    expect(Object.keys(d.measurements)).toEqual(
      expect.arrayContaining([
        'frame.dark',
        'frame.saturated',
        'frame.contrast',
        'frame.flat',
        'frame.focus',
        'surface-anomaly.inputZ',
        'surface-anomaly.score',
      ]),
    );
    const black = await verdictOf([surface], slotOf(512, 512));
    expect(black.measurements['frame.dark']).toBe(1);
    expect(black.measurements['surface-anomaly.score']).toBeUndefined();
  });

  it('limits come from the station YAML: a laxer dark limit lets a half-dark part through to the model', async () => {
    const halfDark = () =>
      slotOf(512, 512, (d) => {
        renderSurface({ seed: 12, width: 512, height: 512, defect: null }, d);
        d.fill(0, 0, 300 * 512);
      });
    const strict = new FrameGate(AcceptanceSchema.parse({ maxDarkShare: 0.5, inDistribution: false }), { width: 512, height: 512 }, null);
    const lax = new FrameGate(
      AcceptanceSchema.parse({ maxDarkShare: 0.9, maxFlatShare: 0.9, inDistribution: false }),
      { width: 512, height: 512 },
      null,
    );
    expect((await verdictOf([surface], halfDark(), strict)).reasons[0]?.source).toBe('frame.dark');
    expect((await verdictOf([surface], halfDark(), lax)).reasons.every((r) => r.code !== FRAME_REJECTED)).toBe(true);
  });

  it('with the gate disabled the frame reaches the model (commissioning only)', async () => {
    const off = new FrameGate(AcceptanceSchema.parse({ enabled: false }), { width: 512, height: 512 }, null);
    const d = await verdictOf([surface], slotOf(512, 512), off);
    expect(d.reasons.some((r) => r.code === FRAME_REJECTED)).toBe(false);
    expect(d.measurements['surface-anomaly.score']).toBeTypeOf('number');
  });
});
