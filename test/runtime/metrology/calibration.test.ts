import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  PixelToMm,
  distortPixel,
  readCalibration,
  undistortPixel,
  writeCalibration,
  type PinholeCalibration,
} from '../../../runtime/metrology/calibration.ts';
import { calibrateTelecentric } from '../../../calibration/telecentric.ts';
import { renderDotGrid, renderMetrologyHole } from '../../../sim/scenes/hole-metrology.ts';

const dir = mkdtempSync(path.join(tmpdir(), 'ls-cal-'));
const pin: PinholeCalibration = {
  kind: 'pinhole',
  imageSize: [1280, 960],
  camera: { fx: 2400, fy: 2396, cx: 641.2, cy: 478.9 },
  distortion: { k1: -0.21, k2: 0.14, p1: 0.0008, p2: -0.0005, k3: 0.02 },
};

describe('calibration model', () => {
  it('undistorts what it distorts (point round trip across the field, < 1e-6 px)', () => {
    const o = new Float64Array(2),
      back = new Float64Array(2);
    for (const [u, v] of [
      [0, 0],
      [1279, 959],
      [640, 480],
      [100, 900],
      [1200, 50],
    ] as const) {
      undistortPixel(pin, u, v, o);
      distortPixel(pin, o[0]!, o[1]!, back);
      expect(Math.hypot(back[0]! - u, back[1]! - v)).toBeLessThan(1e-6);
    }
    undistortPixel(pin, 0, 0, o);
    expect(Math.hypot(o[0]!, o[1]!)).toBeGreaterThan(5); // the corner moves: distortion is real
  });

  it('writes and reads a calibration YAML without loss', () => {
    const file = path.join(dir, 'cam.yaml');
    writeCalibration(file, { ...pin, plane: { homography: [0.1, 0, 1, 0, 0.1, 2, 0, 0, 1] } });
    const back = readCalibration(file);
    expect(back).toEqual({ ...pin, plane: { homography: [0.1, 0, 1, 0, 0.1, 2, 0, 0, 1] } });
    const m = new PixelToMm(back, null);
    const p = new Float64Array(2);
    m.map(pin.camera.cx, pin.camera.cy, p);
    expect(p[0]).toBeCloseTo(0.1 * pin.camera.cx + 1, 6);
  });

  it('refuses a missing or malformed calibration file with LS_ERR_CALIBRATION_INVALID', () => {
    expect(() => readCalibration(path.join(dir, 'nope.yaml'))).toThrow(/LS_ERR_CALIBRATION_INVALID/);
    const bad = path.join(dir, 'bad.yaml');
    writeFileSync(bad, 'kind: telecentric\naffine: [1, 2]\nmmPerPx: 0.05\n');
    expect(() => readCalibration(bad)).toThrow(/LS_ERR_CALIBRATION_INVALID.*affine/);
  });

  it('needs a scale: no calibration and no mm/px is a spec error', () => {
    expect(() => new PixelToMm(null, null)).toThrow(/LS_ERR_METROLOGY_SPEC/);
    expect(() => new PixelToMm(pin, null)).toThrow(/LS_ERR_METROLOGY_SPEC/);
  });
});

describe('telecentric calibration', () => {
  it('fits scale and offset from a dot grid and reports uniformity', () => {
    const W = 400,
      H = 300,
      img = new Uint8Array(W * H);
    renderDotGrid({ width: W, height: H, mmPerPx: 0.02, cols: 9, rows: 6, pitchMm: 0.8, diameterMm: 0.4, originMm: [0.8, 0.9], noiseSigma: 1 }, img);
    const cal = calibrateTelecentric(
      [{ name: 'grid', width: W, height: H, data: img }],
      { kind: 'dots', cols: 9, rows: 6, pitchMm: 0.8 },
      [0.8, 0.9],
    );
    expect(cal.mmPerPx).toBeCloseTo(0.02, 6);
    expect(cal.affine[2]).toBeCloseTo(0.01, 4); // pixel 0 centre is half a pixel in: 0.01 mm
    expect(cal.uniformity!.spreadPct).toBeLessThan(0.1);
    expect(cal.residualRmsMm!).toBeLessThan(0.0005);
  });

  it('takes the scale from a ring gauge at several field positions', () => {
    const W = 300,
      H = 300,
      img = new Uint8Array(W * H);
    const images = (
      [
        [3, 3],
        [8, 9],
        [3.5, 8],
      ] as const
    ).map(([x, y], i) => {
      renderMetrologyHole({ seed: i, width: W, height: H, mmPerPx: 0.04, centreMm: [x, y], diameterMm: 4, noiseSigma: 1, blurPx: 0.7 }, img);
      return { name: `ring${i}`, width: W, height: H, data: Uint8Array.from(img) };
    });
    const cal = calibrateTelecentric(images, { kind: 'ring', diameterMm: 4 });
    expect(Math.abs(cal.mmPerPx - 0.04) / 0.04).toBeLessThan(5e-4);
    expect(cal.uniformity!.cells).toBe(3);
  });

  it('fails clearly when the dot count does not match the target', () => {
    const img = new Uint8Array(200 * 200).fill(200);
    expect(() =>
      calibrateTelecentric([{ name: 'blank', width: 200, height: 200, data: img }], { kind: 'dots', cols: 5, rows: 5, pitchMm: 1 }),
    ).toThrow(/LS_ERR_CALIBRATION_FAILED.*found 0 dots/);
  });
});
