import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { freePort } from '../../runtime/net/free-port.ts';
import { ROOT } from '../helpers/cli.ts';
import { withDeadline } from '../helpers/wait.ts';
import { freeRunLineYaml } from '../fakes/line-yaml.ts';

describe('linesight run', () => {
  it('runs a line, and on SIGTERM finishes in-flight parts, drains the PLC outbox and exits 0', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'ls-run-'));
    const port = await freePort();
    const config = path.join(dir, 'line.yaml');
    writeFileSync(
      config,
      freeRunLineYaml({
        line: 'run-test',
        store: 'results.sqlite',
        plcPort: port,
        simulatedPlc: true,
        surfaceModel: path.join(ROOT, 'models/surface-anomaly/model.yaml'),
      }),
    );
    const child = spawn(process.execPath, [path.join(ROOT, 'bin/linesight.js'), 'run', '--config', config], { cwd: dir });
    let stdout = '';
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    const printedSix = new Promise<void>((resolve) => {
      child.stdout.on('data', (d: Buffer) => {
        stdout += d.toString();
        if (stdout.split('\n').length > 6) resolve();
      });
      void exited.then(() => resolve());
    });
    try {
      await withDeadline(printedSix, 30_000, '`linesight run` to print 6 result lines');
    } catch (err) {
      child.kill('SIGKILL');
      throw err;
    }
    child.kill('SIGTERM');
    expect(await withDeadline(exited, 15_000, '`linesight run` to exit after SIGTERM')).toBe(0);
    expect(stderr).toContain('line stopped');

    const printed = stdout.trim().split('\n');
    expect(printed[0]).toMatch(/^#000001 surface +(OK|NOK) +\d+\.\d ms {2}part=SYN-[0-9A-Z]+-5/);
    const db = new Database(path.join(dir, 'results.sqlite'), { readonly: true });
    const seqs = (db.prepare('SELECT sequence FROM results ORDER BY id').all() as { sequence: number }[]).map((r) => r.sequence);
    const undelivered = db.prepare('SELECT COUNT(*) AS n FROM outbox WHERE delivered_at IS NULL').get() as { n: number };
    db.close();
    expect(seqs.length).toBeGreaterThanOrEqual(printed.length);
    expect(seqs).toEqual(Array.from({ length: seqs.length }, (_, i) => i + 1));
    expect(undelivered.n).toBe(0);
  });
});
