import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { beforeAll, describe, expect, it } from 'vitest';
import { renderDotGrid } from '../../sim/scenes/hole-metrology.ts';
import { renderDrilledPlate } from '../../sim/scenes/holes.ts';
import { linesight } from '../helpers/cli.ts';

const dir = mkdtempSync(path.join(tmpdir(), 'ls-measure-'));
const plate = path.join(dir, 'plate.png');
const oversize = path.join(dir, 'oversize.png');
const blank = path.join(dir, 'blank.png');
const grid = path.join(dir, 'grid.png');
const corrupt = path.join(dir, 'corrupt.png');
const png = (data: Uint8Array, w: number, h: number, file: string) =>
  sharp(data, { raw: { width: w, height: h, channels: 1 } })
    .png()
    .toFile(file);

beforeAll(async () => {
  const img = new Uint8Array(512 * 512);
  renderDrilledPlate({ seed: 21, width: 512, height: 512 }, img);
  await png(img, 512, 512, plate);
  renderDrilledPlate({ seed: 21, width: 512, height: 512, defect: 'oversize', defectHole: 3 }, img);
  await png(img, 512, 512, oversize);
  await png(new Uint8Array(512 * 512).fill(190), 512, 512, blank);
  renderDotGrid({ width: 512, height: 512, mmPerPx: 0.05, cols: 12, rows: 12, pitchMm: 2, diameterMm: 1, originMm: [1.8, 1.8], noiseSigma: 1 }, img);
  await png(img, 512, 512, grid);
  writeFileSync(corrupt, 'not an image');
});

describe('linesight measure holes', () => {
  it('prints one JSON object per image with the issue field names for every hole', async () => {
    const { code, stdout } = await linesight('measure', 'holes', plate, '--mm-per-px', '0.05', '--nominal-mm', '5', '--json');
    expect(code).toBe(0);
    const [r] = stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(r.file).toBe(plate);
    expect(r.holes).toHaveLength(6);
    for (const h of r.holes) {
      expect(Object.keys(h)).toEqual(
        expect.arrayContaining(['center_px', 'center_mm', 'diameter_mm', 'roundness_mm', 'ovality', 'residual_px', 'points', 'fd', 'deviation_mm']),
      );
      expect(h.center_px).toHaveLength(2);
      expect(h.center_mm[0]).toBeCloseTo((h.center_px[0] + 0.5) * 0.05, 3);
      expect(Math.abs(h.diameter_mm - 5)).toBeLessThan(0.05);
      expect(h.points).toBeGreaterThan(200);
    }
    // reading order: first row left to right
    expect(r.holes[0].center_mm[0]).toBeLessThan(r.holes[1].center_mm[0]);
    expect(r.holes[0].center_mm[1]).toBeLessThan(r.holes[3].center_mm[1]);
  });

  it('judges size against an ISO 286 class and exits 4 when a hole is out of tolerance', async () => {
    const { code, stdout } = await linesight('measure', 'holes', oversize, '--mm-per-px', '0.05', '--nominal-mm', '5', '--fit', 'H11', '--json');
    const r = JSON.parse(stdout);
    expect(r.tolerance).toMatchObject({ class: 'H11', lower_mm: 0, upper_mm: 0.075 });
    expect(r.holes.filter((h: { size: string }) => h.size === 'HIGH').length).toBeGreaterThanOrEqual(1);
    expect(code).toBe(4);
  });

  it('reports an image without holes as a clear result (holes: [], message) and exits 6; unreadable exits 5', async () => {
    const { code, stdout } = await linesight('measure', 'holes', blank, '--mm-per-px', '0.05', '--json');
    const r = JSON.parse(stdout);
    expect(r).toMatchObject({ file: blank, count: 0, holes: [] });
    expect(r.message).toMatch(/no hole found/);
    expect(code).toBe(6);
    const bad = await linesight('measure', 'holes', corrupt, blank, '--mm-per-px', '0.05', '--json');
    expect(JSON.parse(bad.stdout.split('\n')[0]!)).toMatchObject({ file: corrupt, error: { code: 'LS_ERR_FRAME_CORRUPT' } });
    expect(bad.code).toBe(5);
  });

  it('refuses to run without a scale (exit 2)', async () => {
    const { code, stderr } = await linesight('measure', 'holes', plate);
    expect(code).toBe(2);
    expect(stderr).toMatch(/LS_ERR_METROLOGY_SPEC.*no scale/);
  });

  it('measures through a telecentric calibration written by calibrate telecentric', async () => {
    const cal = path.join(dir, 'tele.yaml');
    const c = await linesight('calibrate', 'telecentric', '--images', grid, '--target', 'dots:12x12:2', '--origin-mm', '1.8,1.8', '--out', cal);
    expect(c.code).toBe(0);
    expect(c.stdout).toMatch(/telecentric 0\.0(4999|500)\d* mm\/px.*scale uniformity/);
    const { stdout } = await linesight('measure', 'holes', plate, '--calibration', cal, '--json');
    const r = JSON.parse(stdout);
    expect(r.scale).toMatch(/telecentric/);
    expect(Math.abs(r.holes[0].center_mm[0] - 5.6)).toBeLessThan(0.05);
  });
});
