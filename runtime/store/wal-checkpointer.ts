/**
 * Moves WAL checkpoints off the frame path. With SQLite's default auto-checkpoint, the commit that crosses
 * 1000 WAL pages copies them into the database and fsyncs, synchronously, inside `append` — the store's p99
 * spikes. Here a worker thread with its own connection runs PASSIVE checkpoints (which never block writers)
 * on a timer; the main connection keeps a large auto-checkpoint only as a backstop should the worker die.
 * bench/store.bench.ts measures append latency with and without it.
 *
 * The worker's body is wal-checkpointer-body.ts (started through runtime/worker/spawn-worker.ts); the state
 * word and messages both sides use are typed below. The state word lets `stop()` stay synchronous and short:
 *   STARTING → OPEN      the worker claims it (compare-and-swap) just before it opens its connection;
 *   STARTING → CANCELLED stop() came first (a store opened and closed at once): the worker never opens one
 *                        and ends by itself once started, and stop() returns without waiting for it;
 *   OPEN → CLOSED        the worker closed its connection after 'stop' (or failed to open it); stop() waits
 *                        for this, at most STOP_WAIT_MS.
 */
import type { Worker } from 'node:worker_threads';
import { spawnWorker } from '../worker/spawn-worker.ts';

/** Auto-checkpoint threshold left on the writing connection (pages of 4 KiB ≈ 40 MB of WAL). */
export const BACKSTOP_AUTOCHECKPOINT_PAGES = 10_000;

/** Values of the shared state word (Int32Array over a SharedArrayBuffer, index 0). */
export const CheckpointerState = { STARTING: 0, OPEN: 1, CANCELLED: 2, CLOSED: 3 } as const;

export interface CheckpointerWorkerData {
  readonly path: string;
  readonly periodMs: number;
  readonly state: Int32Array;
}

/** Main → worker. */
export type ToCheckpointer = 'stop';
/** Worker → main: a checkpoint or the connection failed (the backstop auto-checkpoint still runs). */
export type FromCheckpointer = { readonly type: 'error'; readonly message: string };

/** Longest `stop()` waits for the worker to close its connection (a checkpoint in progress finishes first). */
const STOP_WAIT_MS = 5000;

const BODY = new URL('./wal-checkpointer-body.ts', import.meta.url);

export class WalCheckpointer {
  private readonly worker: Worker;
  private readonly state = new Int32Array(new SharedArrayBuffer(4));
  lastError: string | null = null;

  constructor(dbPath: string, periodMs = 1000) {
    const workerData: CheckpointerWorkerData = { path: dbPath, periodMs, state: this.state };
    this.worker = spawnWorker(BODY, { workerData });
    this.worker.on('message', (m: FromCheckpointer) => (this.lastError = m.message));
    this.worker.on('error', (err) => (this.lastError = err.message));
    // A checkpointer must never keep the daemon (or a test) alive on its own.
    this.worker.unref();
  }

  /**
   * Synchronous on purpose, so ResultStore.close() stays synchronous: once this returns the worker's connection
   * is closed (or was never opened) and the database files can be moved or deleted.
   */
  stop(): void {
    const { STARTING, OPEN, CANCELLED } = CheckpointerState;
    // Not terminated: the thread may be loading the SQLite addon; it sees CANCELLED and ends by itself.
    if (Atomics.compareExchange(this.state, 0, STARTING, CANCELLED) === STARTING) return;
    const stop: ToCheckpointer = 'stop';
    this.worker.postMessage(stop);
    Atomics.wait(this.state, 0, OPEN, STOP_WAIT_MS);
  }
}
