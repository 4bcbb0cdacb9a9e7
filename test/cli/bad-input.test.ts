/**
 * Bad input on the command line gets a clear, bounded answer: a usage error (exit 2) naming the option and the
 * value, an unreadable image reported as such (exit 5), `n/a` with a reason instead of NaN, and no stack trace.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { renderDrilledPlate } from '../../sim/scenes/holes.ts';
import { renderSurface } from '../../sim/scenes/surface.ts';
import { linesight } from '../helpers/cli.ts';

const dir = mkdtempSync(path.join(tmpdir(), 'ls-bad-input-'));
const plate = path.join(dir, 'plate.png');
const empty = path.join(dir, 'empty');
const good = path.join(dir, 'good');
const bad = path.join(dir, 'bad');
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function png(file: string, data: Uint8Array, side: number): Promise<void> {
  await sharp(data, { raw: { width: side, height: side, channels: 1 } })
    .png()
    .toFile(file);
}

beforeAll(async () => {
  for (const d of [empty, good, bad]) mkdirSync(d);
  const img = new Uint8Array(512 * 512);
  renderDrilledPlate({ seed: 11, width: 512, height: 512 }, img);
  await png(plate, img, 512);
  renderSurface({ seed: 777, width: 512, height: 512, family: 'brushed' }, img);
  await png(path.join(good, 'g1.png'), img, 512);
  renderSurface({ seed: 778, width: 512, height: 512, family: 'brushed', defect: 'dent' }, img);
  await png(path.join(bad, 'b1.png'), img, 512);
});

/** A usage error: exit 2, one `linesight: LS_ERR_USAGE: …` line matching `message`, no stack trace. */
function expectUsage(r: { code: number; stderr: string }, message: RegExp): void {
  expect(r.stderr).toMatch(message);
  expect(r.stderr.trim().split('\n')).toHaveLength(1);
  expect(r.stderr).toMatch(/^linesight: LS_ERR_USAGE: /);
  expect(r.stderr).not.toMatch(/unexpected failure|\n\s+at /);
  expect(r.code).toBe(2);
}

describe('numeric option values', () => {
  it('measure rejects 0, negative, NaN and non-numbers, and accepts --upr 0 (unfiltered, as its help says)', async () => {
    for (const [option, value] of [
      ['--mm-per-px', '0'],
      ['--mm-per-px', '-0.05'],
      ['--mm-per-px', 'abc'],
      ['--nominal-mm', 'NaN'],
      ['--countersink-deg', '180'],
      ['--upr', '1.5'],
      ['--tol-mm', 'Infinity'],
    ] as const) {
      const args = ['measure', 'holes', plate, '--mm-per-px', '0.05', `${option}=${value}`];
      if (option === '--tol-mm') args.push('--nominal-mm', '5');
      expectUsage(await linesight(...args), new RegExp(`${option} '${value}': must be a`));
    }
    const unfiltered = await linesight('measure', 'holes', plate, '--mm-per-px', '0.05', '--upr', '0', '--json');
    expect(unfiltered.code).toBe(0);
    expect(JSON.parse(unfiltered.stdout).count).toBe(6);
  });

  it('eval, train, calibrate and trigger check their numbers before any work', async () => {
    expectUsage(
      await linesight('eval', '--model', 'models/surface-anomaly', '--good', good, '--bad', bad, '--threads', '0'),
      /--threads '0': must be a whole number from 1 to 64/,
    );
    expectUsage(
      await linesight('train', 'anomaly', '--good', good, '--out', path.join(dir, 'm'), '--size', 'abc'),
      /--size 'abc': must be a whole number from 32 to 2048/,
    );
    expectUsage(
      await linesight('train', 'anomaly', '--good', good, '--out', path.join(dir, 'm'), '--size', '130'),
      /--size '130': must be a multiple of 4/,
    );
    expectUsage(
      await linesight('train', 'anomaly', '--good', good, '--out', path.join(dir, 'm'), '--topk=-1'),
      /--topk '-1': must be a whole number from 1/,
    );
    expectUsage(
      await linesight('calibrate', 'camera', '--images', good, '--out', path.join(dir, 'c.yaml'), '--min-corners', 'x'),
      /--min-corners 'x'/,
    );
    expectUsage(
      await linesight('calibrate', 'telecentric', '--images', good, '--out', path.join(dir, 'c.yaml'), '--origin-mm', '1,'),
      /--origin-mm '1,'/,
    );
    expectUsage(
      await linesight('trigger', '--config', 'configs/demo-line.yaml', '--station', 'recheck', '--timeout', 'abc'),
      /--timeout 'abc': must be a number greater than 0/,
    );
  });
});

describe('eval never reports NaN', () => {
  it('refuses an empty image folder, naming it (exit 2)', async () => {
    expectUsage(
      await linesight('eval', '--model', 'models/surface-anomaly', '--good', empty, '--bad', bad),
      new RegExp(`no images in ${empty} \\(--good`),
    );
    expectUsage(
      await linesight('eval', '--model', 'models/surface-anomaly', '--good', good, '--bad', empty),
      new RegExp(`no images in ${empty} \\(--bad`),
    );
    expectUsage(await linesight('eval', '--model', 'models/surface-anomaly', '--good', plate, '--bad', bad), /--good .*plate\.png is not a folder/);
  });

  it('prints a metric it cannot compute as n/a with the reason (JSON: null and "unavailable")', async () => {
    const human = await linesight('eval', '--model', 'models/surface-anomaly', '--good', good, '--bad', bad, '--masks', empty);
    expect(human.code).toBe(0);
    expect(human.stdout).not.toMatch(/NaN/);
    expect(human.stdout).toMatch(/pixel_auroc +n\/a \(no mask in --masks matches a bad image/);
    expect(human.stdout).toMatch(/image_auroc +[01](\.\d+)?\n/);
    const json = await linesight('eval', '--model', 'models/surface-anomaly', '--good', good, '--bad', bad, '--masks', empty, '--json');
    const r = JSON.parse(json.stdout) as Record<string, unknown>;
    expect(r.pixel_auroc).toBeNull();
    expect(r.unavailable).toMatchObject({ pixel_auroc: expect.stringMatching(/no mask/), aupro_30: expect.stringMatching(/no mask/) });
  });
});

describe('unreadable images', () => {
  it('inspect reports a missing file as LS_ERR_FRAME_UNREADABLE with the path and cause (exit 5)', async () => {
    const missing = path.join(dir, 'missing.png');
    const r = await linesight('inspect', '--config', 'configs/demo-line.yaml', '--station', 'surface', missing, '--json');
    expect(JSON.parse(r.stdout)).toMatchObject({
      file: missing,
      error: { code: 'LS_ERR_FRAME_UNREADABLE', message: `LS_ERR_FRAME_UNREADABLE: cannot read ${missing}: ENOENT: no such file or directory` },
    });
    expect(r.code).toBe(5);
    const human = await linesight('inspect', '--config', 'configs/demo-line.yaml', '--station', 'surface', missing);
    expect(human.stdout).toMatch(/missing\.png: unreadable \(LS_ERR_FRAME_UNREADABLE: cannot read .*ENOENT/);
  });

  it('measure and calibrate report an unreadable image with exit 5', async () => {
    const cut = path.join(dir, 'cut.png');
    writeFileSync(cut, (await sharp(plate).png().toBuffer()).subarray(0, 4000));
    const m = await linesight('measure', 'holes', cut, '--mm-per-px', '0.05', '--json');
    expect(JSON.parse(m.stdout)).toMatchObject({
      error: { code: 'LS_ERR_FRAME_CORRUPT', message: expect.stringMatching(/PNG is truncated in chunk IDAT/) },
    });
    expect(m.code).toBe(5);
    const c = await linesight('calibrate', 'telecentric', path.join(dir, 'gone.png'), '--target', 'ring:5', '--out', path.join(dir, 'c.yaml'));
    expect(c.stderr).toMatch(/LS_ERR_FRAME_UNREADABLE: cannot read .*gone\.png: ENOENT/);
    expect(c.code).toBe(5);
  });
});

describe('YAML limits from the command line', () => {
  it('validate answers an alias bomb with exit 2 and FILE:LINE, not a stack trace', async () => {
    const bomb = path.join(dir, 'bomb.yaml');
    const levels = ['a: &a [x, x, x, x, x, x, x, x, x]'];
    for (const [prev, name] of [...'abcdef'].slice(0, 5).map((p, i) => [p, 'bcdef'[i]!]))
      levels.push(`${name}: &${name} [${Array(9).fill(`*${prev}`).join(', ')}]`);
    writeFileSync(bomb, `${levels.join('\n')}\n`);
    const r = await linesight('validate', bomb);
    expect(r.stderr).toContain(`${bomb}:2 (root): aliases expand to more than 100 nodes`);
    expect(r.stderr).not.toMatch(/unexpected failure|ReferenceError|\n\s+at /);
    expect(r.code).toBe(2);
  });
});
