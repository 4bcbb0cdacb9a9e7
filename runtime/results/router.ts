/**
 * Where a decided result goes: written once to SQLite together with one outbox row per durable sink (in the
 * same transaction), then handed in memory to the durable sinks' dispatchers (runtime/store/outbox.ts: a
 * caught-up sink never reads it back) and the best-effort sinks are called.
 * Nothing here waits for a PLC: a dead PLC grows the outbox, it never stalls the frame path.
 */
import type { Logger } from 'pino';
import type { ResultSink } from '../adapter.ts';
import type { ResultStore } from '../store/sqlite-store.ts';
import { OutboxDispatcher } from '../store/outbox.ts';
import type { ResultHandler } from '../pipeline/station.ts';
import type { InspectionResult } from './result.ts';
import { LatencyRecorder } from '../timing/latency-recorder.ts';

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

  constructor(store: ResultStore, station: string, sinks: readonly ResultSink[], log: Logger) {
    this.store = store;
    this.log = log;
    const named = sinks.map((s) => new StationSink(s, station));
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

  handle(result: InspectionResult): InspectionResult {
    const stored = this.store.appendStored(result, this.durableNames);
    // The committed result goes to each dispatcher in memory; one that is behind replays from SQLite instead.
    for (const d of this.dispatchers) d.offer(stored);
    for (const s of this.direct) s.deliver(result).catch(this.onDirectError);
    return result;
  }

  /** Waits up to `timeoutMs` for the durable sinks to catch up, then stops them; the rest stays in the outbox. */
  async close(timeoutMs: number): Promise<void> {
    const timeout = new Promise<void>((r) => setTimeout(r, timeoutMs).unref());
    await Promise.race([Promise.allSettled(this.dispatchers.map((d) => d.drained())), timeout]);
    await Promise.all(this.dispatchers.map((d) => d.close()));
  }
}
