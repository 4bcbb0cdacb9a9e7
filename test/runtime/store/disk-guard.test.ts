/**
 * Threshold and hysteresis logic of the free-space guard, with the reading function injected (the guard's own
 * `read` option; statfs itself is exercised on a real tmpfs in store-full-disk.test.ts), and the store's reaction
 * to a critical disk: an early retention pass on a real SQLite file.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DiskGuard, nextDiskState, type DiskReading, type DiskState } from '../../../runtime/store/disk-guard.ts';
import { ResultStore } from '../../../runtime/store/sqlite-store.ts';
import { makeResult } from '../../fakes/make-result.ts';
import { waitUntil } from '../../helpers/wait.ts';

const MIB = 1024 * 1024;

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'ls-disk-guard-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

/** A guard over a disk whose free space the test sets; records its log lines and change events. */
function guardOver(freeMB: number, options: { warnMB?: number; minMB?: number } = {}) {
  const disk = { freeMB, fail: false };
  const lines: { level: number; msg: string }[] = [];
  const log = pino({ level: 'info' }, { write: (l: string) => void lines.push(JSON.parse(l) as { level: number; msg: string }) });
  const read = (): Promise<DiskReading> =>
    disk.fail ? Promise.reject(new Error('ENOENT: no such directory')) : Promise.resolve({ freeBytes: disk.freeMB * MIB, totalBytes: 4096 * MIB });
  const guard = new DiskGuard('/data/linesight', { warnMB: options.warnMB ?? 1024, minMB: options.minMB ?? 256, read, log });
  const changes: [DiskState, DiskState][] = [];
  guard.on('change', (next, prev) => changes.push([next, prev]));
  return { disk, guard, lines, changes };
}

describe('nextDiskState', () => {
  it('goes down at the thresholds and comes back only 10 % above them', () => {
    const at = (state: DiskState, mb: number) => nextDiskState(state, mb * MIB, 1024, 256);
    expect([at('ok', 1024), at('ok', 1023.9), at('ok', 256), at('ok', 255.9)]).toEqual(['ok', 'low', 'low', 'critical']);
    expect([at('low', 1126), at('low', 1126.4), at('low', 255)]).toEqual(['low', 'ok', 'critical']);
    expect([at('critical', 256), at('critical', 281.5), at('critical', 281.6), at('critical', 5000)]).toEqual(['critical', 'critical', 'low', 'ok']);
  });
});

describe('DiskGuard', () => {
  it('warns once on low, logs an error once on critical, info on the way back; allowsArchive follows critical', async () => {
    const { disk, guard, lines, changes } = guardOver(2000);
    expect(await guard.check()).toBe('ok');
    disk.freeMB = 900;
    await guard.check();
    disk.freeMB = 800;
    await guard.check(); // still low: no second warning
    disk.freeMB = 100;
    expect([await guard.check(), guard.allowsArchive()]).toEqual(['critical', false]);
    disk.freeMB = 270;
    expect(await guard.check()).toBe('critical'); // within the hysteresis
    disk.freeMB = 300;
    expect([await guard.check(), guard.allowsArchive()]).toEqual(['low', true]);
    disk.freeMB = 1200;
    expect(await guard.check()).toBe('ok');
    expect(changes).toEqual([
      ['low', 'ok'],
      ['critical', 'low'],
      ['low', 'critical'],
      ['ok', 'low'],
    ]);
    expect(lines.map((l) => [l.level, l.msg])).toEqual([
      [40, 'store disk space low'],
      [50, 'store disk critically low: archiving stopped, retention runs early'],
      [30, 'store disk space recovered'],
      [30, 'store disk space recovered'],
    ]);
    expect(guard.counters).toMatchObject({ checks: 7, lowEntered: 1, criticalEntered: 1 });
    expect(guard.view()).toMatchObject({ state: 'ok', freeBytes: 1200 * MIB, allowsArchive: true, dir: '/data/linesight' });
  });

  it('counts a failed reading, logs it once per run of failures and keeps its state', async () => {
    const { disk, guard, lines } = guardOver(100);
    expect(await guard.check()).toBe('critical');
    disk.fail = true;
    expect([await guard.check(), await guard.check()]).toEqual(['critical', 'critical']);
    expect(guard.counters.failures).toBe(2);
    expect(lines.filter((l) => l.msg === 'cannot read the free space of the store disk')).toHaveLength(1);
  });

  it('checks on its own timer once started', async () => {
    const disk = { freeMB: 2000 };
    const guard = new DiskGuard('/data', {
      warnMB: 1024,
      minMB: 256,
      everySeconds: 0.01,
      read: () => Promise.resolve({ freeBytes: disk.freeMB * MIB, totalBytes: 0 }),
    });
    guard.start();
    try {
      await waitUntil(() => guard.counters.checks > 0, { what: 'the first check at start' });
      disk.freeMB = 10;
      await waitUntil(() => guard.state === 'critical', { what: 'the timer to read the critical disk' });
    } finally {
      guard.stop();
    }
  });
});

describe('ResultStore with a free-space guard', () => {
  it('runs retention early when the disk turns critical, and stops archiving', async () => {
    let freeMB = 2000;
    const store = new ResultStore(join(dir, 'results.sqlite'), {
      retention: { maxResults: 2, everySeconds: 3600 },
      freeSpace: { warnMB: 1024, minMB: 256, everySeconds: 3600, read: () => Promise.resolve({ freeBytes: freeMB * MIB, totalBytes: 0 }) },
    });
    try {
      for (let i = 0; i < 6; i++) store.append(makeResult(), []);
      expect(await store.disk!.check()).toBe('ok'); // the check the store started with
      expect(store.allowsArchive()).toBe(true);
      freeMB = 100;
      await store.disk!.check();
      expect(store.allowsArchive()).toBe(false);
      await waitUntil(() => store.retentionCounters.runs === 1, { what: 'the early retention pass' });
      expect(store.retentionCounters.removedByCount).toBe(4);
    } finally {
      store.close();
    }
  });

  it('has no guard for an in-memory store', () => {
    const store = new ResultStore(':memory:', { freeSpace: { warnMB: 1024, minMB: 256 } });
    expect([store.disk, store.allowsArchive()]).toEqual([null, true]);
    store.close();
  });
});
