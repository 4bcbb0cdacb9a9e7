/**
 * `linesight mes-password` as a user runs it (the real entry point, the password on stdin): the printed hash
 * verifies against the password and the schema takes it; an empty password is a usage error.
 */
import { spawn } from 'node:child_process';
import path from 'node:path';
import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { MesSecuritySchema, verifyPassword } from '../../adapters/service/opcua-mes/security.ts';
import { readFirstLine } from '../../cli/commands/mes-password.ts';
import { ROOT } from '../helpers/cli.ts';
import { withDeadline } from '../helpers/wait.ts';

/** Runs `linesight mes-password` with `input` on stdin. */
function mesPassword(input: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, [path.join(ROOT, 'bin/linesight.js'), 'mes-password'], { cwd: ROOT });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
  child.stdin.end(input);
  const done = new Promise<number | null>((resolve) => child.on('close', resolve));
  return withDeadline(done, 60_000, 'linesight mes-password').then(
    (code) => ({ code, stdout, stderr }),
    (err: unknown) => {
      child.kill();
      throw err;
    },
  );
}

describe('linesight mes-password', () => {
  it('prints a hash of the first stdin line that verifies and that the schema accepts', async () => {
    const r = await mesPassword('s3cret pass\r\nsecond line ignored\n');
    expect(r.code).toBe(0);
    const hash = r.stdout.trim();
    expect(r.stdout.split('\n')).toHaveLength(2);
    expect(verifyPassword('s3cret pass', hash)).toBe(true);
    expect(verifyPassword('s3cret pass\r', hash)).toBe(false);
    expect(MesSecuritySchema.parse({ users: [{ name: 'mes1', role: 'mes', passwordHash: hash }] }).users[0]?.passwordHash).toBe(hash);
    expect(r.stdout + r.stderr).not.toContain('s3cret');
  });

  it('refuses an empty password with exit 2', async () => {
    const r = await mesPassword('\n');
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^linesight: LS_ERR_USAGE: mes-password: empty password/);
    expect(r.stdout).toBe('');
  });

  it('reads a line split over chunks, and a last line without newline', async () => {
    expect(await readFirstLine(Readable.from([Buffer.from('ab'), Buffer.from('c\ndef')]))).toBe('abc');
    expect(await readFirstLine(Readable.from(['no newline']))).toBe('no newline');
    expect(await readFirstLine(Readable.from([]))).toBe('');
  });
});
