/**
 * A station's health: which faults are active and since when, and the counters of the store-failure policy.
 * The station's result router (runtime/results/router.ts) raises and clears the faults; the view below is what
 * sinks (the PLC handshake), the status line and, later, metrics read. Faults:
 *   store-failed   the result store refused an append (disk full, read-only, I/O error): the only fault that
 *                  changes what the PLC hears (store.onFailure, docs/store.md "When the store fails")
 *   disk-low       the database's disk has less than store.freeSpace.warnMB free (runtime/store/disk-guard.ts)
 *   disk-critical  less than store.freeSpace.minMB free: archiving stops, retention runs early
 *   camera-lost    the source failed to deliver a frame (not a corrupt one: the camera or its link); raised by the
 *                  station, cleared by its next frame
 *   inspection-failing  an inspection threw (a model worker failing, a hung run): raised by the station, cleared by
 *                  its next successful inspection
 * The MES server's VisionStateMachine shows store-failed, camera-lost and inspection-failing as Error.
 */

/** What a failed append means (the line YAML's `store.onFailure`). */
export type StoreFailurePolicy = 'stop-line' | 'deliver-unstored';

export type StationFault = 'store-failed' | 'disk-low' | 'disk-critical' | 'camera-lost' | 'inspection-failing';

/** The faults that stop a station producing good verdicts (the others only warn). */
export const ERROR_FAULTS: readonly StationFault[] = ['store-failed', 'camera-lost', 'inspection-failing'];

export interface ActiveFault {
  readonly fault: StationFault;
  /** When the fault was raised, ISO 8601. */
  readonly since: string;
  readonly detail: string;
}

export interface StationHealthCounters {
  /** Appends that failed (every part while the store fails, and every failed retry of a held result). */
  storeFailures: number;
  /** Results delivered to the sinks without a row in the store (NOK replacements under stop-line, true verdicts under deliver-unstored). */
  unstoredDelivered: number;
  /** Of those, written to the store later, once it recovered. */
  storedLate: number;
  /** Of those, never written: beyond the hold bound, or still held when the line stopped. */
  unstoredLost: number;
  /** Times the store-failed fault cleared. */
  recoveries: number;
}

export interface StationHealthView {
  readonly station: string;
  readonly policy: StoreFailurePolicy;
  /** Any fault active. */
  readonly degraded: boolean;
  readonly faults: readonly ActiveFault[];
  /** The store-failed fault is active. */
  readonly storeFailed: boolean;
  /** storeFailed under stop-line: every verdict is NOK STORE_FAILED and the PLC handshake drops Trigger Ready. */
  readonly stopLine: boolean;
  /** Delivered results waiting in memory to be written once the store recovers. */
  readonly held: number;
  readonly counters: Readonly<StationHealthCounters>;
}

export class StationHealth {
  readonly station: string;
  readonly policy: StoreFailurePolicy;
  readonly counters: StationHealthCounters = { storeFailures: 0, unstoredDelivered: 0, storedLate: 0, unstoredLost: 0, recoveries: 0 };
  private readonly faults = new Map<StationFault, ActiveFault>();

  constructor(station: string, policy: StoreFailurePolicy) {
    this.station = station;
    this.policy = policy;
  }

  has(fault: StationFault): boolean {
    return this.faults.has(fault);
  }

  /** The fault with its start time, or undefined. */
  get(fault: StationFault): ActiveFault | undefined {
    return this.faults.get(fault);
  }

  /** Raises `fault`; true when it was not active before (the caller logs the transition, once). */
  raise(fault: StationFault, detail: string): boolean {
    if (this.faults.has(fault)) return false;
    this.faults.set(fault, { fault, since: new Date().toISOString(), detail });
    return true;
  }

  /** Clears `fault`; true when it was active. */
  clear(fault: StationFault): boolean {
    if (fault === 'store-failed' && this.faults.has(fault)) this.counters.recoveries++;
    return this.faults.delete(fault);
  }

  view(held: number): StationHealthView {
    const storeFailed = this.faults.has('store-failed');
    return {
      station: this.station,
      policy: this.policy,
      degraded: this.faults.size > 0,
      faults: [...this.faults.values()],
      storeFailed,
      stopLine: storeFailed && this.policy === 'stop-line',
      held,
      counters: { ...this.counters },
    };
  }
}
