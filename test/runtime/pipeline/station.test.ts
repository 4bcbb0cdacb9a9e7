import { mkdtempSync, mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { Station } from '../../../runtime/pipeline/station.ts';
import { StationModel } from '../../../runtime/inference/station-model.ts';
import { ResultStore } from '../../../runtime/store/sqlite-store.ts';
import { ResultRouter } from '../../../runtime/results/router.ts';
import type { StationConfig } from '../../../runtime/config/schema.ts';
import type { FrameSource } from '../../../runtime/adapter.ts';
import type { InspectionResult } from '../../../runtime/results/result.ts';
import { FolderSource } from '../../../adapters/source/folder/index.ts';
import { renderSurface } from '../../../sim/scenes/surface.ts';
import { ReplaySource } from '../../fakes/replay-source.ts';
import { stationConfig } from '../../fakes/station-config.ts';

const MODELS = path.resolve(import.meta.dirname, '../../../models');
const log = pino({ level: 'silent' });
const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function makeStation(config: StationConfig, source: FrameSource) {
  const dir = mkdtempSync(path.join(tmpdir(), 'ls-station-'));
  const store = new ResultStore(path.join(dir, 'results.sqlite'));
  const models = [await StationModel.load(config.models[0]!, MODELS, config.roi ?? null)];
  const router = new ResultRouter(store, config.name, [], log);
  const station = new Station({ config, line: 'test-line', source, models, results: router, log });
  const results: InspectionResult[] = [];
  station.onResult((r) => results.push(r));
  cleanups.push(async () => {
    await station.stop();
    await models[0]!.close();
    store.close();
  });
  await station.start();
  return { station, store, results };
}

async function settle(station: Station, expected: () => boolean): Promise<void> {
  for (let i = 0; i < 2000 && !expected(); i++) await new Promise((r) => setTimeout(r, 5));
  await station.stop();
}

describe('Station', () => {
  it('every-trigger: inspects every triggered part in order, counting backpressure, dropping none', async () => {
    const source = new ReplaySource(4);
    const { station, store, results } = await makeStation(stationConfig(), source);
    for (let i = 0; i < 12; i++) station.trigger({ partId: `P-${i}`, origin: 'test' });
    await settle(station, () => results.length === 12);
    expect(results.map((r) => r.partId)).toEqual(Array.from({ length: 12 }, (_, i) => `P-${i}`));
    expect(results.map((r) => r.sequence)).toEqual(Array.from({ length: 12 }, (_, i) => i + 1));
    expect(station.counters.dropped).toBe(0);
    expect(station.counters.backpressure).toBeGreaterThan(0);
    expect(store.lastSequence('test-line', 'surface')).toBe(12);
  });

  it('latest-wins: drops and counts the oldest queued frames when inference lags', async () => {
    const source = new ReplaySource(4);
    const { station, results } = await makeStation(stationConfig({ backpressure: { policy: 'latest-wins', queueDepth: 1 } }), source);
    for (let i = 0; i < 12; i++) station.trigger({ partId: `P-${i}`, origin: 'test' });
    await settle(station, () => results.length + station.counters.dropped === 12);
    expect(station.counters.dropped).toBeGreaterThan(0);
    expect(results.length + station.counters.dropped).toBe(12);
    expect(results.at(-1)?.partId).toBe('P-11');
    // Stored sequences stay gap-free even though frames were dropped; frame sequences show the gaps.
    expect(results.map((r) => r.sequence)).toEqual(Array.from({ length: results.length }, (_, i) => i + 1));
    expect(new Set(results.map((r) => r.frameSequence)).size).toBe(results.length);
  });

  it('counts and skips corrupt and wrong-size images, inspecting the rest', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'ls-folder-'));
    const img = new Uint8Array(512 * 512);
    for (const [name, seed] of [
      ['p1', 1],
      ['p3', 3],
      ['p5', 5],
    ] as const) {
      renderSurface({ seed, width: 512, height: 512 }, img);
      await sharp(img, { raw: { width: 512, height: 512, channels: 1 } })
        .png()
        .toFile(path.join(dir, `${name}.png`));
    }
    writeFileSync(path.join(dir, 'p2.png'), Buffer.from('definitely not a PNG'));
    await sharp(img.subarray(0, 100 * 100), { raw: { width: 100, height: 100, channels: 1 } })
      .png()
      .toFile(path.join(dir, 'p4.png'));
    mkdirSync(path.join(dir, 'ignored-subfolder'));
    const config = stationConfig({ trigger: { mode: 'free-run', fps: 200 } });
    const source = new FolderSource({ type: 'folder', path: dir, width: 512, height: 512, pixelFormat: 'Mono8', loop: false }, dir);
    const { station, results } = await makeStation(config, source);
    await station.whenStopped();
    expect(station.counters.corrupt).toBe(2);
    expect(results.map((r) => r.partId)).toEqual(['p1', 'p3', 'p5']);
    expect(results.map((r) => r.sequence)).toEqual([1, 2, 3]);
  });

  it('records stage timings and model hashes with every result', async () => {
    const { station, results } = await makeStation(stationConfig(), new ReplaySource(2));
    station.trigger({ partId: 'P-1', origin: 'test' });
    await settle(station, () => results.length === 1);
    const [r] = results;
    expect(r!.models[0]!.sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(r!.timings.inferMs).toBeGreaterThan(0);
    expect(r!.timings.totalMs).toBeGreaterThanOrEqual(r!.timings.inferMs);
    expect(station.latency.infer.count).toBe(1);
  });
});
