/**
 * A really full disk: a 1 MiB tmpfs mounted for the test holds the store; a filler file takes the rest of the
 * space. A line (LineRuntime, the shipped surface model, the synthetic camera) is triggered part by part until
 * SQLite reports the disk full: the process keeps running, the part in flight comes back NOK STORE_FAILED, the
 * free-space guard (real statfs) marks the disk critical; deleting the filler brings the store back by itself.
 * Needs root (mount -t tmpfs): without it the tests are skipped locally and fail under CI=true.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, statfsSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { pino } from 'pino';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ADAPTERS } from '../../../adapters/catalog.ts';
import { buildLineSchema, type LineConfig } from '../../../runtime/config/schema.ts';
import { LineRuntime } from '../../../runtime/line.ts';
import { AdapterRegistry } from '../../../runtime/registry.ts';
import type { InspectionResult } from '../../../runtime/results/result.ts';
import { DiskGuard } from '../../../runtime/store/disk-guard.ts';
import { ResultStore } from '../../../runtime/store/sqlite-store.ts';
import { waitUntil, withDeadline } from '../../helpers/wait.ts';

const exec = promisify(execFile);
const MODELS = path.resolve(import.meta.dirname, '../../../models');
const log = pino({ level: 'silent' });

/**
 * Mounting a tmpfs needs root (CAP_SYS_ADMIN), probed once with a scratch mount. Without it these tests are
 * skipped with a message, except under CI=true, where they fail: the full-disk path must never go untested.
 */
const canMount = await (async () => {
  const probe = mkdtempSync(path.join(tmpdir(), 'ls-tmpfs-probe-'));
  try {
    await exec('mount', ['-t', 'tmpfs', '-o', 'size=64k', 'tmpfs', probe], { timeout: 10_000 });
    await exec('umount', [probe], { timeout: 10_000 });
    return true;
  } catch {
    return false;
  } finally {
    rmSync(probe, { recursive: true, force: true });
  }
})();
const CI = process.env.CI === 'true';
const WHY = 'cannot mount a tmpfs: the real full-disk tests need root (mount -t tmpfs needs CAP_SYS_ADMIN)';
if (!canMount) console.warn(CI ? `${WHY}; CI=true requires them, so they fail` : `${WHY}; skipping them`);
const tmpfs = {
  it(title: string, fn: () => Promise<void>, timeoutMs?: number): void {
    if (canMount) it(title, fn, timeoutMs);
    else if (CI)
      it(title, () => {
        throw new Error(`${WHY}; CI=true requires this test to run`);
      });
    else it.skip(`${title} [needs root for mount -t tmpfs]`, fn);
  },
};

let root = '';
let mnt = '';
const mounted: string[] = [];
const cleanups: (() => unknown)[] = [];

async function mountTmpfs(dir: string, size: string): Promise<void> {
  await exec('mount', ['-t', 'tmpfs', '-o', `size=${size}`, 'tmpfs', dir], { timeout: 10_000 });
  mounted.push(dir);
}

beforeAll(async () => {
  if (!canMount) return;
  root = mkdtempSync(path.join(tmpdir(), 'ls-full-disk-'));
  mnt = path.join(root, 'disk');
  rmSync(mnt, { force: true, recursive: true });
  await exec('mkdir', ['-p', mnt]);
  await mountTmpfs(mnt, '1m');
});
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});
afterAll(async () => {
  for (const dir of mounted.splice(0).reverse()) await exec('umount', [dir], { timeout: 10_000 }).catch(() => exec('umount', ['-l', dir]));
  if (root) rmSync(root, { recursive: true, force: true });
});

/** Fills the disk with a file until `leaveBytes` stay free; returns its path. */
function fillDisk(dir: string, leaveBytes: number): string {
  const s = statfsSync(dir);
  const free = s.bavail * s.bsize;
  const file = path.join(dir, 'filler.bin');
  writeFileSync(file, Buffer.alloc(Math.max(0, free - leaveBytes)));
  return file;
}

function registry(): AdapterRegistry {
  const r = new AdapterRegistry();
  for (const def of ADAPTERS) r.register(def);
  return r.freeze();
}

function lineConfig(storePath: string): LineConfig {
  const adapters = registry();
  const schema = buildLineSchema(adapters.optionsSchema('source'), adapters.optionsSchema('sink'), adapters.optionsSchema('service'));
  const parsed = schema.parse({
    line: 'full-disk',
    store: { path: storePath, freeSpace: { warnMB: 0.5, minMB: 0.25, everySeconds: 0.05 }, retryEverySeconds: 0.05 },
    stations: [
      {
        name: 'surface',
        recipe: 'panel-A',
        source: { type: 'synthetic', scene: 'surface', seed: 7, defectRate: 0 },
        trigger: { mode: 'software' },
        models: [{ manifest: path.join(MODELS, 'surface-anomaly/model.yaml') }],
        sinks: [{ type: 'log', level: 'debug' }],
      },
    ],
  });
  return { ...(parsed as object), file: path.join(root, 'line.yaml'), dir: root } as LineConfig;
}

async function bootLine(storePath: string) {
  const line = await LineRuntime.boot(lineConfig(storePath), { registry: registry(), log });
  cleanups.push(() => line.stop(1000));
  await line.start();
  const station = line.station('surface')!;
  /** One part, triggered and awaited: the result the station reported for it. */
  const part = async (partId: string): Promise<InspectionResult> => {
    let decided!: (r: InspectionResult | null) => void;
    const done = new Promise<InspectionResult | null>((r) => (decided = r));
    expect(station.trigger({ partId, origin: 'test', onDecided: (r) => decided(r) })).toEqual({ accepted: true });
    const r = await withDeadline(done, 30_000, `part ${partId} to be decided`);
    if (r === null) throw new Error(`part ${partId} produced no result`);
    return r;
  };
  return { line, station, part };
}

describe('a full disk under the store (real tmpfs)', () => {
  tmpfs.it(
    'keeps the line running: the part in flight is NOK STORE_FAILED, the guard marks the disk, recovery once space returns',
    async () => {
      const unhandled: unknown[] = [];
      const onUnhandled = (err: unknown) => unhandled.push(err);
      process.on('unhandledRejection', onUnhandled);
      cleanups.push(() => process.off('unhandledRejection', onUnhandled));
      const { line, station, part } = await bootLine(path.join(mnt, 'results.sqlite'));
      await part('P-first'); // stored while there is room
      const filler = fillDisk(mnt, 48 * 1024);
      const results: InspectionResult[] = [];
      for (let i = 0; i < 300 && !line.health.stations[0]!.storeFailed; i++) results.push(await part(`P-${i}`));
      const inFlight = results.at(-1)!;
      expect(line.health.stations[0]!.storeFailed).toBe(true);
      expect(inFlight.verdict).toBe('NOK');
      expect(inFlight.reasons.at(-1)).toMatchObject({ code: 'STORE_FAILED', source: 'store' });
      expect(inFlight.reasons.at(-1)!.detail).toMatch(/SQLITE_FULL: database or disk is full/);
      expect(inFlight.sequence).toBe(line.store.lastSequence('full-disk', 'surface') + 1);
      expect(station.state).toBe('running');
      expect(station.counters.nok).toBeGreaterThanOrEqual(1);

      // The line keeps inspecting: every part while the disk is full is reported NOK STORE_FAILED.
      const during = await part('P-during');
      expect([during.verdict, during.reasons.at(-1)?.code, during.sequence]).toEqual(['NOK', 'STORE_FAILED', inFlight.sequence + 1]);
      await waitUntil(() => line.health.disk?.state === 'critical', { what: 'the free-space guard to read the disk as critical' });
      expect(line.health.allowsArchive).toBe(false);
      expect(line.health.stations[0]!.faults.map((f) => f.fault).sort()).toEqual(['disk-critical', 'store-failed']);

      // Space returns: the guard sees it and the store takes the held results without waiting for a part.
      rmSync(filler);
      await waitUntil(() => !line.health.stations[0]!.storeFailed, {
        what: 'the store to recover once the filler is gone',
        detail: () => JSON.stringify(line.health.stations[0]!.counters),
      });
      await waitUntil(() => line.health.disk?.state === 'ok', { what: 'the guard to read the disk as ok again' });
      expect(line.health).toMatchObject({ allowsArchive: true, stations: [{ degraded: false, held: 0 }] });
      expect(line.health.stations[0]!.counters).toMatchObject({ unstoredDelivered: 2, storedLate: 2, unstoredLost: 0, recoveries: 1 });
      expect(line.store.getBySequence('full-disk', 'surface', inFlight.sequence)?.result.reasons.at(-1)?.code).toBe('STORE_FAILED');
      const after = await part('P-after');
      expect(after.reasons.map((r) => r.code)).not.toContain('STORE_FAILED');
      expect(after.sequence).toBe(during.sequence + 1);
      expect(line.store.lastSequence('full-disk', 'surface')).toBe(after.sequence);
      expect(unhandled).toEqual([]);
    },
    120_000,
  );

  tmpfs.it('the free-space guard reads the real tmpfs: ok → low → critical and back, with hysteresis', async () => {
    const dir = path.join(root, 'guard');
    await exec('mkdir', ['-p', dir]);
    await mountTmpfs(dir, '1m');
    const guard = new DiskGuard(dir, { warnMB: 0.5, minMB: 0.25 });
    expect(await guard.check()).toBe('ok');
    const file = path.join(dir, 'filler.bin');
    writeFileSync(file, Buffer.alloc(640 * 1024)); // ≈ 384 KiB left: below warnMB
    expect(await guard.check()).toBe('low');
    writeFileSync(file, Buffer.alloc(900 * 1024)); // ≈ 124 KiB left: below minMB
    expect([await guard.check(), guard.allowsArchive()]).toEqual(['critical', false]);
    writeFileSync(file, Buffer.alloc(760 * 1024)); // ≈ 264 KiB: above minMB, not 10 % above it
    expect(await guard.check()).toBe('critical');
    writeFileSync(file, Buffer.alloc(700 * 1024)); // ≈ 324 KiB: back to low
    expect([await guard.check(), guard.allowsArchive()]).toEqual(['low', true]);
    rmSync(file);
    expect(await guard.check()).toBe('ok');
    expect(guard.counters).toMatchObject({ lowEntered: 1, criticalEntered: 1, failures: 0 });
  });

  tmpfs.it('a store on a read-only mount does not open, and says where and why', async () => {
    const dir = path.join(root, 'rw');
    const ro = path.join(root, 'ro');
    await exec('mkdir', ['-p', dir, ro]);
    await mountTmpfs(dir, '1m');
    new ResultStore(path.join(dir, 'results.sqlite')).close();
    await exec('mount', ['--bind', dir, ro]);
    mounted.push(ro);
    await exec('mount', ['-o', 'remount,bind,ro', ro]);
    const file = path.join(ro, 'results.sqlite');
    expect(() => new ResultStore(file)).toThrow(`LS_ERR_STORE_FAILED: cannot open the result store at ${file}: unable to open database file`);
  });
});
