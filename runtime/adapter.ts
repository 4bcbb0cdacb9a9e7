/**
 * The three adapter contracts. An adapter folder (adapters/<kind>/<type>/index.ts) default-exports
 * `defineAdapter({ kind, type, schema, create })`; runtime/registry.ts collects them.
 */
import type { z } from 'zod';
import type { Logger } from 'pino';
import type { InspectionResult } from './results/result.ts';
import type { TriggerSource } from './pipeline/trigger.ts';
import type { StationHealthView } from './pipeline/station-health.ts';
import type { Station } from './pipeline/station.ts';
import type { RecipeBook } from './pipeline/recipe-book.ts';
import type { FrameSource } from './frame/frame-source.ts';
import type { ResultStore } from './store/sqlite-store.ts';

export type { FrameSource } from './frame/frame-source.ts';

/**
 * Where results go. `deliver` resolves once the receiver has the result and throws when it has not; the
 * outbox retries a durable sink in order until it succeeds. A sink must tolerate a result it has already
 * delivered being offered again after a restart (at-least-once).
 */
export interface ResultSink {
  readonly type: string;
  readonly name: string;
  /** Durable sinks go through the SQLite outbox; others get a best-effort call. */
  readonly durable: boolean;
  open(): Promise<void>;
  deliver(result: InspectionResult): Promise<void>;
  /**
   * Optional: make a delivery that waits on the receiver (a PLC acknowledgement) reject now. The outbox calls it
   * on close so shutdown never waits for a PLC; the rejected result stays pending and is offered again later.
   */
  interrupt?(): void;
  /** Optional per-sink outbox settings (backlog bound); the router passes them to the sink's dispatcher. */
  readonly outbox?: OutboxSinkOptions;
  /**
   * Declared by a sink that also receives triggers from its peer (a PLC handshake). A station whose trigger is
   * `{ mode: plc, via: <this sink's name> }` is bound to it at boot (runtime/pipeline/trigger.ts); a sink
   * without it cannot be named in `via`.
   */
  readonly triggers?: TriggerSource;
  /**
   * Optional: the station's health changed (runtime/pipeline/station-health.ts) — the result store failed or
   * recovered, the store's disk ran low. Called by the station's result router on every change, synchronously;
   * it must not throw or block. A PLC handshake shows it (error code 3 "result store failed", Trigger Ready low
   * under stop-line).
   */
  stationHealth?(health: StationHealthView): void;
  close(): Promise<void>;
}

export interface OutboxSinkOptions {
  /** Backlog above which a warning is logged once per crossing. */
  readonly maxBacklog?: number;
  /** keep: keep every result owed (warn only); drop-oldest: give up the oldest beyond maxBacklog (counted, logged). */
  readonly overflow?: 'keep' | 'drop-oldest';
}

export interface AdapterContext {
  readonly log: Logger;
  /** Directory of the line YAML, for resolving relative paths in adapter options. */
  readonly configDir: string;
  readonly line: string;
  readonly station: string;
}

/**
 * A line-wide service (the MES server): it sees every station of the line and the store. The line opens it after
 * the stations have started and does not wait for it — inspection never waits for a server's start-up; a service
 * that fails to open is logged and the line runs on without it. It is closed before the stations stop.
 */
export interface LineService {
  readonly type: string;
  readonly name: string;
  open(): Promise<void>;
  close(): Promise<void>;
}

/** One station as a service sees it: the station itself (Trigger port, controls, counters) and its result side. */
export interface StationPort {
  readonly station: Station;
  /** Its health (faults, store-failure counters) now; `onHealth` hears each change. */
  health(): StationHealthView;
  onHealth(listener: (health: StationHealthView) => void): void;
  /** The durable sinks' outboxes: name and backlog (runtime/store/outbox.ts OutboxDispatcher), for dashboards. */
  readonly dispatchers: readonly { readonly sink: { readonly name: string }; backlog(): { readonly count: number } }[];
  /** The rate StartContinuous acquires at: the free-run fps, or the trigger's `continuousFps`; null: not offered. */
  readonly continuousFps: number | null;
  /** Its recipes: list, prepare (switch), unprepare (runtime/pipeline/recipe-book.ts). */
  readonly recipes: RecipeBook;
}

export interface ServiceContext {
  readonly log: Logger;
  readonly configDir: string;
  readonly line: string;
  /** The line's configuration id (runtime/config/config-id.ts). */
  readonly configId: string;
  /** The result store's file: its folder is the line's state directory (PKI, archives). */
  readonly storeFile: string;
  readonly store: Pick<ResultStore, 'listResults' | 'getBySequence'>;
  readonly stations: readonly StationPort[];
}

export type AdapterKind = 'source' | 'sink' | 'service';

interface AdapterInstanceByKind {
  source: FrameSource;
  sink: ResultSink;
  service: LineService;
}

interface AdapterContextByKind {
  source: AdapterContext;
  sink: AdapterContext;
  service: ServiceContext;
}

export interface AdapterDefinition<K extends AdapterKind, S extends z.ZodType> {
  readonly kind: K;
  readonly type: string;
  /** Options schema; a z.object with a literal `type` field, .strict(), every field described. */
  readonly schema: S;
  create(options: z.output<S>, ctx: AdapterContextByKind[K]): AdapterInstanceByKind[K];
  /**
   * Optional: the TCP ports an instance with these options will listen on (a fixed port only: port 0 picks a free
   * one and clashes with nothing). `validate` and `run` check every listener of a line YAML against the others
   * before anything opens (cli/preflight.ts); a client's connection to a port is not a listener.
   */
  listeners?(options: z.output<S>): readonly AdapterListener[];
}

/** A TCP port an adapter listens on: `key` is the option holding the port (default `port`), for the message. */
export interface AdapterListener {
  readonly host: string;
  readonly port: number;
  /** In words, for the message: "Modbus server mode". */
  readonly what: string;
  readonly key?: string;
}

export function defineAdapter<K extends AdapterKind, S extends z.ZodType>(def: AdapterDefinition<K, S>): AdapterDefinition<K, S> {
  return Object.freeze(def);
}
