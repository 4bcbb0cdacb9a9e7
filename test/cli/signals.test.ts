/**
 * How `linesight run` ends on signals, for real: `npm start` (the README's way in) in its own process group with a
 * Ctrl-C to the whole group, as a terminal sends it; SIGTERM to npm alone, as a process manager sends it; and a
 * second signal that cuts a slow stop short. The demo line runs from a copy of configs/demo-line.yaml on free ports
 * (`npm start -- --config COPY`: the last --config wins).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { freePort } from '../../runtime/net/free-port.ts';
import { ROOT } from '../helpers/cli.ts';
import { sleep, waitUntil, withDeadline } from '../helpers/wait.ts';
import { freeRunLineYaml } from '../fakes/line-yaml.ts';

interface Started {
  readonly child: ChildProcess;
  readonly exited: Promise<number | null>;
  readonly stderr: () => string;
  readonly store: string;
}

const started: ChildProcess[] = [];

afterEach(() => {
  // A test that failed half-way leaves nothing running: the whole group goes.
  for (const c of started.splice(0)) if (c.pid !== undefined && liveMembers(c.pid).length > 0) process.kill(-c.pid, 'SIGKILL');
});

/** The demo line with free ports, absolute model/calibration paths and its store in a temp folder. */
async function demoCopy(): Promise<{ config: string; store: string }> {
  const dir = mkdtempSync(path.join(tmpdir(), 'ls-signals-'));
  const [plc, server, http] = [await freePort(), await freePort(), await freePort()];
  const store = path.join(dir, 'demo.sqlite');
  const yaml = readFileSync(path.join(ROOT, 'configs/demo-line.yaml'), 'utf8')
    .replaceAll('../models/', `${ROOT}/models/`)
    .replaceAll('../calibration/', `${ROOT}/calibration/`)
    .replace('path: ../var/demo-line.sqlite', `path: ${store}`)
    .replaceAll('port: 5502', `port: ${plc}`)
    .replace('port: 5020', `port: ${server}`)
    .replace('port: 8420', `port: ${http}`);
  const config = path.join(dir, 'demo-line.yaml');
  writeFileSync(config, yaml);
  return { config, store };
}

/** Starts `command` as the leader of a new process group (setsid) and waits until the line runs. */
async function startLine(command: string, args: string[], store: string): Promise<Started> {
  const child = spawn(command, args, { cwd: ROOT, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  started.push(child);
  let stderr = '';
  child.stdout.resume();
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  await waitUntil(() => stderr.includes('"line running"'), {
    what: `${command} to report "line running"`,
    timeoutMs: 60_000,
    intervalMs: 50,
    detail: () => stderr.slice(-2000),
  });
  return { child, exited, stderr: () => stderr, store };
}

/** Processes of the group that are still alive (zombies, already ended, excepted): Linux /proc. */
function liveMembers(pgid: number): number[] {
  const live: number[] = [];
  for (const pid of readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const [state, , group] = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (Number(group) === pgid && state !== 'Z') live.push(Number(pid));
    } catch {
      // The process ended while we looked.
    }
  }
  return live;
}

async function expectCleanStop(line: Started, what: string): Promise<void> {
  const code = await withDeadline(line.exited, 30_000, `${what} to exit`);
  expect(code, line.stderr().slice(-2000)).toBe(0);
  expect(line.stderr()).toContain('"line stopped"');
  expect(line.stderr()).not.toContain('stop cut short');
  await waitUntil(() => liveMembers(line.child.pid!).length === 0, { what: 'every process of the group to end', timeoutMs: 10_000 });
  expect(existsSync(line.store)).toBe(true);
  expect(existsSync(`${line.store}-wal`), 'the store was closed (its -wal file removed)').toBe(false);
  expect(existsSync(`${line.store}-shm`)).toBe(false);
}

describe('linesight run on signals', () => {
  it('npm start: Ctrl-C to the process group stops the line cleanly, npm exits 0 and the store is closed', async () => {
    const { config, store } = await demoCopy();
    const line = await startLine('npm', ['start', '--', '--config', config], store);
    process.kill(-line.child.pid!, 'SIGINT'); // the terminal signals every process of the foreground group
    await expectCleanStop(line, 'npm start after Ctrl-C');
  });

  it('npm start: SIGTERM to npm alone (a process manager) reaches the line, which stops cleanly', async () => {
    const { config, store } = await demoCopy();
    const line = await startLine('npm', ['start', '--', '--config', config], store);
    line.child.kill('SIGTERM');
    await expectCleanStop(line, 'npm start after SIGTERM');
  });

  it('a second signal while the stop waits on an unreachable PLC cuts it short: exit 130, store closed, results kept owed', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'ls-signals-'));
    const store = path.join(dir, 'results.sqlite');
    const config = path.join(dir, 'line.yaml');
    writeFileSync(
      config,
      freeRunLineYaml({
        line: 'slow-stop',
        store,
        plcPort: await freePort(), // nobody listens: the drain waits on an unreachable PLC
        simulatedPlc: false,
        surfaceModel: path.join(ROOT, 'models/surface-anomaly/model.yaml'),
      }),
    );
    const line = await startLine(process.execPath, ['bin/linesight.js', 'run', '--config', config, '--quiet'], store);
    await waitUntil(() => line.stderr().includes('sink delivery failed'), { what: 'a delivery to the absent PLC to fail', timeoutMs: 20_000 });
    line.child.kill('SIGTERM');
    // The drain waits up to 3 s for the absent PLC: a second signal after the 1 s copy window cuts it short.
    await waitUntil(() => line.stderr().includes('"stopping line"'), { what: 'the stop to begin', timeoutMs: 10_000 });
    await sleep(1500);
    line.child.kill('SIGINT');
    expect(await withDeadline(line.exited, 15_000, 'run to exit after the second signal')).toBe(130);
    expect(line.stderr()).toContain('stop cut short');
    expect(line.stderr()).not.toContain('"line stopped"');
    expect(existsSync(`${store}-wal`), 'the store was closed').toBe(false);
    const db = new Database(store, { readonly: true });
    const owed = db.prepare('SELECT COUNT(*) AS n FROM outbox WHERE delivered_at IS NULL').get() as { n: number };
    db.close();
    expect(owed.n).toBeGreaterThan(0);
  });
});
