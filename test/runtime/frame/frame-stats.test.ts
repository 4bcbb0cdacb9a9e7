import { describe, expect, it } from 'vitest';
import { FrameSlot } from '../../../runtime/frame/frame-slot.ts';
import { FrameStatistics } from '../../../runtime/frame/frame-stats.ts';
import { renderSurface } from '../../../sim/scenes/surface.ts';
import { Prng } from '../../../sim/scenes/prng.ts';

const levels = { darkLevel: 10, saturatedLevel: 250, flatRange: 2 };

function frame(width: number, height: number, fill: (i: number) => number, format: 'Mono8' | 'RGB8' = 'Mono8'): FrameSlot {
  const channels = format === 'Mono8' ? 1 : 3;
  const slot = new FrameSlot(0, width * height * channels);
  slot.width = width;
  slot.height = height;
  slot.pixelFormat = format;
  for (let i = 0; i < width * height; i++) for (let c = 0; c < channels; c++) slot.data[i * channels + c] = fill(i);
  return slot;
}

describe('FrameStatistics', () => {
  const stats = new FrameStatistics(levels);

  it('a black, a white and a grey frame: all dark, all saturated, no contrast, every tile flat, no focus', () => {
    expect({
      ...stats.measure(
        frame(512, 512, () => 0),
        null,
      ),
    }).toEqual({ dark: 1, saturated: 0, contrast: 0, flat: 1, focus: 0, repeatedRows: 0 });
    expect({
      ...stats.measure(
        frame(512, 512, () => 255),
        null,
      ),
    }).toEqual({ dark: 0, saturated: 1, contrast: 0, flat: 1, focus: 0, repeatedRows: 0 });
    expect({
      ...stats.measure(
        frame(512, 512, () => 128),
        null,
      ),
    }).toEqual({ dark: 0, saturated: 0, contrast: 0, flat: 1, focus: 0, repeatedRows: 0 });
  });

  it('a rendered part is exposed, contrasted, textured and in focus; a half-black copy is half dark and half flat', () => {
    const part = frame(512, 512, () => 0);
    renderSurface({ seed: 7, width: 512, height: 512, defect: null }, part.data);
    const s = { ...stats.measure(part, null) };
    expect(s.dark).toBe(0);
    expect(s.contrast).toBeGreaterThan(15);
    expect(s.flat).toBe(0);
    expect(s.focus).toBeGreaterThan(20);
    part.data.fill(0, 0, 256 * 512);
    const half = stats.measure(part, null);
    expect(half.dark).toBeCloseTo(0.5, 2);
    expect(half.flat).toBeCloseTo(0.5, 2);
  });

  it('measures only the region it is given', () => {
    const slot = frame(256, 256, (i) => (i % 256 < 128 ? 0 : 200));
    expect(stats.measure(slot, { x: 0, y: 0, width: 128, height: 256 }).dark).toBe(1);
    expect(stats.measure(slot, { x: 128, y: 0, width: 128, height: 256 }).dark).toBe(0);
  });

  it('noise is in focus, blur of the same texture is not: focus is the Laplacian variance', () => {
    const rng = new Prng(3);
    const noise = frame(128, 128, () => Math.floor(rng.next() * 256));
    const sharp = stats.measure(noise, null).focus;
    // A 4×4 box blur of the same noise
    const blurred = frame(128, 128, (i) => {
      const x = i % 128;
      const y = Math.floor(i / 128);
      let s = 0;
      for (let dy = 0; dy < 4; dy++) for (let dx = 0; dx < 4; dx++) s += noise.data[Math.min(127, y + dy) * 128 + Math.min(127, x + dx)]!;
      return Math.round(s / 16);
    });
    expect(stats.measure(blurred, null).focus).toBeLessThan(sharp / 20);
  });

  it('an RGB8 frame is measured on its luma: grey RGB gives the Mono8 numbers', () => {
    const rng = new Prng(5);
    const values = Array.from({ length: 64 * 64 }, () => Math.floor(rng.next() * 256));
    const mono = {
      ...stats.measure(
        frame(64, 64, (i) => values[i]!),
        null,
      ),
    };
    const rgb = {
      ...stats.measure(
        frame(64, 64, (i) => values[i]!, 'RGB8'),
        null,
      ),
    };
    expect(rgb.dark).toBeCloseTo(mono.dark, 2);
    expect(rgb.contrast).toBeLessThanOrEqual(mono.contrast + 1);
    expect(rgb.focus / mono.focus).toBeGreaterThan(0.97);
  });

  it('a 5 MP frame is sampled, not read whole, and still sees a dark half', () => {
    const slot = frame(2592, 1944, (i) => (Math.floor(i / 2592) < 972 ? 0 : 120 + (i % 7)));
    const s = stats.measure(slot, null);
    expect(s.dark).toBeGreaterThan(0.45);
    expect(s.dark).toBeLessThan(0.55);
  });
});
