/**
 * Store retention: keeps the results table (and its outbox rows) within an age, a count and a size on an edge
 * disk. Oldest first (by row id, which is append order), in small transactions with an event-loop turn between
 * them, on an unref'd timer — never on the frame path. Never removes:
 * - a result still owed to a sink (any outbox row with delivered_at NULL), however old — it is skipped, the
 *   results after it are still eligible, so a sink that is gone for good cannot stop retention;
 * - the newest result of each (line, station): the next sequence is MAX(sequence) + 1, so removing it would
 *   hand a PLC a sequence it has already seen.
 * Size is what SQLite reports in use: (page_count − freelist_count) × page_size of the main database, WAL file
 * excluded. Freed pages go on the freelist and are reused by later appends; the file does not shrink (no
 * auto_vacuum), so maxSizeMB caps growth, it does not give disk back.
 */
import { setImmediate as nextTurn } from 'node:timers/promises';
import type Database from 'better-sqlite3';
import type { Logger } from 'pino';

export interface RetentionOptions {
  /** Remove results decided more than this many days ago. */
  readonly maxAgeDays?: number | undefined;
  /** Keep at most this many results (oldest removed first). */
  readonly maxResults?: number | undefined;
  /** Keep the database's used pages under this many MiB (1 MB = 1 048 576 bytes here). */
  readonly maxSizeMB?: number | undefined;
  /** Period of the retention timer (default 60). */
  readonly everySeconds?: number | undefined;
}

export interface RetentionCounters {
  /** Completed retention passes (timer or pruneNow). */
  runs: number;
  removed: number;
  removedByAge: number;
  removedByCount: number;
  removedBySize: number;
  /** Results past a limit that were kept because a sink is still owed them (summed over runs). */
  keptOwed: number;
  /** Passes that failed (logged; the next tick tries again). */
  failures: number;
}

export interface PruneReport {
  readonly removed: number;
  readonly byAge: number;
  readonly byCount: number;
  readonly bySize: number;
  /** Results past a limit kept because a sink is still owed them. */
  readonly keptOwed: number;
  /** Used bytes before and after ((page_count − freelist_count) × page_size). */
  readonly sizeBeforeBytes: number;
  readonly sizeAfterBytes: number;
  /** Longest synchronous stretch of the pass (one batch: scan + delete transaction), in ms. */
  readonly maxBatchMs: number;
}

/** Rows looked at per transaction; also the most removed per transaction. */
const SCAN_BATCH = 64;
const DAY_MS = 86_400_000;
const MIB = 1024 * 1024;

interface Candidate {
  id: number;
  decided_at: string;
  owed: number;
  newest: number;
}

/** Used by ResultStore; not constructed elsewhere. `db` stays owned by the store. */
export class StoreRetention {
  readonly counters: RetentionCounters = { runs: 0, removed: 0, removedByAge: 0, removedByCount: 0, removedBySize: 0, keptOwed: 0, failures: 0 };
  private readonly db: Database.Database;
  private readonly options: RetentionOptions;
  private readonly log: Logger | undefined;
  private readonly stmt: ReturnType<typeof prepare>;
  private readonly removeTxn: (ids: readonly number[]) => void;
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<PruneReport> | null = null;
  private stopped = false;
  /** Rows in `results`, counted once on the first pass that needs it, then kept up to date by the store. */
  private count: number | null = null;
  /** keptOwed of the previous pass: the warning is logged when results start being kept, not every pass. */
  private lastKeptOwed = 0;

  constructor(db: Database.Database, options: RetentionOptions, log?: Logger) {
    this.db = db;
    this.options = options;
    this.log = log;
    this.stmt = prepare(db);
    const s = this.stmt;
    const txn = db.transaction((ids: readonly number[]) => {
      for (const id of ids) {
        s.deleteOutbox.run(id);
        s.deleteResult.run(id);
      }
    });
    this.removeTxn = (ids) => txn.immediate(ids);
  }

  /** True when at least one limit is set. */
  get enabled(): boolean {
    const o = this.options;
    return o.maxAgeDays !== undefined || o.maxResults !== undefined || o.maxSizeMB !== undefined;
  }

  start(): void {
    if (!this.enabled || this.timer !== null || this.stopped) return;
    const periodMs = Math.max(1, (this.options.everySeconds ?? 60) * 1000);
    this.timer = setInterval(() => {
      if (this.running !== null) return; // the previous pass is still going: skip this tick
      this.pruneNow().catch(() => {}); // logged and counted inside
    }, periodMs);
    this.timer.unref(); // retention must never keep the daemon (or a test) alive
  }

  /** The store appended a result. */
  appended(): void {
    if (this.count !== null) this.count++;
  }

  /** Bytes in use by the main database file, as SQLite reports it. */
  usedBytes(): number {
    const pages = this.stmt.pageCount.get() as number;
    const free = this.stmt.freelistCount.get() as number;
    const size = this.stmt.pageSize.get() as number;
    return (pages - free) * size;
  }

  /** One retention pass now (the timer calls it too). A pass already running is joined, not doubled. */
  pruneNow(): Promise<PruneReport> {
    if (this.running !== null) return this.running;
    const run = this.pass().finally(() => {
      this.running = null;
    });
    this.running = run;
    return run;
  }

  /** Stops the timer and waits for a pass in progress to stop at its next batch boundary. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
    await this.running?.catch(() => {});
  }

  /** Stops the timer; a pass in progress stops before its next batch. Synchronous, for ResultStore.close(). */
  stopSync(): void {
    this.stopped = true;
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
  }

  private async pass(): Promise<PruneReport> {
    const o = this.options;
    const report = { removed: 0, byAge: 0, byCount: 0, bySize: 0, keptOwed: 0, sizeBeforeBytes: 0, sizeAfterBytes: 0, maxBatchMs: 0 };
    try {
      report.sizeBeforeBytes = this.usedBytes();
      const ageCutoff = o.maxAgeDays === undefined ? null : Date.now() - o.maxAgeDays * DAY_MS;
      let ageDone = ageCutoff === null;
      const maxBytes = o.maxSizeMB === undefined ? null : o.maxSizeMB * MIB;
      if (o.maxResults !== undefined || maxBytes !== null) this.count ??= this.stmt.countResults.get() as number;
      let after = 0;
      let t0 = performance.now();
      for (;;) {
        if (this.stopped) break;
        const count = this.count ?? 0;
        let byCount = o.maxResults === undefined ? 0 : Math.max(0, count - o.maxResults);
        let bySize = 0;
        if (maxBytes !== null) {
          const used = this.usedBytes();
          if (used > maxBytes && count > 0) bySize = Math.max(1, Math.ceil((used - maxBytes) / (used / count)));
        }
        if (ageDone && byCount === 0 && bySize === 0) break;
        const rows = this.stmt.candidates.all(after, SCAN_BATCH) as Candidate[];
        if (rows.length === 0) break;
        const ids: number[] = [];
        let processed = 0;
        for (const row of rows) {
          // Oldest first: the first result inside the age limit ends age-based removal for this pass.
          if (!ageDone && !(Date.parse(row.decided_at) < (ageCutoff as number))) ageDone = true;
          const reason = !ageDone ? 'age' : byCount > 0 ? 'count' : bySize > 0 ? 'size' : null;
          if (reason === null) break; // this batch's share is chosen; re-measure before the next
          processed++;
          after = row.id;
          if (row.owed !== 0 || row.newest !== 0) {
            if (row.owed !== 0) report.keptOwed++;
            continue;
          }
          ids.push(row.id);
          if (reason === 'age') report.byAge++;
          else if (reason === 'count') {
            report.byCount++;
            byCount--;
          } else {
            report.bySize++;
            bySize--;
          }
        }
        if (ids.length > 0) {
          this.removeTxn(ids);
          report.removed += ids.length;
          if (this.count !== null) this.count -= ids.length;
        }
        if (processed === rows.length && rows.length < SCAN_BATCH) break; // end of the table
        report.maxBatchMs = Math.max(report.maxBatchMs, performance.now() - t0);
        await nextTurn(); // let frames through between transactions
        t0 = performance.now();
      }
      // A store closed mid-pass (stopSync) has no connection left to measure.
      report.sizeAfterBytes = this.stopped ? report.sizeBeforeBytes : this.usedBytes();
    } catch (err) {
      this.counters.failures++;
      this.log?.error({ err, removedSoFar: report.removed }, 'store retention pass failed');
      throw err;
    }
    const c = this.counters;
    c.runs++;
    c.removed += report.removed;
    c.removedByAge += report.byAge;
    c.removedByCount += report.byCount;
    c.removedBySize += report.bySize;
    c.keptOwed += report.keptOwed;
    if (report.removed > 0 || report.keptOwed > 0) {
      this.log?.info(
        { ...report, maxAgeDays: o.maxAgeDays, maxResults: o.maxResults, maxSizeMB: o.maxSizeMB },
        'store retention removed old results',
      );
    }
    if (report.keptOwed > 0 && this.lastKeptOwed === 0) {
      this.log?.warn({ keptOwed: report.keptOwed }, 'store retention kept results past its limits because a sink is still owed them');
    }
    this.lastKeptOwed = report.keptOwed;
    return report;
  }
}

function prepare(db: Database.Database) {
  return {
    pageCount: db.prepare('PRAGMA page_count').pluck(),
    freelistCount: db.prepare('PRAGMA freelist_count').pluck(),
    pageSize: db.prepare('PRAGMA page_size').pluck(),
    countResults: db.prepare('SELECT COUNT(*) FROM results').pluck(),
    // outbox_result (migration 2) makes the owed check and the outbox delete index lookups.
    candidates: db.prepare(`SELECT r.id, r.decided_at,
        EXISTS (SELECT 1 FROM outbox o WHERE o.result_id = r.id AND o.delivered_at IS NULL) AS owed,
        r.sequence = (SELECT MAX(r2.sequence) FROM results r2 WHERE r2.line = r.line AND r2.station = r.station) AS newest
      FROM results r WHERE r.id > ? ORDER BY r.id LIMIT ?`),
    deleteOutbox: db.prepare('DELETE FROM outbox WHERE result_id = ?'),
    deleteResult: db.prepare('DELETE FROM results WHERE id = ?'),
  };
}
