import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import type { Logger } from 'pino';
import { INSPECTION_ERROR } from '../decision/rules.ts';
import { LinesightError } from '../errors.ts';
import type { InspectionResult, JobRef, Verdict } from '../results/result.ts';
import { MIGRATIONS } from './migrations.ts';
import { StoreRetention, type PruneReport, type RetentionCounters, type RetentionOptions } from './retention.ts';
import { BACKSTOP_AUTOCHECKPOINT_PAGES, WalCheckpointer } from './wal-checkpointer.ts';
import { ensureStoreFolder } from './store-path.ts';
import { DiskGuard, type DiskGuardOptions } from './disk-guard.ts';

/** A result as read back from the store, with its row id (the outbox key). */
export interface StoredResult {
  readonly id: number;
  readonly result: InspectionResult;
}

/** A result still owed to one sink. */
export interface PendingResult extends StoredResult {
  readonly attempts: number;
  readonly lastError: string | null;
}

/** A query of one station's results (listResults); the optional fields narrow it, all together. */
export interface ResultFilter {
  readonly line: string;
  readonly station: string;
  readonly partId?: string | undefined;
  readonly verdict?: Verdict | undefined;
  readonly recipe?: string | undefined;
  /** Exact matches on the MES job behind the part (InspectionResult.job; OPC 40100 JobId, MeasId, ProductId, ExternalRecipeId). */
  readonly jobId?: string | undefined;
  readonly measId?: string | undefined;
  readonly productId?: string | undefined;
  readonly externalRecipeId?: string | undefined;
  /** Exact match on InspectionResult.configId (OPC 40100 InternalConfigurationId). */
  readonly configId?: string | undefined;
  /** Only results that have (`present: true`) or lack (`false`) a reason with this code. */
  readonly reason?: { readonly code: string; readonly present: boolean } | undefined;
  /** Only results with a sequence above this one (keyset paging). */
  readonly afterSequence?: number | undefined;
  /** Skips this many matches first (index paging, as OPC 40100's StartIndex). */
  readonly offset?: number | undefined;
  readonly limit: number;
}

export interface Backlog {
  readonly count: number;
  /** Age of the oldest undelivered result by its decidedAt; 0 when nothing is pending. */
  readonly oldestAgeMs: number;
}

export interface ResultStoreOptions {
  /** How long a write waits for another connection's lock before failing. */
  readonly busyTimeoutMs?: number;
  /** Checkpoint the WAL from a worker thread instead of inside commits (default true; see wal-checkpointer.ts). */
  readonly checkpointInWorker?: boolean;
  /**
   * Age, count and size limits (the line YAML's `store.retention`); without it, or without any limit set, the
   * store keeps everything. See retention.ts for what is never removed.
   */
  readonly retention?: RetentionOptions | undefined;
  /** Where retention logs what it removed. */
  readonly log?: Logger | undefined;
  /**
   * Free-space guard of the database's folder (the line YAML's `store.freeSpace`; disk-guard.ts); without it,
   * or for ':memory:', there is none. Started with the store, stopped by close().
   */
  readonly freeSpace?: Omit<DiskGuardOptions, 'log'> | undefined;
}

export interface StoreCounters {
  /** pending() queries, i.e. outbox replays reading results back from SQLite. */
  pendingQueries: number;
  /** Results read back (and JSON-parsed) by pending(). */
  pendingRows: number;
}

interface ResultRow {
  id: number;
  line: string;
  station: string;
  sequence: number;
  part_id: string | null;
  recipe: string;
  job_id: string | null;
  meas_id: string | null;
  product_id: string | null;
  external_recipe_id: string | null;
  config_id: string;
  simulated: number;
  frame_sequence: number;
  verdict: Verdict;
  reasons_json: string;
  measurements_json: string;
  defects_json: string;
  models_json: string;
  timings_json: string;
  captured_at: string;
  decided_at: string;
}

type PendingRow = ResultRow & { attempts: number; last_error: string | null };

const RESULT_COLUMNS = `r.id, r.line, r.station, r.sequence, r.part_id, r.recipe, r.job_id, r.meas_id, r.product_id,
  r.external_recipe_id, r.config_id, r.simulated, r.frame_sequence, r.verdict, r.reasons_json, r.measurements_json,
  r.defects_json, r.models_json, r.timings_json, r.captured_at, r.decided_at`;

/** The columns resultRow() fills, in its order (append, appendStored and storeLate all write through it). */
const INSERT_COLUMNS = `line, station, sequence, part_id, recipe, job_id, meas_id, product_id, external_recipe_id, config_id,
  simulated, frame_sequence, verdict, reasons_json, measurements_json, defects_json, models_json, timings_json,
  captured_at, decided_at`;
const INSERT_PLACEHOLDERS = INSERT_COLUMNS.split(',').map(() => '?');
const INSERT_VALUES = `VALUES (${INSERT_PLACEHOLDERS.join(', ')})`;

/**
 * Durable record of every result plus a per-sink outbox, in one SQLite file (WAL). `append` is the hot path: one
 * IMMEDIATE transaction over statements prepared once, so the sequence and the outbox rows commit together.
 */
export class ResultStore {
  readonly path: string;
  private readonly db: Database.Database;
  private readonly stmt: ReturnType<typeof prepareStatements>;
  readonly counters: StoreCounters = { pendingQueries: 0, pendingRows: 0 };
  private readonly appendTxn: (result: InspectionResult, sinks: readonly string[]) => { sequence: number; id: number };
  private readonly lateTxn: (results: readonly InspectionResult[]) => number;
  private closed = false;
  private readonly checkpointer: WalCheckpointer | null;
  private readonly retention: StoreRetention;
  /** Highest sequence handed out per `line\0station` in this run, stored or reserved (reserveSequence). */
  private readonly issued = new Map<string, number>();
  /** listResults statements, prepared on first use, one per combination of filters (at most 768). */
  private readonly listStatements = new Map<string, Database.Statement>();
  /** The free-space guard, when the store has `freeSpace` options and a file. */
  readonly disk: DiskGuard | null;

  constructor(path: string, options: ResultStoreOptions = {}) {
    this.path = path;
    let db: Database.Database | undefined;
    try {
      ensureStoreFolder(path); // not mkdirSync(…, { recursive: true }): it spins for ever under /proc (store-path.ts)
      db = new Database(path);
      db.pragma('journal_mode = WAL');
      // NORMAL under WAL can lose the last commits on power loss but never corrupts; fsync per part is too slow.
      db.pragma('synchronous = NORMAL');
      db.pragma(`busy_timeout = ${Math.trunc(options.busyTimeoutMs ?? 5000)}`);
      db.pragma('foreign_keys = ON');
      if (path !== ':memory:' && options.checkpointInWorker !== false) db.pragma(`wal_autocheckpoint = ${BACKSTOP_AUTOCHECKPOINT_PAGES}`);
      migrate(db, path);
      this.stmt = prepareStatements(db);
      this.retention = new StoreRetention(db, options.retention ?? {}, options.log);
    } catch (err) {
      db?.close();
      throw storeError(`cannot open the result store at ${path}: ${causeMessage(err)}`, path, 'open', err);
    }
    this.db = db;
    this.checkpointer = path !== ':memory:' && options.checkpointInWorker !== false ? new WalCheckpointer(path) : null;
    const s = this.stmt;
    const txn = this.db.transaction((result: InspectionResult, sinks: readonly string[]) => {
      // Above any sequence reserved for an unstored result in this run, so a PLC never sees one twice.
      const issued = this.issued.get(stationKey(result)) ?? 0;
      const sequence = Math.max(s.lastSequence.get(result.line, result.station) as number, issued) + 1;
      const info = s.insertResult.run(...resultRow(result, sequence));
      for (const sink of sinks) s.insertOutbox.run(info.lastInsertRowid, sink);
      return { sequence, id: Number(info.lastInsertRowid) };
    });
    // Take the write lock first: read-then-write in a deferred transaction can hit SQLITE_BUSY.
    this.appendTxn = (result, sinks) => txn.immediate(result, sinks);
    const late = this.db.transaction((results: readonly InspectionResult[]) => {
      let stored = 0;
      for (const r of results) stored += s.insertLate.run(...resultRow(r, r.sequence)).changes;
      return stored;
    });
    this.lateTxn = (results) => late.immediate(results);
    this.retention.start();
    const guarded = path !== ':memory:' && options.freeSpace !== undefined;
    this.disk = guarded ? new DiskGuard(dirname(path), { ...options.freeSpace, log: options.log }) : null;
    this.disk?.on('change', (state) => {
      if (state === 'critical' && this.retention.enabled && !this.closed) this.pruneNow().catch(() => {}); // logged by retention
    });
    this.disk?.start();
  }

  /** False while the store's disk is critically low (disk-guard.ts); the NOK image archive consults it. */
  allowsArchive(): boolean {
    return this.disk?.allowsArchive() ?? true;
  }

  /** Stores the result with the station's next sequence and queues it for each durable sink; sets result.sequence. */
  append(result: InspectionResult, durableSinks: readonly string[]): InspectionResult {
    return this.appendStored(result, durableSinks).result;
  }

  /**
   * `append`, returning the row id with the result: the outbox key the router hands to each durable sink's
   * dispatcher, so a caught-up sink gets the result from memory instead of reading it back.
   */
  appendStored(result: InspectionResult, durableSinks: readonly string[]): StoredResult {
    if (result.sequence !== 0) {
      throw new LinesightError('LS_ERR_STORE_FAILED', 'result was already stored', {
        path: this.path,
        line: result.line,
        station: result.station,
        sequence: result.sequence,
      });
    }
    const sinks = durableSinks.length > 1 ? [...new Set(durableSinks)] : durableSinks;
    let row: { sequence: number; id: number };
    try {
      row = this.appendTxn(result, sinks);
    } catch (err) {
      throw storeError('cannot append result', this.path, 'append', err, { station: result.station });
    }
    // Only after commit, so a failed append leaves the result unstored (sequence 0).
    result.sequence = row.sequence;
    this.issued.set(stationKey(result), row.sequence);
    this.retention.appended();
    return { id: row.id, result };
  }

  /**
   * The sequence for a result delivered without being stored (the store failed): the station's next one, which
   * no later append of this run will reuse. Never throws: without a known last sequence it asks SQLite, and
   * when that fails too it counts from 0 (storeLate then skips a result whose sequence is taken).
   */
  reserveSequence(line: string, station: string): number {
    const key = `${line}\0${station}`;
    let last = this.issued.get(key);
    if (last === undefined) {
      try {
        last = this.closed ? 0 : this.lastSequence(line, station);
      } catch {
        last = 0;
      }
    }
    this.issued.set(key, last + 1);
    return last + 1;
  }

  /**
   * Writes results that were delivered while the store failed, with the sequences they were delivered under
   * (reserveSequence) and no outbox rows (their sinks already had them), in one transaction. A result whose
   * sequence is already stored is skipped. Returns how many were written; throws LS_ERR_STORE_FAILED.
   */
  storeLate(results: readonly InspectionResult[]): number {
    if (results.length === 0) return 0;
    const stored = this.run('storeLate', () => this.lateTxn(results));
    for (let i = 0; i < stored; i++) this.retention.appended();
    return stored;
  }

  /**
   * Results not yet delivered to `sink`, oldest first, with a row id above `afterId`. Read back and parsed from
   * SQLite: the replay path.
   */
  pending(sink: string, limit: number, afterId = 0): PendingResult[] {
    const rows = this.run('pending', () => this.stmt.pending.all(sink, afterId, limit) as PendingRow[]);
    this.counters.pendingQueries++;
    this.counters.pendingRows += rows.length;
    return rows.map((row) => ({ id: row.id, result: rehydrate(row), attempts: row.attempts, lastError: row.last_error }));
  }

  markDelivered(sink: string, resultId: number): void {
    this.run('markDelivered', () => this.stmt.markDelivered.run(new Date().toISOString(), sink, resultId));
  }

  markFailed(sink: string, resultId: number, error: unknown): void {
    const text = error instanceof Error ? error.message : String(error);
    this.run('markFailed', () => this.stmt.markFailed.run(text.slice(0, 2000), sink, resultId));
  }

  /**
   * Gives up all but the newest `keep` pending results of `sink` (the drop-oldest backlog policy): they are marked
   * with last_error 'dropped: backlog bound' and a delivered_at time, and stay in `results`. Returns how many.
   */
  dropOldestPending(sink: string, keep: number): number {
    return this.run('dropOldestPending', () => this.stmt.dropOldest.run(new Date().toISOString(), sink, sink, keep).changes);
  }

  backlog(sink: string): Backlog {
    const row = this.run('backlog', () => this.stmt.backlog.get(sink) as { count: number; oldest: string | null });
    const oldestAgeMs = row.oldest === null ? 0 : Math.max(0, Date.now() - Date.parse(row.oldest));
    return { count: row.count, oldestAgeMs: Number.isFinite(oldestAgeMs) ? oldestAgeMs : 0 };
  }

  /** Highest sequence stored for the station, 0 when none. */
  lastSequence(line: string, station: string): number {
    return this.run('lastSequence', () => this.stmt.lastSequence.get(line, station) as number);
  }

  getBySequence(line: string, station: string, sequence: number): StoredResult | null {
    const row = this.run('getBySequence', () => this.stmt.bySequence.get(line, station, sequence) as ResultRow | undefined);
    return row === undefined ? null : { id: row.id, result: rehydrate(row) };
  }

  /** The station's results matching `filter`, oldest first by sequence. */
  listResults(filter: ResultFilter): StoredResult[] {
    const { sql, params } = listQuery(filter);
    const rows = this.run('listResults', () => {
      let stmt = this.listStatements.get(sql);
      if (stmt === undefined) this.listStatements.set(sql, (stmt = this.db.prepare(sql)));
      return stmt.all(...params) as ResultRow[];
    });
    return rows.map((row) => ({ id: row.id, result: rehydrate(row) }));
  }

  /** Runs one retention pass now (tests, and a CLI that wants one before a backup); the timer runs them too. */
  pruneNow(): Promise<PruneReport> {
    if (this.closed) return Promise.reject(storeError('pruneNow failed', this.path, 'pruneNow', new Error('store is closed')));
    return this.retention.pruneNow().catch((err: unknown) => {
      throw storeError('retention pass failed', this.path, 'pruneNow', err);
    });
  }

  /** What retention removed so far (all zero without retention limits). */
  get retentionCounters(): Readonly<RetentionCounters> {
    return this.retention.counters;
  }

  /** Bytes in use by the database, as retention measures it: (page_count − freelist_count) × page_size. */
  usedBytes(): number {
    return this.run('usedBytes', () => this.retention.usedBytes());
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.retention.stopSync();
    this.disk?.stop();
    this.checkpointer?.stop();
    this.run('close', () => this.db.close());
  }

  private run<T>(op: string, fn: () => T): T {
    try {
      return fn();
    } catch (err) {
      throw storeError(`${op} failed`, this.path, op, err);
    }
  }
}

function prepareStatements(db: Database.Database) {
  return {
    lastSequence: db.prepare('SELECT COALESCE(MAX(sequence), 0) FROM results WHERE line = ? AND station = ?').pluck(),
    insertResult: db.prepare(`INSERT INTO results (${INSERT_COLUMNS}) ${INSERT_VALUES}`),
    insertLate: db.prepare(`INSERT OR IGNORE INTO results (${INSERT_COLUMNS}) ${INSERT_VALUES}`),
    insertOutbox: db.prepare('INSERT INTO outbox (result_id, sink) VALUES (?, ?)'),
    pending: db.prepare(`SELECT ${RESULT_COLUMNS}, o.attempts, o.last_error
      FROM outbox o JOIN results r ON r.id = o.result_id
      WHERE o.sink = ? AND o.delivered_at IS NULL AND o.result_id > ? ORDER BY o.result_id LIMIT ?`),
    markDelivered: db.prepare(`UPDATE outbox SET delivered_at = ?, attempts = attempts + 1, last_error = NULL
      WHERE sink = ? AND result_id = ?`),
    markFailed: db.prepare('UPDATE outbox SET attempts = attempts + 1, last_error = ? WHERE sink = ? AND result_id = ?'),
    dropOldest: db.prepare(`UPDATE outbox SET delivered_at = ?, last_error = 'dropped: backlog bound'
      WHERE sink = ? AND delivered_at IS NULL AND result_id < (
        SELECT MIN(result_id) FROM (SELECT result_id FROM outbox WHERE sink = ? AND delivered_at IS NULL
          ORDER BY result_id DESC LIMIT ?))`),
    backlog: db.prepare(`SELECT COUNT(*) AS count,
      (SELECT r.decided_at FROM outbox o2 JOIN results r ON r.id = o2.result_id
        WHERE o2.sink = o.sink AND o2.delivered_at IS NULL ORDER BY o2.result_id LIMIT 1) AS oldest
      FROM outbox o WHERE o.sink = ? AND o.delivered_at IS NULL`),
    bySequence: db.prepare(`SELECT ${RESULT_COLUMNS} FROM results r WHERE r.line = ? AND r.station = ? AND r.sequence = ?`),
  };
}

/** The exact-match filters of ResultFilter and their columns, in the order their terms enter the SQL. */
const EXACT_FILTERS = [
  ['partId', 'part_id'],
  ['verdict', 'verdict'],
  ['recipe', 'recipe'],
  ['jobId', 'job_id'],
  ['measId', 'meas_id'],
  ['productId', 'product_id'],
  ['externalRecipeId', 'external_recipe_id'],
  ['configId', 'config_id'],
] as const satisfies readonly (readonly [keyof ResultFilter, string])[];

/**
 * The WHERE term of the results_failed partial index (migration 3), word for word: SQLite uses a partial index
 * only for a query that carries its term. A necessary condition for an INSPECTION_ERROR reason in the JSON that
 * resultRow writes, so adding it before the exact json_each check changes no answer.
 */
const FAILED_TERM = `instr(r.reasons_json, '"code":"${INSPECTION_ERROR}"') > 0`;

/**
 * Fixed SQL text per combination of filters (no value ever enters the text), and the values to bind. Exported for
 * the query-plan test (test/runtime/store/list-results.test.ts), which asserts the indexes it is meant to use.
 */
export function listQuery(f: ResultFilter): { sql: string; params: (string | number)[] } {
  const where = ['r.line = ?', 'r.station = ?', 'r.sequence > ?'];
  const params: (string | number)[] = [f.line, f.station, count(f.afterSequence)];
  const add = (clause: string, value: string | undefined) => {
    if (value === undefined) return;
    where.push(clause);
    params.push(value);
  };
  for (const [key, column] of EXACT_FILTERS) add(`r.${column} = ?`, f[key]);
  const reason = "EXISTS (SELECT 1 FROM json_each(r.reasons_json) WHERE json_extract(value, '$.code') = ?)";
  if (f.reason?.present === true && f.reason.code === INSPECTION_ERROR) where.push(FAILED_TERM);
  if (f.reason !== undefined) add(f.reason.present ? reason : `NOT ${reason}`, f.reason.code);
  params.push(count(f.limit), count(f.offset));
  return { sql: `SELECT ${RESULT_COLUMNS} FROM results r WHERE ${where.join(' AND ')} ORDER BY r.sequence LIMIT ? OFFSET ?`, params };
}

/** A non-negative integer from an optional paging number (undefined, NaN and negatives are 0). */
function count(n: number | undefined): number {
  return n === undefined || !Number.isFinite(n) ? 0 : Math.max(0, Math.trunc(n));
}

function migrate(db: Database.Database, path: string): void {
  const version = db.pragma('user_version', { simple: true }) as number;
  if (version > MIGRATIONS.length) {
    throw new LinesightError('LS_ERR_STORE_FAILED', 'store was written by a newer Linesight', {
      path,
      userVersion: version,
      known: MIGRATIONS.length,
    });
  }
  for (let v = version; v < MIGRATIONS.length; v++) {
    // Each step commits with its version bump, so a crash mid-upgrade resumes at the failed step.
    const step = MIGRATIONS[v] as string; // v < MIGRATIONS.length
    db.transaction(() => {
      db.exec(step);
      db.pragma(`user_version = ${v + 1}`);
    }).immediate();
  }
}

function rehydrate(row: ResultRow): InspectionResult {
  return {
    sequence: row.sequence,
    line: row.line,
    station: row.station,
    recipe: row.recipe,
    partId: row.part_id,
    job: jobOf(row),
    configId: row.config_id,
    simulated: row.simulated === 1,
    frameSequence: row.frame_sequence,
    verdict: row.verdict,
    reasons: JSON.parse(row.reasons_json) as InspectionResult['reasons'], // written by append from the same type
    measurements: JSON.parse(row.measurements_json) as InspectionResult['measurements'], // written by append from the same type
    defects: JSON.parse(row.defects_json) as InspectionResult['defects'], // written by append from the same type
    models: JSON.parse(row.models_json) as InspectionResult['models'], // written by append from the same type
    timings: JSON.parse(row.timings_json) as InspectionResult['timings'], // written by append from the same type
    capturedAt: row.captured_at,
    decidedAt: row.decided_at,
  };
}

/** The JobRef written by resultRow: null exactly when job_id is (the other three columns are null then too). */
function jobOf(row: ResultRow): JobRef | null {
  if (row.job_id === null) return null;
  return { jobId: row.job_id, measId: row.meas_id, productId: row.product_id, externalRecipeId: row.external_recipe_id };
}

function stationKey(r: InspectionResult): string {
  return `${r.line}\0${r.station}`;
}

function resultRow(r: InspectionResult, sequence: number) {
  return [
    r.line,
    r.station,
    sequence,
    r.partId,
    r.recipe,
    r.job?.jobId ?? null,
    r.job?.measId ?? null,
    r.job?.productId ?? null,
    r.job?.externalRecipeId ?? null,
    r.configId,
    r.simulated ? 1 : 0,
    r.frameSequence,
    r.verdict,
    JSON.stringify(r.reasons),
    JSON.stringify(r.measurements),
    JSON.stringify(r.defects),
    JSON.stringify(r.models),
    JSON.stringify(r.timings),
    r.capturedAt,
    r.decidedAt,
  ] as const;
}

function causeMessage(cause: unknown): string {
  return cause instanceof Error ? cause.message : String(cause);
}

/** LS_ERR_STORE_FAILED naming the path, the operation, SQLite's code and the cause's message (kept as `cause`). */
function storeError(detail: string, path: string, op: string, cause: unknown, extra: object = {}): LinesightError {
  if (cause instanceof LinesightError) return cause;
  const sqliteCode = (cause as { code?: unknown } | null)?.code;
  const full = detail.includes(path) ? detail : `${detail} (${path}): ${causeMessage(cause)}`;
  return new LinesightError('LS_ERR_STORE_FAILED', full, { path, op, sqliteCode, ...extra }, { cause });
}
