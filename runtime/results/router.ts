/**
 * Where a decided result goes: written once to SQLite together with one outbox row per durable sink (in the
 * same transaction), then handed in memory to the durable sinks' dispatchers (runtime/store/outbox.ts: a
 * caught-up sink never reads it back) and the best-effort sinks are called.
 * Nothing here waits for a PLC: a dead PLC grows the outbox, it never stalls the frame path.
 *
 * A failed append never throws out of here (docs/store.md "When the store fails"): the station turns degraded
 * (fault store-failed, logged once), the `store.onFailure` policy decides what the sinks hear (./store-failure.ts),
 * and every next part — and a timer while no part comes — retries by writing the held results; the first
 * success clears the fault. Sinks hear each health change through their optional `stationHealth` hook.
 */
import type { Logger } from 'pino';
import type { ResultSink } from '../adapter.ts';
import type { ResultStore, StoredResult } from '../store/sqlite-store.ts';
import type { DiskState } from '../store/disk-guard.ts';
import { OutboxDispatcher } from '../store/outbox.ts';
import type { ResultHandler, StationSelfFault } from '../pipeline/station.ts';
import { StationHealth, type StationHealthView, type StoreFailurePolicy } from '../pipeline/station-health.ts';
import type { InspectionResult } from './result.ts';
import { LatencyRecorder } from '../timing/latency-recorder.ts';
import { HeldResults, storeFailedResult, storeFault, type StoreFault } from './store-failure.ts';

export interface ResultRouterOptions {
  /** The line YAML's `store.onFailure` (default stop-line). */
  readonly onFailure?: StoreFailurePolicy;
  /** While the store fails and no part comes, retry this often (default 5 s; an unref'd timer). */
  readonly retryEverySeconds?: number;
}

/**
 * Gives a station's sink a line-wide outbox key (`station/name`: sink names are unique per station only) and
 * times each delivery, so every sink has its own p50/p99 beside the frame-path stages.
 */
class StationSink implements ResultSink {
  readonly type: string;
  readonly name: string;
  readonly durable: boolean;
  readonly latency: LatencyRecorder;
  readonly outbox: ResultSink['outbox'];
  private readonly inner: ResultSink;
  constructor(inner: ResultSink, station: string) {
    this.inner = inner;
    this.type = inner.type;
    this.name = `${station}/${inner.name}`;
    this.durable = inner.durable;
    this.outbox = inner.outbox;
    this.latency = new LatencyRecorder(this.name);
  }
  interrupt(): void {
    this.inner.interrupt?.();
  }
  stationHealth(h: StationHealthView): void {
    this.inner.stationHealth?.(h);
  }
  open(): Promise<void> {
    return this.inner.open();
  }
  async deliver(r: InspectionResult): Promise<void> {
    const t0 = performance.now();
    await this.inner.deliver(r);
    this.latency.record(performance.now() - t0);
  }
  close(): Promise<void> {
    return this.inner.close();
  }
}

export class ResultRouter implements ResultHandler {
  readonly dispatchers: readonly OutboxDispatcher[];
  /** Delivery latency per sink (successful deliveries only). */
  readonly sinkLatency: readonly LatencyRecorder[];
  private readonly store: ResultStore;
  private readonly durableNames: readonly string[];
  private readonly direct: readonly ResultSink[];
  private readonly log: Logger;
  private readonly onDirectError: (err: unknown) => void;
  private readonly named: readonly StationSink[];
  private readonly healthModel: StationHealth;
  private readonly healthListeners: ((health: StationHealthView) => void)[] = [];
  private readonly held: HeldResults;
  private readonly retryMs: number;
  private retryTimer: NodeJS.Timeout | null = null;
  /** The store error behind the active store-failed fault. */
  private fault: StoreFault | null = null;
  private closed = false;

  constructor(store: ResultStore, station: string, sinks: readonly ResultSink[], log: Logger, options: ResultRouterOptions = {}) {
    this.store = store;
    this.log = log;
    this.healthModel = new StationHealth(station, options.onFailure ?? 'stop-line');
    this.held = new HeldResults(log);
    this.retryMs = Math.max(1, (options.retryEverySeconds ?? 5) * 1000);
    const named = sinks.map((s) => new StationSink(s, station));
    this.named = named;
    this.sinkLatency = named.map((s) => s.latency);
    this.dispatchers = named.filter((s) => s.durable).map((sink) => new OutboxDispatcher({ store, sink, log, ...sink.outbox }));
    this.durableNames = this.dispatchers.map((d) => d.sink.name);
    this.direct = named.filter((s) => !s.durable);
    this.onDirectError = (err: unknown) => this.log.warn({ err }, 'best-effort sink failed');
  }

  /** Replays whatever a previous run left pending, then follows new results. */
  start(): void {
    for (const d of this.dispatchers) d.start();
  }

  /** The station's health: active faults, the policy and its counters. */
  get health(): StationHealthView {
    return this.healthModel.view(this.held.length);
  }

  /** Hears every health change after the sinks have (services: the MES server's state machines). */
  onHealth(listener: (health: StationHealthView) => void): void {
    this.healthListeners.push(listener);
  }

  /** The station's own faults (camera lost, inspections failing) join its health; sinks and services hear it. */
  reportFault(fault: StationSelfFault, active: boolean, detail: string): void {
    const changed = active ? this.healthModel.raise(fault, detail) : this.healthModel.clear(fault);
    if (!changed) return;
    if (active) this.log.error({ fault, detail }, 'station fault raised');
    else this.log.info({ fault, detail }, 'station fault cleared');
    this.publishHealth();
  }

  /**
   * Stores and delivers one decided result; returns the result the sinks were given — under stop-line with a
   * failing store, a NOK STORE_FAILED replacement. Never throws for a store failure.
   */
  handle(result: InspectionResult): InspectionResult {
    if (this.fault !== null && !this.retry()) return this.deliverUnstored(result, this.fault);
    let stored: StoredResult;
    try {
      stored = this.store.appendStored(result, this.durableNames);
    } catch (err) {
      return this.deliverUnstored(result, this.enterFailed(err));
    }
    // The committed result goes to each dispatcher in memory; one that is behind replays from SQLite instead.
    for (const d of this.dispatchers) d.offer(stored);
    for (const s of this.direct) s.deliver(result).catch(this.onDirectError);
    return result;
  }

  /**
   * While the store fails: writes the held results now (every part does this first; so do a timer and the disk
   * guard's recovery) — the oldest alone first, a cheap probe, then the rest. True when the store took them all,
   * which clears the fault; true too when it is healthy.
   */
  retry(): boolean {
    if (this.fault === null) return true;
    if (this.closed) return false;
    const c = this.healthModel.counters;
    const before = c.storedLate;
    for (const count of [1, Infinity]) {
      const batch = this.held.results.slice(0, count);
      let stored: number;
      try {
        stored = this.store.storeLate(batch);
      } catch (err) {
        c.storeFailures++;
        this.fault = storeFault(err, this.store.path);
        return false;
      }
      c.storedLate += stored;
      c.unstoredLost += batch.length - stored; // their sequence was taken (see ResultStore.reserveSequence)
      this.held.drop(batch.length);
    }
    this.recover(c.storedLate - before);
    return true;
  }

  /** The line's disk guard changed state (runtime/store/disk-guard.ts): mirrored as a station fault. */
  diskState(state: DiskState): void {
    const h = this.healthModel;
    const changed = [
      state === 'low' ? h.raise('disk-low', 'store disk below store.freeSpace.warnMB') : h.clear('disk-low'),
      state === 'critical' ? h.raise('disk-critical', 'store disk below store.freeSpace.minMB; archiving stopped') : h.clear('disk-critical'),
    ];
    if (changed.some(Boolean)) this.publishHealth();
    if (state !== 'critical') this.retry();
  }

  /** Waits up to `timeoutMs` for the durable sinks to catch up, then stops them; the rest stays in the outbox. */
  async close(timeoutMs: number): Promise<void> {
    this.stopRetryTimer();
    if (this.fault !== null && !this.closed && !this.retry()) {
      const lost = this.held.release().length;
      this.healthModel.counters.unstoredLost += lost;
      this.log.error({ lost, path: this.store.path }, 'results delivered while the store failed were never stored');
    }
    this.closed = true;
    const timeout = new Promise<void>((r) => setTimeout(r, timeoutMs).unref());
    await Promise.race([Promise.allSettled(this.dispatchers.map((d) => d.drained())), timeout]);
    await Promise.all(this.dispatchers.map((d) => d.close()));
  }

  private enterFailed(err: unknown): StoreFault {
    const fault = storeFault(err, this.store.path);
    this.fault = fault;
    const h = this.healthModel;
    h.counters.storeFailures++;
    h.raise('store-failed', `${fault.sqliteCode ?? 'error'}: ${fault.cause}`);
    this.log.error(
      { err, path: fault.path, sqliteCode: fault.sqliteCode, cause: fault.cause, policy: h.policy },
      h.policy === 'stop-line'
        ? 'result store failed: station degraded, every part is NOK STORE_FAILED until the store takes results again'
        : 'result store failed: station degraded, results are delivered without being stored until the store takes them again',
    );
    this.retryTimer = setInterval(() => this.retry(), this.retryMs);
    this.retryTimer.unref(); // a failing store must not keep the process alive on its own
    this.publishHealth(); // before the part is delivered: the PLC sees the error with the NOK
    return fault;
  }

  private recover(storedLate: number): void {
    const h = this.healthModel;
    const since = h.get('store-failed')?.since;
    h.clear('store-failed');
    this.fault = null;
    this.stopRetryTimer();
    this.log.info({ path: this.store.path, since, storedLate, counters: { ...h.counters } }, 'result store recovered: station no longer degraded');
    this.publishHealth();
  }

  private deliverUnstored(result: InspectionResult, fault: StoreFault): InspectionResult {
    const out = this.healthModel.policy === 'stop-line' ? storeFailedResult(result, fault) : result;
    out.sequence = this.store.reserveSequence(result.line, result.station);
    const c = this.healthModel.counters;
    c.unstoredDelivered++;
    c.unstoredLost += this.held.hold(out);
    if (this.log.isLevelEnabled('debug'))
      this.log.debug({ sequence: out.sequence, verdict: out.verdict, partId: out.partId }, 'result delivered unstored');
    for (const d of this.dispatchers) d.offerUnstored(out);
    for (const s of this.direct) s.deliver(out).catch(this.onDirectError);
    return out;
  }

  private publishHealth(): void {
    const view = this.health;
    for (const s of this.named) {
      try {
        s.stationHealth(view);
      } catch (err) {
        this.log.warn({ err, sink: s.name }, 'sink failed to take the station health');
      }
    }
    for (const l of this.healthListeners) l(view);
  }

  private stopRetryTimer(): void {
    if (this.retryTimer !== null) clearInterval(this.retryTimer);
    this.retryTimer = null;
  }
}
