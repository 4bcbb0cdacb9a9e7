import { mkdirSync, mkdtempSync, rmSync, unlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pino } from 'pino';
import sharp from 'sharp';
import { afterAll, describe, expect, it } from 'vitest';
import { FolderSource } from '../../../../adapters/source/folder/index.ts';
import { isLinesightError, type LinesightError } from '../../../../runtime/errors.ts';
import { FrameSlot } from '../../../../runtime/frame/frame-slot.ts';
import { StationModel } from '../../../../runtime/inference/station-model.ts';
import { Station } from '../../../../runtime/pipeline/station.ts';
import { ResultRouter } from '../../../../runtime/results/router.ts';
import type { InspectionResult } from '../../../../runtime/results/result.ts';
import { ResultStore } from '../../../../runtime/store/sqlite-store.ts';
import { renderSurface } from '../../../../sim/scenes/surface.ts';
import { stationConfig } from '../../../fakes/station-config.ts';

const MODELS = path.resolve(import.meta.dirname, '../../../../models');
const root = mkdtempSync(path.join(tmpdir(), 'ls-folder-src-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

/** A folder of 512² PNG parts named `names`, and `unreadable` entries that are folders with an image name. */
async function partsFolder(names: readonly string[], unreadable: readonly string[] = []): Promise<string> {
  const dir = mkdtempSync(path.join(root, 'parts-'));
  const img = new Uint8Array(512 * 512);
  for (const [i, name] of names.entries()) {
    renderSurface({ seed: i + 1, width: 512, height: 512 }, img);
    await sharp(img, { raw: { width: 512, height: 512, channels: 1 } })
      .png()
      .toFile(path.join(dir, name));
  }
  for (const name of unreadable) mkdirSync(path.join(dir, name));
  return dir;
}

const source = (dir: string) => new FolderSource({ type: 'folder', path: dir, width: 512, height: 512, pixelFormat: 'Mono8', loop: false }, dir);

describe('folder source: files that cannot be read', () => {
  it('reports a file gone since the listing as LS_ERR_FRAME_UNREADABLE with its path and cause, then goes on', async () => {
    const dir = await partsFolder(['p1.png', 'p2.png', 'p3.png']);
    const s = source(dir);
    await s.open();
    unlinkSync(path.join(dir, 'p2.png'));
    const slot = new FrameSlot(0, 512 * 512);
    await s.grab(slot);
    expect(slot.partId).toBe('p1');
    slot.partId = null;
    const err: unknown = await s.grab(slot).then(
      () => null,
      (e: unknown) => e,
    );
    expect(isLinesightError(err, 'LS_ERR_FRAME_UNREADABLE')).toBe(true);
    expect((err as LinesightError).message).toBe(
      `LS_ERR_FRAME_UNREADABLE: cannot read ${path.join(dir, 'p2.png')}: ENOENT: no such file or directory`,
    );
    await s.grab(slot);
    expect(slot.partId).toBe('p3');
  });

  it('a station counts an unreadable file with its source errors (not as a corrupt frame) and inspects the rest', async () => {
    const dir = await partsFolder(['p1.png', 'p3.png'], ['p2.png']);
    const config = stationConfig({ trigger: { mode: 'free-run', fps: 200 } });
    const store = new ResultStore(path.join(dir, 'results.sqlite'));
    const models = [await StationModel.load(config.models[0]!, MODELS, null)];
    const log = pino({ level: 'silent' });
    const station = new Station({
      config,
      line: 'test-line',
      source: source(dir),
      models,
      results: new ResultRouter(store, config.name, [], log),
      log,
    });
    const results: InspectionResult[] = [];
    station.onResult((r) => results.push(r));
    try {
      await station.start();
      await station.whenStopped();
      expect([station.counters.sourceErrors, station.counters.corrupt]).toEqual([1, 0]);
      expect(results.map((r) => r.partId)).toEqual(['p1', 'p3']);
    } finally {
      await station.stop();
      await models[0]!.close();
      store.close();
    }
  });
});
