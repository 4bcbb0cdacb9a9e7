/**
 * The worker side of wal-checkpointer.ts: its own connection to the store, PASSIVE checkpoints on a timer,
 * closed on 'stop'. The state word protocol is described in wal-checkpointer.ts.
 */
import { parentPort, workerData } from 'node:worker_threads';
import Database from 'better-sqlite3';
import { CheckpointerState, type CheckpointerWorkerData, type FromCheckpointer, type ToCheckpointer } from './wal-checkpointer.ts';

const port = parentPort;
if (!port) throw new Error('wal-checkpointer-body.ts runs on a worker thread only');
const data = workerData as CheckpointerWorkerData;
const { STARTING, OPEN, CLOSED } = CheckpointerState;

function report(err: unknown): void {
  const message: FromCheckpointer = { type: 'error', message: err instanceof Error ? err.message : String(err) };
  port!.postMessage(message);
}

function closed(): void {
  Atomics.store(data.state, 0, CLOSED);
  Atomics.notify(data.state, 0);
}

if (Atomics.compareExchange(data.state, 0, STARTING, OPEN) !== STARTING) {
  port.close(); // stopped before it started: never open a connection
} else {
  let db: Database.Database | null = null;
  try {
    db = new Database(data.path);
    db.pragma('busy_timeout = 1000');
  } catch (err) {
    report(err);
    closed();
    port.close();
  }
  if (db) {
    const conn = db;
    const timer = setInterval(() => {
      try {
        conn.pragma('wal_checkpoint(PASSIVE)');
      } catch (err) {
        report(err);
      }
    }, data.periodMs);
    port.on('message', (m: ToCheckpointer) => {
      if (m !== 'stop') return;
      clearInterval(timer);
      try {
        conn.close();
      } finally {
        closed();
        port.close();
      }
    });
  }
}
