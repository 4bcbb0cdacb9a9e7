/**
 * The PLC handshake profile, independent of transport: the Modbus server mode and the OPC UA sink both drive it
 * with the PLC's control bits and render its status where the PLC reads it. It follows the smart-camera
 * conventions PLC programmers already know (Cognex In-Sight fieldbus "Trigger / Trigger Ack / Inspection
 * Completed / Results Valid / Results Ack", Banner iVu status words, Omron FQ2 EXE/BUSY/FLG):
 *
 *   PLC  Trigger        ___/‾‾‾‾‾‾‾\______________________________
 *   LS   Trigger Ack    _____/‾‾‾‾‾\______________________________   follows Trigger once accepted
 *   LS   Busy           _____/‾‾‾‾‾‾‾‾‾‾‾\________________________   acquisition + inspection in flight
 *   LS   Insp.Completed ___________________/‾‾‾‾‾‾‾‾‾‾‾‾‾‾‾‾‾‾‾‾‾‾   toggles with every presented result
 *   LS   Results Valid  ___________________/‾‾‾‾‾‾‾‾‾\____________   data registers are stable while high
 *   PLC  Results Ack    ______________________________/‾‾‾‾‾\_____   rising edge releases the result
 *                                                    next buffered result shown once Ack is low again
 *
 * Results are presented one at a time in sequence order; up to `bufferDepth` results may wait (including the one
 * shown). A trigger edge is never silently lost: when triggers are disabled, the station is busy or the buffer
 * is full it is counted as missed and the Missed Trigger bit is set until the next accepted trigger.
 * Results are offered by the sink's outbox delivery (`present`), which resolves once the PLC acknowledged, so the
 * SQLite outbox, not memory, is the real buffer: a restart re-presents what the PLC had not acknowledged.
 * While the station's result store fails (`stationHealth`) the error code reads storeFailed and, under the
 * stop-line policy, Trigger Ready stays low; both clear when the store recovers.
 */
import { EventEmitter } from 'node:events';
import type { Logger } from 'pino';
import { LinesightError } from '../../../runtime/errors.ts';
import type { InspectionResult } from '../../../runtime/results/result.ts';
import type { TriggerSource, TriggerTarget } from '../../../runtime/pipeline/trigger.ts';
import type { StationHealthView } from '../../../runtime/pipeline/station-health.ts';

/** Control bits written by the PLC (bit numbers). */
export const CONTROL_BIT = {
  triggerEnable: 0,
  trigger: 1,
  resultsAck: 2,
  setPartId: 3,
  clearError: 4,
} as const;

/** Status bits written by Linesight (bit numbers). */
export const STATUS_BIT = {
  triggerReady: 0,
  triggerAck: 1,
  busy: 2,
  inspectionCompleted: 3,
  resultsValid: 4,
  error: 5,
  missedTrigger: 6,
  setPartIdAck: 7,
  resultOk: 8,
  resultNok: 9,
  bufferFull: 10,
} as const;

export type StatusField = keyof typeof STATUS_BIT;

/** Error codes in the error-code register; 0 = none. */
export const HANDSHAKE_ERROR = {
  none: 0,
  /** The PLC did not acknowledge a presented result within ackTimeoutMs. */
  ackTimeout: 1,
  /** An accepted trigger produced no result: the station reported none (frame lost, dropped), or none came within inspectionTimeoutMs. */
  inspectionTimeout: 2,
  /**
   * The station's result store refuses results (disk full, read-only, I/O error): a condition, not an event —
   * shown while it lasts (Clear Error does not clear it), gone when the store recovers. Under store.onFailure
   * stop-line every part is NOK (reason STORE_FAILED) and Trigger Ready stays low meanwhile.
   */
  storeFailed: 3,
} as const;

const bit = (n: number) => 1 << n;
const C = {
  enable: bit(CONTROL_BIT.triggerEnable),
  trigger: bit(CONTROL_BIT.trigger),
  ack: bit(CONTROL_BIT.resultsAck),
  partId: bit(CONTROL_BIT.setPartId),
  clearError: bit(CONTROL_BIT.clearError),
};

export interface HandshakeOptions {
  /** Results that may wait for the PLC, the one shown included; a trigger with this many waiting is missed. */
  readonly bufferDepth: number;
  /** false: each result is shown at once and released (Cognex with result buffering off, Banner). */
  readonly requireAck: boolean;
  /** How long a shown result may wait for Results Ack before the ack-timeout error; 0 = never. */
  readonly ackTimeoutMs: number;
  /** On ack timeout: hold = keep showing it (error bit set); release = drop Results Valid and show the next. */
  readonly onAckTimeout: 'hold' | 'release';
  /** Trigger Enable must be set by the PLC for triggers to be accepted (Cognex); false = always enabled. */
  readonly requireTriggerEnable: boolean;
  /** An accepted trigger that yields no result within this clears Busy and raises inspectionTimeout; 0 = never. */
  readonly inspectionTimeoutMs: number;
}

export const DEFAULT_HANDSHAKE: HandshakeOptions = Object.freeze({
  bufferDepth: 8,
  requireAck: true,
  ackTimeoutMs: 10_000,
  onAckTimeout: 'hold',
  requireTriggerEnable: true,
  inspectionTimeoutMs: 5_000,
});

export interface PresentedResult {
  readonly result: InspectionResult;
  /** The accepted trigger that produced it; 0 when it was not triggered by the PLC (free-run, replay). */
  readonly acquisitionId: number;
}

/** What a transport does for the handshake. */
export interface HandshakePort {
  /** Puts the result data where the PLC reads it. Called before Results Valid rises; may throw (link down). */
  writeResult(p: PresentedResult): void | Promise<void>;
  /** Status changed: render it (synchronously for a register image, coalesced for a network write). */
  publish(): void;
  /** Reads the part id the PLC wrote (on the Set Part Id edge). */
  readPartId(): string;
}

export type MissReason = 'disabled' | 'busy' | 'buffer-full';

export class HandshakeCounters {
  accepted = 0;
  missed = 0;
  missedDisabled = 0;
  missedBusy = 0;
  missedBufferFull = 0;
  pass = 0;
  fail = 0;
  presented = 0;
  acked = 0;
  ackTimeouts = 0;
  /** Released by the release-on-ack-timeout policy without an ack (still in the store). */
  unacknowledged = 0;
  inspectionTimeouts = 0;
}

export interface HandshakeEvents {
  trigger: [partId: string | null, acquisitionId: number];
  missed: [MissReason];
  ackTimeout: [sequence: number];
  released: [sequence: number, acked: boolean];
}

interface Awaiting {
  readonly sequence: number;
  readonly done: Promise<void>;
  readonly resolve: () => void;
  readonly reject: (err: unknown) => void;
}

export class PlcHandshake extends EventEmitter<HandshakeEvents> implements TriggerSource {
  readonly options: HandshakeOptions;
  readonly counters = new HandshakeCounters();
  /** Accepted triggers, uint32 wrapping. */
  acquisitionId = 0;
  /** The last event error (ack timeout, inspection timeout); Clear Error resets it. */
  private eventError: number = HANDSHAKE_ERROR.none;
  /** The station's store fails (stationHealth): error code storeFailed while it lasts. */
  private storeFailed = false;
  /** Store failing under stop-line: Trigger Ready stays low. */
  private stopLine = false;
  /** The result whose data the PLC sees now (stays after release until the next one). */
  shown: PresentedResult | null = null;
  private readonly port: HandshakePort;
  private readonly log: Logger | undefined;
  private control = 0;
  private triggerAck = false;
  private inFlight = 0;
  private inspectionCompleted = false;
  private resultsValid = false;
  private missedFlag = false;
  private setPartIdAck = false;
  private latchedPartId: string | null = null;
  /** Sequences inspected or offered and not yet released: the buffer the PLC has to work off. */
  private readonly owed = new Set<number>();
  private readonly acquisitionOf = new Map<number, number>();
  /** Shown (Results Valid) and waiting for the PLC's ack. */
  private awaiting: Awaiting | null = null;
  /** Offered by the outbox, waiting for its turn (previous release, Ack low, data write). */
  private queued: Awaiting | null = null;
  private ackLowWaiters: (() => void)[] = [];
  private ackTimer: NodeJS.Timeout | null = null;
  private inspectionTimer: NodeJS.Timeout | null = null;
  private closed = false;

  constructor(options: HandshakeOptions, port: HandshakePort, log?: Logger) {
    super();
    this.options = options;
    this.port = port;
    this.log = log;
    this.onAckTimeout = this.onAckTimeout.bind(this);
    this.onInspectionTimeout = this.onInspectionTimeout.bind(this);
  }

  get busy(): boolean {
    return this.inFlight !== 0;
  }

  get waiting(): number {
    return this.owed.size;
  }

  /** The station accepted triggers go to (bound by the composition root); null: PLC triggers count as missed. */
  private triggerTarget: TriggerTarget | null = null;
  /** Names this handshake in the trigger requests it sends (the sink's name). */
  origin = 'plc';

  bindTrigger(target: TriggerTarget): void {
    this.triggerTarget = target;
    this.port.publish();
  }

  get enabled(): boolean {
    return this.triggerTarget !== null && (!this.options.requireTriggerEnable || (this.control & C.enable) !== 0);
  }

  get triggerReady(): boolean {
    return this.enabled && !this.busy && !this.stopLine && this.owed.size < this.options.bufferDepth;
  }

  /** The error-code register: storeFailed while the store fails, else the last event error (0 = none). */
  get errorCode(): number {
    return this.storeFailed ? HANDSHAKE_ERROR.storeFailed : this.eventError;
  }

  /**
   * The station's health changed (the sink's ResultSink.stationHealth hook). A trigger given while Trigger Ready
   * is low for stop-line is still accepted: the part is inspected and answered NOK STORE_FAILED, and each such
   * part retries the store.
   */
  stationHealth(h: StationHealthView): void {
    if (this.closed || (h.storeFailed === this.storeFailed && h.stopLine === this.stopLine)) return;
    this.storeFailed = h.storeFailed;
    this.stopLine = h.stopLine;
    if (h.storeFailed) this.log?.warn({ policy: h.policy, errorCode: HANDSHAKE_ERROR.storeFailed }, 'PLC told: result store failed');
    else this.log?.info('PLC told: result store recovered');
    this.port.publish();
  }

  /** The status word, bit numbers as in STATUS_BIT. */
  get statusWord(): number {
    const v = this.shown?.result.verdict;
    return (
      (this.triggerReady ? bit(STATUS_BIT.triggerReady) : 0) |
      (this.triggerAck ? bit(STATUS_BIT.triggerAck) : 0) |
      (this.busy ? bit(STATUS_BIT.busy) : 0) |
      (this.inspectionCompleted ? bit(STATUS_BIT.inspectionCompleted) : 0) |
      (this.resultsValid ? bit(STATUS_BIT.resultsValid) : 0) |
      (this.errorCode !== 0 ? bit(STATUS_BIT.error) : 0) |
      (this.missedFlag ? bit(STATUS_BIT.missedTrigger) : 0) |
      (this.setPartIdAck ? bit(STATUS_BIT.setPartIdAck) : 0) |
      (v === 'OK' ? bit(STATUS_BIT.resultOk) : 0) |
      (v === 'NOK' ? bit(STATUS_BIT.resultNok) : 0) |
      (this.owed.size >= this.options.bufferDepth ? bit(STATUS_BIT.bufferFull) : 0)
    );
  }

  /** One status flag by name (for transports that map flags to separate Boolean nodes). */
  status(field: StatusField): boolean {
    return (this.statusWord & bit(STATUS_BIT[field])) !== 0;
  }

  /**
   * The PLC's control bits as last written; edges are detected against the previous value. `baseline` (a link
   * just came up) takes a Trigger that is already high as a level, not an edge: the part it meant has gone.
   */
  setControl(bits: number, baseline = false): void {
    if (this.closed) return;
    const prev = this.control;
    this.control = bits & 0xffff;
    const rose = this.control & ~prev & (baseline ? ~C.trigger : 0xffff);
    const fell = prev & ~this.control;
    if (rose & C.partId) {
      this.latchedPartId = this.port.readPartId() || null;
      this.setPartIdAck = true;
    }
    if (fell & C.partId) this.setPartIdAck = false;
    if (rose & C.clearError) this.eventError = HANDSHAKE_ERROR.none;
    if (rose & C.trigger) this.onTriggerEdge();
    if (fell & C.trigger) this.triggerAck = false;
    if (rose & C.ack) this.onAck();
    if (fell & C.ack) this.wakeAckLow();
    this.port.publish();
  }

  get controlWord(): number {
    return this.control;
  }

  /**
   * The station decided the part this handshake triggered (the trigger request's onDecided, in the same turn and
   * before the outbox offers it): clears Busy and counts the result as owed to the PLC.
   */
  private inspectionDone(acquisitionId: number, result: InspectionResult | null): void {
    if (this.closed || this.inFlight !== acquisitionId) return;
    this.inFlight = 0;
    this.clearInspectionTimer();
    if (result === null) {
      this.raiseNoResult(acquisitionId, 'the trigger yielded no part (frame lost, dropped or station stopped)');
      return;
    }
    this.acquisitionOf.set(result.sequence, acquisitionId);
    this.owed.add(result.sequence);
    this.port.publish();
  }

  /**
   * Shows a result to the PLC (outbox delivery) and resolves when it is released: at once without requireAck,
   * else on the PLC's Results Ack (or ack timeout with the release policy). Offering the result already shown
   * again (a retry) waits for the same release instead of toggling Inspection Completed twice.
   */
  present(result: InspectionResult): Promise<void> {
    if (this.closed) return Promise.reject(closedError());
    const seq = result.sequence;
    if (this.awaiting !== null && this.awaiting.sequence === seq) return this.awaiting.done;
    if (this.queued !== null && this.queued.sequence === seq) return this.queued.done;
    const before = this.queued ?? this.awaiting;
    const previous = before ? before.done.catch(() => {}) : Promise.resolve();
    let resolve!: () => void;
    let reject!: (err: unknown) => void;
    const done = new Promise<void>((res, rej) => {
      resolve = res;
      reject = rej;
    });
    done.catch(() => {}); // the caller gets the rejection through its own await
    const rec: Awaiting = { sequence: seq, done, resolve, reject };
    this.queued = rec;
    previous
      .then(() => this.show(rec, result))
      .catch((err: unknown) => {
        if (this.queued === rec) this.queued = null;
        reject(err);
      });
    return done;
  }

  private async show(rec: Awaiting, result: InspectionResult): Promise<void> {
    const seq = rec.sequence;
    const stale = () => this.closed || this.queued !== rec;
    this.forgetBefore(seq);
    this.owed.add(seq);
    // The PLC must drop Results Ack before a new Results Valid, or it could not see the next rising edge.
    while ((this.control & C.ack) !== 0 && this.options.requireAck && !stale()) {
      await new Promise<void>((resolve) => this.ackLowWaiters.push(resolve));
    }
    if (stale()) throw closedError();
    const presented: PresentedResult = { result, acquisitionId: this.acquisitionOf.get(seq) ?? 0 };
    await this.port.writeResult(presented); // data first; on failure nothing was flagged and the outbox retries
    if (stale()) throw closedError();
    this.acquisitionOf.delete(seq);
    this.queued = null;
    this.awaiting = rec;
    this.shown = presented;
    this.inspectionCompleted = !this.inspectionCompleted;
    this.resultsValid = true;
    this.counters.presented++;
    if (result.verdict === 'OK') this.counters.pass++;
    else this.counters.fail++;
    if (!this.options.requireAck) {
      this.release(rec, false);
      this.port.publish();
      return;
    }
    if (this.options.ackTimeoutMs > 0) {
      // eslint-disable-next-line @typescript-eslint/unbound-method -- bound in the constructor
      this.ackTimer = setTimeout(this.onAckTimeout, this.options.ackTimeoutMs);
      this.ackTimer.unref();
    }
    this.port.publish();
  }

  /** Abandons a presentation waiting for its ack (shutdown): it rejects, so the outbox keeps the result pending. */
  interrupt(): void {
    const a = this.awaiting;
    const q = this.queued;
    this.awaiting = null;
    this.queued = null;
    this.clearAckTimer();
    a?.reject(closedError());
    q?.reject(closedError());
    this.wakeAckLow();
  }

  close(): void {
    if (this.closed) return;
    this.interrupt();
    this.closed = true;
    this.clearInspectionTimer();
    this.wakeAckLow();
  }

  private onTriggerEdge(): void {
    let reason: MissReason | null = null;
    if (!this.enabled) reason = 'disabled';
    else if (this.busy) reason = 'busy';
    else if (this.owed.size >= this.options.bufferDepth) reason = 'buffer-full';
    if (reason !== null) {
      this.counters.missed++;
      if (reason === 'disabled') this.counters.missedDisabled++;
      else if (reason === 'busy') this.counters.missedBusy++;
      else this.counters.missedBufferFull++;
      this.missedFlag = true;
      this.log?.warn({ reason, missed: this.counters.missed, waiting: this.owed.size }, 'PLC trigger missed');
      this.emit('missed', reason);
      return;
    }
    this.acquisitionId = (this.acquisitionId + 1) >>> 0 || 1; // 0 means "not PLC-triggered"
    this.inFlight = this.acquisitionId;
    this.counters.accepted++;
    this.triggerAck = true;
    this.missedFlag = false;
    const partId = this.latchedPartId;
    this.latchedPartId = null; // a part id belongs to one part
    if (this.options.inspectionTimeoutMs > 0) {
      // eslint-disable-next-line @typescript-eslint/unbound-method -- bound in the constructor
      this.inspectionTimer = setTimeout(this.onInspectionTimeout, this.options.inspectionTimeoutMs);
      this.inspectionTimer.unref();
    }
    this.emit('trigger', partId, this.acquisitionId);
    const acquisitionId = this.acquisitionId;
    const outcome = this.triggerTarget?.trigger({
      partId,
      origin: this.origin,
      onDecided: (result) => this.inspectionDone(acquisitionId, result),
    });
    if (outcome !== undefined && !outcome.accepted && this.inFlight === acquisitionId) {
      this.inFlight = 0;
      this.clearInspectionTimer();
      this.raiseNoResult(acquisitionId, `the station refused the trigger (${outcome.reason})`);
    }
  }

  private onAck(): void {
    if (!this.resultsValid) return; // an ack with nothing shown changes nothing
    this.resultsValid = false;
    const a = this.awaiting;
    if (a === null) return;
    this.counters.acked++;
    if (this.eventError === HANDSHAKE_ERROR.ackTimeout) this.eventError = HANDSHAKE_ERROR.none;
    this.release(a, true);
  }

  private onAckTimeout(): void {
    this.ackTimer = null;
    const a = this.awaiting;
    if (a === null) return;
    this.counters.ackTimeouts++;
    this.eventError = HANDSHAKE_ERROR.ackTimeout;
    this.log?.warn(
      { sequence: a.sequence, ackTimeoutMs: this.options.ackTimeoutMs, policy: this.options.onAckTimeout },
      'PLC did not acknowledge the result',
    );
    this.emit('ackTimeout', a.sequence);
    if (this.options.onAckTimeout === 'release') {
      this.resultsValid = false;
      this.counters.unacknowledged++;
      this.release(a, false);
    }
    this.port.publish();
  }

  private onInspectionTimeout(): void {
    this.inspectionTimer = null;
    if (this.inFlight === 0) return;
    const acquisitionId = this.inFlight;
    this.inFlight = 0;
    this.raiseNoResult(acquisitionId, `no result within inspectionTimeoutMs ${this.options.inspectionTimeoutMs}`);
  }

  /** An accepted trigger that will yield no result: Busy is already cleared; the PLC sees the error code. */
  private raiseNoResult(acquisitionId: number, why: string): void {
    this.log?.warn({ acquisitionId, why }, 'triggered inspection produced no result');
    this.counters.inspectionTimeouts++;
    this.eventError = HANDSHAKE_ERROR.inspectionTimeout;
    this.port.publish();
  }

  private release(a: Awaiting, acked: boolean): void {
    if (this.awaiting === a) this.awaiting = null;
    this.clearAckTimer();
    this.owed.delete(a.sequence);
    a.resolve();
    this.emit('released', a.sequence, acked);
  }

  /** Results older than `seq` will not be offered any more (already delivered, or dropped by a backlog policy). */
  private forgetBefore(seq: number): void {
    for (const s of this.owed) if (s < seq) this.owed.delete(s);
    for (const s of this.acquisitionOf.keys()) if (s < seq) this.acquisitionOf.delete(s);
  }

  private wakeAckLow(): void {
    const waiters = this.ackLowWaiters.splice(0);
    for (const w of waiters) w();
  }

  private clearAckTimer(): void {
    if (this.ackTimer !== null) clearTimeout(this.ackTimer);
    this.ackTimer = null;
  }

  private clearInspectionTimer(): void {
    if (this.inspectionTimer !== null) clearTimeout(this.inspectionTimer);
    this.inspectionTimer = null;
  }
}

function closedError(): LinesightError {
  return new LinesightError('LS_ERR_SINK_DELIVERY_FAILED', 'PLC handshake closed before the PLC acknowledged the result', {});
}
