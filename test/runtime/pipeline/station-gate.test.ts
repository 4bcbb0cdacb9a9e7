/** A running station counts what its gate rejects, by check, and stores those parts as NOK. */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import type { FrameSource } from '../../../runtime/adapter.ts';
import type { FrameSlot } from '../../../runtime/frame/frame-slot.ts';
import { StationModel } from '../../../runtime/inference/station-model.ts';
import { Station } from '../../../runtime/pipeline/station.ts';
import { ResultRouter } from '../../../runtime/results/router.ts';
import { ResultStore } from '../../../runtime/store/sqlite-store.ts';
import { renderSurface } from '../../../sim/scenes/surface.ts';
import { stationConfig } from '../../fakes/station-config.ts';
import { withDeadline } from '../../helpers/wait.ts';

const MODELS = path.resolve(import.meta.dirname, '../../../models');
const log = pino({ level: 'silent' });

/** Part, black frame (lens cap), part, white frame (light stuck on), part, … */
class FailingCameraSource implements FrameSource {
  readonly type = 'failing-camera';
  readonly maxWidth = 512;
  readonly maxHeight = 512;
  readonly channels = 1;
  private n = 0;
  async open(): Promise<void> {}
  async grab(slot: FrameSlot): Promise<void> {
    const i = this.n++;
    slot.sequence = i + 1;
    slot.width = 512;
    slot.height = 512;
    slot.pixelFormat = 'Mono8';
    slot.partId = `P-${i}`;
    if (i % 4 === 1) slot.data.fill(0);
    else if (i % 4 === 3) slot.data.fill(255);
    else renderSurface({ seed: 70_000 + i, width: 512, height: 512, defect: null }, slot.data);
  }
  async close(): Promise<void> {}
}

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

describe('station with the frame-acceptance gate', () => {
  it('rejected frames are NOK FRAME_REJECTED, counted by check, stored; good parts pass the gate', async () => {
    const config = stationConfig({ maxParts: 8 });
    const store = new ResultStore(path.join(mkdtempSync(path.join(tmpdir(), 'ls-gate-')), 'r.sqlite'));
    const models = [await StationModel.load(config.models[0]!, MODELS, null)];
    const station = new Station({
      config,
      line: 'l',
      source: new FailingCameraSource(),
      models,
      results: new ResultRouter(store, 'surface', [], log),
      log,
    });
    cleanups.push(async () => {
      await station.stop();
      await models[0]!.close();
      store.close();
    });
    await station.start();
    for (let i = 0; i < 8; i++) station.trigger({ partId: null, origin: 'test' });
    await withDeadline(station.whenStopped(), 30_000, 'station to inspect 8 parts');
    const c = station.counters;
    expect(c.inspected).toBe(8);
    expect(c.rejected).toBe(4);
    expect(c.rejectedBy).toEqual({ dark: 2, saturated: 2 });
    expect(c.nok).toBeGreaterThanOrEqual(4);
    for (let seq = 1; seq <= 8; seq++) {
      const r = store.getBySequence('l', 'surface', seq)!.result;
      const blank = r.partId === 'P-1' || r.partId === 'P-3' || r.partId === 'P-5' || r.partId === 'P-7';
      // a good part may still be judged NOK by the model (its false-call rate), never by the gate
      if (blank) expect(r).toMatchObject({ verdict: 'NOK', reasons: [{ code: 'FRAME_REJECTED' }] });
      else expect(r.reasons.map((x) => x.code)).not.toContain('FRAME_REJECTED');
    }
  });
});
