/**
 * Moves WAL checkpoints off the frame path. With SQLite's default auto-checkpoint, the commit that crosses
 * 1000 WAL pages copies them into the database and fsyncs, synchronously, inside `append` — the store's p99
 * spikes. Here a worker thread with its own connection runs PASSIVE checkpoints (which never block writers)
 * on a timer; the main connection keeps a large auto-checkpoint only as a backstop should the worker die.
 * bench/store.bench.ts measures append latency with and without it.
 */
import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';

/** Auto-checkpoint threshold left on the writing connection (pages of 4 KiB ≈ 40 MB of WAL). */
export const BACKSTOP_AUTOCHECKPOINT_PAGES = 10_000;

const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const Database = require(workerData.driver);
const db = new Database(workerData.path);
db.pragma('busy_timeout = 1000');
const timer = setInterval(() => {
  try { db.pragma('wal_checkpoint(PASSIVE)'); } catch (err) { parentPort.postMessage(String(err && err.message)); }
}, workerData.periodMs);
parentPort.on('message', (m) => {
  if (m !== 'stop') return;
  clearInterval(timer);
  db.close();
  Atomics.store(workerData.closed, 0, 1);
  Atomics.notify(workerData.closed, 0);
  parentPort.close();
});
`;

/** Longest `stop()` waits for the worker to close its connection (a checkpoint in progress finishes first). */
const STOP_WAIT_MS = 5000;

export class WalCheckpointer {
  private readonly worker: Worker;
  private readonly closed = new Int32Array(new SharedArrayBuffer(4));
  lastError: string | null = null;

  constructor(dbPath: string, periodMs = 1000) {
    const driver = createRequire(import.meta.url).resolve('better-sqlite3');
    this.worker = new Worker(WORKER_SOURCE, { eval: true, workerData: { path: dbPath, periodMs, driver, closed: this.closed } });
    this.worker.on('message', (m: string) => (this.lastError = m));
    this.worker.on('error', (err) => (this.lastError = err.message));
    // A checkpointer must never keep the daemon (or a test) alive on its own.
    this.worker.unref();
  }

  /**
   * Synchronous on purpose, so ResultStore.close() stays synchronous: once this returns the worker's connection
   * is closed and the database files can be moved or deleted.
   */
  stop(): void {
    this.worker.postMessage('stop');
    Atomics.wait(this.closed, 0, 0, STOP_WAIT_MS);
  }
}
