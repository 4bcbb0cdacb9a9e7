/**
 * Free-space guard of the store's disk. Every `everySeconds` (an unref'd timer, never on the frame path) it reads
 * the free space of the database's folder (`fs.statfs`, blocks available to the process × block size) and moves
 * between three states, with a 10 % hysteresis on the way back so a disk hovering at a threshold does not flap:
 *
 *   ok        free ≥ warnMB (back from low once free ≥ 1.1 × warnMB)
 *   low       free < warnMB: warned once; the line keeps running
 *   critical  free < minMB (back to low once free ≥ 1.1 × minMB): archiving stops (`allowsArchive()` false) and
 *             the store runs a retention pass early when retention is configured
 *
 * A failed reading (folder gone, statfs unsupported) is logged once per run of failures and counted; the state
 * stays as it was. The guard does not stop appends: SQLite reports a truly full disk itself and the station's
 * store-failure policy takes over (runtime/results/router.ts).
 */
import { EventEmitter } from 'node:events';
import { statfs } from 'node:fs/promises';
import type { Logger } from 'pino';

export type DiskState = 'ok' | 'low' | 'critical';

export interface DiskReading {
  readonly freeBytes: number;
  readonly totalBytes: number;
}

/** Reads the free space of a folder; the default is `fs.statfs`. Tests may pass another reading function. */
export type DiskReader = (dir: string) => Promise<DiskReading>;

export interface DiskGuardOptions {
  /** Below this many MiB free: state low, warned once. */
  readonly warnMB: number;
  /** Below this many MiB free: state critical, archiving stops, retention runs early. */
  readonly minMB: number;
  /** Period of the check (default 10). */
  readonly everySeconds?: number;
  readonly read?: DiskReader;
  readonly log?: Logger | undefined;
}

export interface DiskGuardCounters {
  checks: number;
  /** Readings that failed. */
  failures: number;
  lowEntered: number;
  criticalEntered: number;
}

/** What the status line shows. */
export interface DiskGuardView {
  readonly dir: string;
  readonly state: DiskState;
  /** Free bytes at the last successful reading; null before the first. */
  readonly freeBytes: number | null;
  readonly totalBytes: number | null;
  /** When the current state began, ISO 8601. */
  readonly since: string;
  readonly allowsArchive: boolean;
  readonly counters: Readonly<DiskGuardCounters>;
}

export interface DiskGuardEvents {
  change: [state: DiskState, previous: DiskState, reading: DiskReading];
}

const MIB = 1024 * 1024;
/** A state is left once free space is this much above its threshold. */
const HYSTERESIS = 1.1;

async function statfsReader(dir: string): Promise<DiskReading> {
  const s = await statfs(dir);
  return { freeBytes: Number(s.bavail) * Number(s.bsize), totalBytes: Number(s.blocks) * Number(s.bsize) };
}

/** The state for `freeBytes` coming from `state`, with hysteresis on the way up. */
export function nextDiskState(state: DiskState, freeBytes: number, warnMB: number, minMB: number): DiskState {
  const warn = warnMB * MIB;
  const min = minMB * MIB;
  if (freeBytes < min) return 'critical';
  if (state === 'critical' && freeBytes < min * HYSTERESIS) return 'critical';
  if (freeBytes < warn) return 'low';
  if (state !== 'ok' && freeBytes < warn * HYSTERESIS) return 'low';
  return 'ok';
}

export class DiskGuard extends EventEmitter<DiskGuardEvents> {
  readonly dir: string;
  readonly counters: DiskGuardCounters = { checks: 0, failures: 0, lowEntered: 0, criticalEntered: 0 };
  private readonly options: DiskGuardOptions;
  private readonly read: DiskReader;
  private readonly log: Logger | undefined;
  private current: DiskState = 'ok';
  private since = new Date().toISOString();
  private reading: DiskReading | null = null;
  private timer: NodeJS.Timeout | null = null;
  private checking: Promise<DiskState> | null = null;
  private failing = false;

  constructor(dir: string, options: DiskGuardOptions) {
    super();
    this.dir = dir;
    this.options = options;
    this.read = options.read ?? statfsReader;
    this.log = options.log;
  }

  get state(): DiskState {
    return this.current;
  }

  /** False while the disk is critical: the NOK image archive (a later issue) consults it before each write. */
  allowsArchive(): boolean {
    return this.current !== 'critical';
  }

  view(): DiskGuardView {
    return {
      dir: this.dir,
      state: this.current,
      freeBytes: this.reading?.freeBytes ?? null,
      totalBytes: this.reading?.totalBytes ?? null,
      since: this.since,
      allowsArchive: this.allowsArchive(),
      counters: { ...this.counters },
    };
  }

  /** Checks now, then every `everySeconds`. */
  start(): void {
    if (this.timer !== null) return;
    void this.check();
    const periodMs = Math.max(1, (this.options.everySeconds ?? 10) * 1000);
    this.timer = setInterval(() => void this.check(), periodMs);
    this.timer.unref(); // the guard must never keep the daemon (or a test) alive
  }

  stop(): void {
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
  }

  /** One reading now (the timer calls it too); a check in progress is joined. Never rejects. */
  check(): Promise<DiskState> {
    this.checking ??= this.readAndApply().finally(() => {
      this.checking = null;
    });
    return this.checking;
  }

  private async readAndApply(): Promise<DiskState> {
    let reading: DiskReading;
    try {
      reading = await this.read(this.dir);
    } catch (err) {
      this.counters.failures++;
      if (!this.failing) this.log?.warn({ err, dir: this.dir }, 'cannot read the free space of the store disk');
      this.failing = true;
      return this.current;
    }
    this.failing = false;
    this.counters.checks++;
    this.reading = reading;
    const previous = this.current;
    const next = nextDiskState(previous, reading.freeBytes, this.options.warnMB, this.options.minMB);
    if (next === previous) return next;
    this.current = next;
    this.since = new Date().toISOString();
    if (next === 'low' && previous === 'ok') this.counters.lowEntered++;
    if (next === 'critical') this.counters.criticalEntered++;
    this.logChange(next, previous, reading);
    this.emit('change', next, previous, reading);
    return next;
  }

  private logChange(next: DiskState, previous: DiskState, reading: DiskReading): void {
    const fields = {
      dir: this.dir,
      freeMB: Math.round((reading.freeBytes / MIB) * 10) / 10,
      warnMB: this.options.warnMB,
      minMB: this.options.minMB,
      previous,
    };
    if (next === 'critical') this.log?.error(fields, 'store disk critically low: archiving stopped, retention runs early');
    else if (next === 'low' && previous === 'ok') this.log?.warn(fields, 'store disk space low');
    else this.log?.info({ ...fields, state: next }, 'store disk space recovered');
  }
}
