/** `linesight inspect` with the station's frame-acceptance gate: the blank and mis-sized frames are NOK. */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { beforeAll, describe, expect, it } from 'vitest';
import { renderSurface } from '../../sim/scenes/surface.ts';
import { linesight } from '../helpers/cli.ts';

const dir = mkdtempSync(path.join(tmpdir(), 'ls-inspect-gate-'));
const file = (name: string) => path.join(dir, name);
const grey = (w: number, h: number, v: number) => sharp(Buffer.alloc(w * h, v), { raw: { width: w, height: h, channels: 1 } }).png();

beforeAll(async () => {
  await grey(512, 512, 0).toFile(file('black.png'));
  await grey(512, 512, 255).toFile(file('white.png'));
  await grey(512, 512, 128).toFile(file('grey.png'));
  await grey(1, 1, 120).toFile(file('one-pixel.png'));
  const part = new Uint8Array(640 * 480);
  renderSurface({ seed: 2, width: 640, height: 480, defect: null }, part);
  await sharp(Buffer.from(part), { raw: { width: 640, height: 480, channels: 1 } })
    .png()
    .toFile(file('vga-part.png'));
});

describe('inspect: frames that are not a part', () => {
  it('black, white, grey, 1×1 and a 640×480 part on the 512² surface station are all NOK FRAME_REJECTED (exit 4)', async () => {
    const names = ['black.png', 'white.png', 'grey.png', 'one-pixel.png', 'vga-part.png'];
    const { code, stdout } = await linesight('inspect', '--config', 'configs/demo-line.yaml', '--station', 'surface', '--json', ...names.map(file));
    expect(code).toBe(4);
    const results = stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { verdict: string; reasons: { code: string; source: string }[] });
    expect(results.map((r) => r.verdict)).toEqual(['NOK', 'NOK', 'NOK', 'NOK', 'NOK']);
    expect(results.map((r) => r.reasons[0]?.source)).toEqual(['frame.dark', 'frame.saturated', 'frame.contrast', 'frame.size', 'frame.size']);
    for (const r of results) expect(r.reasons[0]!.code).toBe('FRAME_REJECTED');
  });

  it('the human line names the failed check', async () => {
    const { code, stdout } = await linesight(
      'inspect',
      '--config',
      'configs/demo-line.yaml',
      '--station',
      'surface',
      file('black.png'),
      file('vga-part.png'),
    );
    expect(code).toBe(4);
    expect(stdout).toBe(`${file('black.png')}: NOK FRAME_REJECTED:dark\n${file('vga-part.png')}: NOK FRAME_REJECTED:size\n`);
  });
});
