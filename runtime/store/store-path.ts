/**
 * Checks of the store's path, made before anything opens it (`linesight validate`, and `run` before it opens the
 * simulated PLC, the sinks or the store): a clear LS_ERR_STORE_PATH naming the path and the cause instead of
 * better-sqlite3's "unable to open database file" at boot, or no answer at all.
 *
 * The folder is created one level at a time here, never with `mkdirSync(…, { recursive: true })`: on Node 20 that
 * call loops for ever at 100 % CPU when mkdir answers ENOENT for a folder whose parent exists, as /proc and /sys do
 * (mkdir /proc/x → ENOENT, so it makes the parent: /proc → EEXIST, so it tries /proc/x again, …). Each loop below
 * walks up towards the root and ends there.
 */
import { randomUUID } from 'node:crypto';
import { accessSync, closeSync, constants, mkdirSync, openSync, readSync, statSync, unlinkSync, type Stats } from 'node:fs';
import path from 'node:path';
import { LinesightError, reasonOf } from '../errors.ts';

const SQLITE_HEADER = Buffer.from('SQLite format 3\0', 'latin1');

/**
 * Throws LS_ERR_STORE_PATH unless `file` can hold the SQLite database: an existing path is a regular, readable and
 * writable SQLite file (or empty); the nearest existing folder on its way is a folder in which a file can really be
 * created (a probe file, removed at once: `access` alone passes for root on a read-only mode, and on /proc).
 * Creates nothing else; ':memory:' passes.
 */
export function checkStorePath(file: string): void {
  if (file === ':memory:') return;
  const abs = path.resolve(file);
  const folder = nearestFolder(abs);
  const st = statOrNull(abs);
  if (st) checkExistingFile(abs, st);
  probeFolder(abs, folder);
}

/**
 * Creates the store's missing folders, top down, one mkdir each (bounded by the path's depth), and throws
 * LS_ERR_STORE_PATH naming the folder and the cause when one cannot be made. ':memory:' needs none.
 */
export function ensureStoreFolder(file: string): void {
  if (file === ':memory:') return;
  const abs = path.resolve(file);
  const existing = nearestFolder(abs);
  const missing: string[] = [];
  for (let dir = path.dirname(abs); dir !== existing; dir = path.dirname(dir)) missing.unshift(dir);
  for (const dir of missing) {
    try {
      mkdirSync(dir);
    } catch (err) {
      if (errno(err) === 'EEXIST' && statOrNull(dir)?.isDirectory()) continue; // made meanwhile by someone else
      throw pathError(abs, `cannot create folder ${dir}`, err, { folder: dir });
    }
  }
}

/** Both, as `run` does before it opens the store: the folder made, then the path checked. */
export function prepareStorePath(file: string): void {
  ensureStoreFolder(file);
  checkStorePath(file);
}

/** The deepest existing ancestor folder of `abs`; a regular file (or other non-folder) on the way is an error. */
function nearestFolder(abs: string): string {
  for (let dir = path.dirname(abs); ; dir = path.dirname(dir)) {
    const st = statOrNull(dir, abs);
    if (st?.isDirectory()) return dir;
    if (st) throw pathError(abs, `${dir} is not a folder`, undefined, { folder: dir });
    if (path.dirname(dir) === dir) throw pathError(abs, `no folder of it exists, not even ${dir}`);
  }
}

function checkExistingFile(abs: string, st: Stats): void {
  if (st.isDirectory()) throw pathError(abs, 'is a directory, not a database file (name a file in it, e.g. results.sqlite)');
  if (!st.isFile()) throw pathError(abs, 'is not a regular file');
  let fd: number;
  try {
    accessSync(abs, constants.R_OK | constants.W_OK);
    fd = openSync(abs, 'r+');
  } catch (err) {
    throw pathError(abs, 'cannot be opened for reading and writing', err);
  }
  try {
    const head = Buffer.alloc(SQLITE_HEADER.length);
    const n = st.size > 0 ? readSync(fd, head, 0, head.length, 0) : 0;
    if (st.size > 0 && (n < head.length || !head.equals(SQLITE_HEADER))) throw pathError(abs, 'is not an SQLite database (another file?)');
  } finally {
    closeSync(fd);
  }
}

/** Creates and removes a probe file in `folder`: SQLite needs the database, its -wal and -shm files there. */
function probeFolder(abs: string, folder: string): void {
  const missing = path.dirname(abs) === folder ? '' : `folder ${path.dirname(abs)} cannot be created: `;
  const fail = (what: string, err: unknown) => pathError(abs, `${missing}folder ${folder} ${what}`, err, { folder });
  try {
    accessSync(folder, constants.W_OK | constants.X_OK);
  } catch (err) {
    throw fail('is not writable', err);
  }
  const probe = path.join(folder, `.linesight-probe-${process.pid}-${randomUUID().slice(0, 8)}`);
  try {
    closeSync(openSync(probe, 'wx'));
  } catch (err) {
    throw fail('takes no new file', err);
  }
  try {
    unlinkSync(probe);
  } catch (err) {
    throw fail(`keeps the probe file ${probe}`, err);
  }
}

/** stat, or null when nothing is there (ENOENT; ENOTDIR: a file further up, which nearestFolder names). */
function statOrNull(p: string, storePath = p): Stats | null {
  try {
    return statSync(p);
  } catch (err) {
    const code = errno(err);
    if (code === 'ENOENT' || code === 'ENOTDIR') return null;
    throw pathError(storePath, `cannot look at ${p}`, err);
  }
}

function errno(err: unknown): unknown {
  return (err as { code?: unknown } | null)?.code;
}

function pathError(file: string, detail: string, cause?: unknown, extra: object = {}): LinesightError {
  const text = `store path ${file}: ${detail}${cause === undefined ? '' : ` (${reasonOf(cause)})`}`;
  return new LinesightError('LS_ERR_STORE_PATH', text, { path: file, ...extra }, cause === undefined ? undefined : { cause });
}
