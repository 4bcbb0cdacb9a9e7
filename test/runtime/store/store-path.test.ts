import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { checkStorePath, ensureStoreFolder, prepareStorePath } from '../../../runtime/store/store-path.ts';
import { ResultStore } from '../../../runtime/store/sqlite-store.ts';
import { isLinesightError } from '../../../runtime/errors.ts';
import { ROOT } from '../../helpers/cli.ts';

const exec = promisify(execFile);
const dir = mkdtempSync(path.join(tmpdir(), 'ls-store-path-'));

function refusal(fn: () => void): string {
  try {
    fn();
  } catch (err) {
    if (isLinesightError(err, 'LS_ERR_STORE_PATH')) return err.message;
    throw err;
  }
  throw new Error('expected LS_ERR_STORE_PATH');
}

describe('store path checks', () => {
  it('accepts a new file in an existing folder and leaves no probe file behind', () => {
    const folder = mkdtempSync(path.join(dir, 'ok-'));
    checkStorePath(path.join(folder, 'results.sqlite'));
    expect(readdirSync(folder)).toEqual([]);
  });

  it('accepts an existing SQLite store and a folder still to be made, which only ensureStoreFolder creates', () => {
    const file = path.join(dir, 'later', 'a', 'b', 'results.sqlite');
    checkStorePath(file);
    expect(existsSync(path.join(dir, 'later'))).toBe(false);
    prepareStorePath(file);
    expect(existsSync(path.dirname(file))).toBe(true);
    new ResultStore(file, { checkpointInWorker: false }).close();
    checkStorePath(file);
  });

  it('refuses a directory, a path under a regular file, a non-SQLite file and a device, naming the path', () => {
    const folder = path.join(dir, 'a-folder');
    mkdirSync(folder);
    const plain = path.join(dir, 'plain.txt');
    writeFileSync(plain, 'hello, not a database');
    expect(refusal(() => checkStorePath(folder))).toBe(
      `LS_ERR_STORE_PATH: store path ${folder}: is a directory, not a database file (name a file in it, e.g. results.sqlite)`,
    );
    expect(refusal(() => checkStorePath(path.join(plain, 'x', 'r.sqlite')))).toContain(`${plain} is not a folder`);
    expect(refusal(() => ensureStoreFolder(path.join(plain, 'x', 'r.sqlite')))).toContain(`${plain} is not a folder`);
    expect(refusal(() => checkStorePath(plain))).toContain('is not an SQLite database');
    expect(refusal(() => checkStorePath('/dev/null'))).toContain('/dev/null: is not a regular file');
  });

  it('refuses a store under /proc with the cause, where a recursive mkdir would spin for ever', () => {
    expect(refusal(() => checkStorePath('/proc/ls-test/r.sqlite'))).toBe(
      'LS_ERR_STORE_PATH: store path /proc/ls-test/r.sqlite: folder /proc/ls-test cannot be created: folder /proc takes no new file (ENOENT: no such file or directory)',
    );
  });

  it('ResultStore under /proc fails at once with LS_ERR_STORE_PATH (in a child process, killed if it spins)', async () => {
    const code = `import { ResultStore } from './runtime/store/sqlite-store.ts';
      try { new ResultStore('/proc/ls-test/r.sqlite'); console.log('opened'); } catch (e) { console.log(e.message); }`;
    const { stdout } = await exec(process.execPath, ['--import', 'tsx/esm', '--input-type=module', '-e', code], { cwd: ROOT, timeout: 30_000 });
    expect(stdout.trim()).toBe(
      'LS_ERR_STORE_PATH: store path /proc/ls-test/r.sqlite: cannot create folder /proc/ls-test (ENOENT: no such file or directory)',
    );
  });
});
