import { cpSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { beforeAll, describe, expect, it } from 'vitest';
import { renderSurface } from '../../sim/scenes/surface.ts';
import { linesight, ROOT } from '../helpers/cli.ts';

const dir = mkdtempSync(path.join(tmpdir(), 'ls-cli-'));
const good = path.join(dir, 'good-part.png');
const scratched = path.join(dir, 'scratched-part.png');
const corrupt = path.join(dir, 'corrupt.png');

beforeAll(async () => {
  const img = new Uint8Array(512 * 512);
  renderSurface({ seed: 777, width: 512, height: 512, family: 'brushed' }, img);
  await sharp(img, { raw: { width: 512, height: 512, channels: 1 } })
    .png()
    .toFile(good);
  renderSurface({ seed: 778, width: 512, height: 512, family: 'brushed', defect: 'dent' }, img);
  await sharp(img, { raw: { width: 512, height: 512, channels: 1 } })
    .png()
    .toFile(scratched);
  writeFileSync(corrupt, 'not an image');
});

describe('linesight CLI', () => {
  it('inspect --json prints one result object per image with verdict, reasons, measurements, defects and timings', async () => {
    const { code, stdout } = await linesight('inspect', '--config', 'configs/demo-line.yaml', '--station', 'surface', good, scratched, '--json');
    const lines = stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(lines).toHaveLength(2);
    for (const r of lines) {
      expect(Object.keys(r)).toEqual(
        expect.arrayContaining(['file', 'station', 'verdict', 'reasons', 'measurements', 'defects', 'timings', 'models', 'partId']),
      );
      expect(['OK', 'NOK']).toContain(r.verdict);
      expect(typeof r.measurements['surface-anomaly.score']).toBe('number');
      expect(Object.keys(r.timings)).toEqual(expect.arrayContaining(['preprocessMs', 'inferMs', 'decodeMs', 'decideMs', 'totalMs']));
      expect(r.models[0].sha256).toMatch(/^[0-9a-f]{64}$/);
    }
    expect(lines[0].file).toBe(good);
    expect(lines[1].verdict).toBe('NOK');
    expect(lines[1].reasons[0].code).toBe('SURFACE_DEFECT');
    expect(lines[1].defects.length).toBeGreaterThan(0);
    expect(code).toBe(lines.some((l) => l.verdict === 'NOK') ? 4 : 0);
  });

  it('inspect reports an unreadable image in its JSON line and exits 5', async () => {
    const { code, stdout } = await linesight('inspect', '--config', 'configs/demo-line.yaml', '--station', 'surface', corrupt, '--json');
    const [line] = stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(line).toMatchObject({ file: corrupt, error: { code: 'LS_ERR_FRAME_CORRUPT' } });
    expect(code).toBe(5);
  });

  it('inspect with an unknown station is a usage error (exit 2)', async () => {
    const { code, stderr } = await linesight('inspect', '--config', 'configs/demo-line.yaml', '--station', 'nope', good);
    expect(code).toBe(2);
    expect(stderr).toContain("no station 'nope'");
  });

  it('validate accepts the shipped configs and names file:line key for a bad one (exit 2)', async () => {
    expect((await linesight('validate', 'configs/demo-line.yaml')).code).toBe(0);
    const bad = path.join(dir, 'bad.yaml');
    writeFileSync(bad, readFileSync(path.join(ROOT, 'configs/demo-line.yaml'), 'utf8').replace('fps: 2 }', 'fps: fast }'));
    const { code, stderr } = await linesight('validate', bad);
    expect(code).toBe(2);
    expect(stderr).toMatch(new RegExp(`${bad.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:\\d+ stations\\[0\\]\\.trigger\\.fps: .*expected number`));
  });

  it('run refuses a tampered model with exit 3', async () => {
    const modelDir = path.join(dir, 'models');
    cpSync(path.join(ROOT, 'models/surface-anomaly'), path.join(modelDir, 'surface-anomaly'), { recursive: true });
    const manifest = path.join(modelDir, 'surface-anomaly/model.yaml');
    writeFileSync(manifest, readFileSync(manifest, 'utf8').replace(/sha256: [0-9a-f]{64}/, `sha256: "${'0'.repeat(64)}"`));
    const config = path.join(dir, 'tampered.yaml');
    writeFileSync(
      config,
      `line: t\nstore: { path: t.sqlite }\nstations:\n  - name: s\n    recipe: r\n    source: { type: synthetic, scene: surface, count: 1 }\n    trigger: { mode: free-run, fps: 5 }\n    models: [{ manifest: models/surface-anomaly/model.yaml }]\n`,
    );
    const { code, stderr } = await linesight('run', '--config', config);
    expect(code).toBe(3);
    expect(stderr).toContain('LS_ERR_MODEL_SHA256_MISMATCH');
  });

  it('prints help and exits 0 for --help, 2 for an unknown command', async () => {
    for (const cmd of ['run', 'validate', 'inspect', 'measure', 'calibrate', 'train', 'eval']) {
      const { code, stdout } = await linesight(cmd, '--help');
      expect(code).toBe(0);
      expect(stdout).toContain(`linesight ${cmd}`);
    }
    expect((await linesight('frobnicate')).code).toBe(2);
  });
});
