import { execFile } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { cornerObjectPoint, homographyDlt, parseBoard } from '../../calibration/charuco.ts';
import { readCalibration } from '../../runtime/metrology/calibration.ts';
import { TEST_BOARD, TEST_CAMERA } from '../fakes/render-charuco-views.ts';

const ROOT = path.resolve(import.meta.dirname, '../..');
const run = promisify(execFile);

describe('linesight calibrate camera (ChArUco, rendered views with known intrinsics)', () => {
  it('recovers fx, fy and k1, reprojects well under a pixel and rejects the view taken through another lens', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'ls-charuco-'));
    await run(process.execPath, ['--import', 'tsx', path.join(ROOT, 'test/fakes/render-charuco-views.ts'), dir], { cwd: ROOT });
    const out = path.join(dir, 'camera.yaml');
    const { stdout } = await run(
      process.execPath,
      [path.join(ROOT, 'bin/linesight.js'), 'calibrate', 'camera', '--images', dir, '--board', TEST_BOARD, '--out', out],
      { cwd: ROOT },
    );
    expect(stdout).toMatch(/reprojection RMS [0-9.]+ px over 8 views \(1 rejected\)/);
    const cal = readCalibration(out);
    if (cal.kind !== 'pinhole') throw new Error('expected a pinhole calibration');
    expect(Math.abs(cal.camera.fx / TEST_CAMERA.fx - 1)).toBeLessThan(0.005);
    expect(Math.abs(cal.camera.fy / TEST_CAMERA.fy - 1)).toBeLessThan(0.005);
    expect(Math.abs(cal.distortion.k1 - TEST_CAMERA.distortion.k1)).toBeLessThan(0.02);
    expect(cal.quality!.rmsPx).toBeLessThan(0.2);
    expect(cal.quality!.views.find((v) => v.image === 'view-04.png')).toMatchObject({ used: false });
  });

  it('parses board specs and refuses malformed ones', () => {
    expect(parseBoard('charuco:11x8:15:11:5X5_100')).toEqual({ cols: 11, rows: 8, squareMm: 15, markerMm: 11, dict: 'DICT_5X5_100' });
    expect(() => parseBoard('chess:9x6:10')).toThrow(/LS_ERR_USAGE/);
    expect(() => parseBoard('charuco:9x6:10:12:4X4_50')).toThrow(/marker < square/);
    expect(cornerObjectPoint(parseBoard('charuco:9x7:12:9:5X5_100'), 9)).toEqual([24, 24]);
  });

  it('estimates a plane homography exactly from exact correspondences', () => {
    const H = [0.05, 0.002, 1.5, -0.001, 0.049, 2.5, 1e-5, -2e-5, 1];
    const src: [number, number][] = [],
      dst: [number, number][] = [];
    for (let i = 0; i < 5; i++)
      for (let j = 0; j < 4; j++) {
        const u = 100 + 150 * i,
          v = 80 + 120 * j,
          w = H[6]! * u + H[7]! * v + H[8]!;
        src.push([u, v]);
        dst.push([(H[0]! * u + H[1]! * v + H[2]!) / w, (H[3]! * u + H[4]! * v + H[5]!) / w]);
      }
    const est = homographyDlt(src, dst);
    for (let k = 0; k < 9; k++) expect(est[k]).toBeCloseTo(H[k]!, 7);
  });
});
