import { describe, expect, it } from 'vitest';
import { Preprocessor } from '../../../runtime/inference/preprocess.ts';
import { FrameSlot } from '../../../runtime/frame/frame-slot.ts';
import { resizeBilinearMono8ToFloat } from '../../../sim/scenes/resize.ts';
import { Prng } from '../../../sim/scenes/prng.ts';

function monoSlot(w: number, h: number, seed: number): FrameSlot {
  const slot = new FrameSlot(0, w * h * 3);
  slot.width = w;
  slot.height = h;
  slot.pixelFormat = 'Mono8';
  const rng = new Prng(seed);
  for (let i = 0; i < w * h; i++) slot.data[i] = Math.floor(rng.next() * 256);
  return slot;
}

const spec = { width: 64, height: 48, channels: 1 as const, layout: 'NCHW' as const, mean: [0.5], std: [0.25] };

describe('Preprocessor', () => {
  it('matches the reference resize the models were calibrated with', () => {
    const slot = monoSlot(200, 150, 7);
    const got = new Float32Array(64 * 48);
    new Preprocessor(spec, null).run(slot, got);
    const want = resizeBilinearMono8ToFloat(slot.data, 200, 150, new Float32Array(64 * 48), 64, 48, 0.5, 0.25);
    let worst = 0;
    for (let i = 0; i < got.length; i++) worst = Math.max(worst, Math.abs(got[i]! - want[i]!));
    expect(worst).toBeLessThan(1e-5);
  });

  it('crops the ROI before resizing', () => {
    const slot = monoSlot(100, 100, 1);
    slot.data.fill(0, 0, 100 * 100);
    for (let y = 50; y < 100; y++) for (let x = 50; x < 100; x++) slot.data[y * 100 + x] = 255;
    const out = new Float32Array(10 * 10);
    new Preprocessor({ ...spec, width: 10, height: 10 }, { x: 50, y: 50, width: 50, height: 50 }).run(slot, out);
    for (const v of out) expect(v).toBeCloseTo((1 - 0.5) / 0.25, 5);
  });

  it('refuses an ROI outside the frame', () => {
    const slot = monoSlot(100, 100, 1);
    expect(() => new Preprocessor(spec, { x: 60, y: 0, width: 50, height: 10 }).run(slot, new Float32Array(64 * 48))).toThrow(/exceeds frame/);
  });

  it('converts RGB frames to luma and Mono8 frames to RGB planes', () => {
    const rgb = new FrameSlot(0, 4 * 4 * 3);
    rgb.width = 4;
    rgb.height = 4;
    rgb.pixelFormat = 'RGB8';
    for (let i = 0; i < 16; i++) rgb.data.set([200, 100, 50], i * 3);
    const luma = new Float32Array(4);
    new Preprocessor({ width: 2, height: 2, channels: 1, layout: 'NCHW', mean: [0], std: [1] }, null).run(rgb, luma);
    expect(luma[0]).toBeCloseTo((0.299 * 200 + 0.587 * 100 + 0.114 * 50) / 255, 5);

    const mono = monoSlot(4, 4, 3);
    const planes = new Float32Array(2 * 2 * 3);
    new Preprocessor({ width: 2, height: 2, channels: 3, layout: 'NCHW', mean: [0, 0, 0], std: [1, 1, 1] }, null).run(mono, planes);
    expect(planes[0]).toBeCloseTo(planes[4]!, 6);
    expect(planes[0]).toBeCloseTo(planes[8]!, 6);
  });

  it('writes NHWC interleaved when asked', () => {
    const rgb = new FrameSlot(0, 2 * 2 * 3);
    rgb.width = 2;
    rgb.height = 2;
    rgb.pixelFormat = 'RGB8';
    for (let i = 0; i < 4; i++) rgb.data.set([255, 0, 51], i * 3);
    const out = new Float32Array(12);
    new Preprocessor({ width: 2, height: 2, channels: 3, layout: 'NHWC', mean: [0, 0, 0], std: [1, 1, 1] }, null).run(rgb, out);
    expect(Array.from(out.slice(0, 3)).map((v) => Math.round(v * 255))).toEqual([255, 0, 51]);
  });
});

describe('Preprocessor exact 2:1 path', () => {
  it('gives the bilinear result for 512² → 256² and for an ROI twice the input size', () => {
    const slot = monoSlot(512, 512, 11);
    const fast = new Float32Array(256 * 256);
    new Preprocessor({ ...spec, width: 256, height: 256 }, null).run(slot, fast);
    const want = resizeBilinearMono8ToFloat(slot.data, 512, 512, new Float32Array(256 * 256), 256, 256, 0.5, 0.25);
    let worst = 0;
    for (let i = 0; i < fast.length; i++) worst = Math.max(worst, Math.abs(fast[i]! - want[i]!));
    expect(worst).toBeLessThan(1e-5);

    const roiOut = new Float32Array(50 * 40);
    new Preprocessor({ ...spec, width: 50, height: 40 }, { x: 11, y: 7, width: 100, height: 80 }).run(slot, roiOut);
    const crop = new Uint8Array(100 * 80);
    for (let y = 0; y < 80; y++) crop.set(slot.data.subarray((y + 7) * 512 + 11, (y + 7) * 512 + 111), y * 100);
    const wantRoi = resizeBilinearMono8ToFloat(crop, 100, 80, new Float32Array(50 * 40), 50, 40, 0.5, 0.25);
    worst = 0;
    for (let i = 0; i < roiOut.length; i++) worst = Math.max(worst, Math.abs(roiOut[i]! - wantRoi[i]!));
    expect(worst).toBeLessThan(1e-5);
  });
});
