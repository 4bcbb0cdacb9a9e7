/**
 * A station whose result store refuses writes (SQLite's `PRAGMA query_only` on the store's connection: the real
 * SQLITE_READONLY error on the real append path) keeps inspecting: counters, result listeners and the trigger's
 * onDecided all see what the sinks were given — the NOK STORE_FAILED under stop-line — and the part after the
 * store comes back is stored normally.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type Database from 'better-sqlite3';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { StationModel } from '../../../runtime/inference/station-model.ts';
import { Station } from '../../../runtime/pipeline/station.ts';
import type { InspectionResult } from '../../../runtime/results/result.ts';
import { ResultRouter } from '../../../runtime/results/router.ts';
import { ResultStore } from '../../../runtime/store/sqlite-store.ts';
import { ReplaySource } from '../../fakes/replay-source.ts';
import { RecordingSink } from '../../fakes/recording-sink.ts';
import { stationConfig } from '../../fakes/station-config.ts';
import { withDeadline } from '../../helpers/wait.ts';

const MODELS = path.resolve(import.meta.dirname, '../../../models');
const log = pino({ level: 'silent' });
const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

describe('Station with a failing result store', () => {
  it('keeps inspecting; counters, listeners and onDecided get the NOK STORE_FAILED the sinks got', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'ls-station-store-'));
    const config = stationConfig();
    const store = new ResultStore(path.join(dir, 'results.sqlite'));
    const models = [await StationModel.load(config.models[0]!, MODELS, null)];
    const sink = new RecordingSink('mes', false);
    const router = new ResultRouter(store, config.name, [sink], log);
    const station = new Station({ config, line: 'test-line', source: new ReplaySource(2, 512, 512, 1000), models, results: router, log });
    const heard: InspectionResult[] = [];
    station.onResult((r) => heard.push(r));
    cleanups.push(async () => {
      await station.stop();
      await router.close(1000);
      await models[0]!.close();
      store.close();
      rmSync(dir, { recursive: true, force: true });
    });
    await station.start();
    const part = async (partId: string): Promise<InspectionResult | null> => {
      let decided!: (r: InspectionResult | null) => void;
      const done = new Promise<InspectionResult | null>((r) => (decided = r));
      station.trigger({ partId, origin: 'test', onDecided: (r) => decided(r) });
      return withDeadline(done, 30_000, `part ${partId}`);
    };

    const good = await part('P-1');
    const db = (store as unknown as { db: Database.Database }).db; // the store's own connection
    db.pragma('query_only = ON');
    const refused = await part('P-2');
    db.pragma('query_only = OFF');
    const after = await part('P-3');

    expect(good?.sequence).toBe(1);
    expect(refused).toMatchObject({ partId: 'P-2', verdict: 'NOK', sequence: 2 });
    expect(refused?.reasons.at(-1)).toMatchObject({ code: 'STORE_FAILED', source: 'store' });
    expect(heard[1]).toBe(refused); // the listener got the same object the trigger and the sink got
    expect(sink.received.map((r) => [r.partId, r.verdict])).toEqual([
      ['P-1', good?.verdict],
      ['P-2', 'NOK'],
      ['P-3', after?.verdict],
    ]);
    expect(station.counters.nok).toBe((good?.verdict === 'NOK' ? 1 : 0) + 1 + (after?.verdict === 'NOK' ? 1 : 0));
    expect(station.state).toBe('running');
    expect(after?.sequence).toBe(3);
    expect(router.health).toMatchObject({ storeFailed: false, counters: { storeFailures: 1, unstoredDelivered: 1, storedLate: 1, recoveries: 1 } });
    expect(store.getBySequence('test-line', 'surface', 2)?.result.reasons.at(-1)?.code).toBe('STORE_FAILED');
  });
});
