/**
 * Runs the real `linesight` entry point (bin/linesight.js) for the fuzz tests, with a deadline that counts from
 * the last line the command printed: a batch of a hundred images may take a while, but a command silent for
 * `idleTimeoutMs` is hung and is killed (SIGKILL), which the result says.
 */
import { spawn } from 'node:child_process';
import path from 'node:path';
import { ROOT } from '../helpers/cli.ts';

export interface CliRun {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
  /** Killed for printing nothing for idleTimeoutMs. */
  readonly timedOut: boolean;
}

export interface CliRunOptions {
  readonly idleTimeoutMs: number;
  /** Each complete stdout line, as it arrives. */
  readonly onLine?: (line: string) => void;
}

export function runLinesight(args: readonly string[], options: CliRunOptions): Promise<CliRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [path.join(ROOT, 'bin/linesight.js'), ...args], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    let pending = '';
    let timedOut = false;
    let timer: NodeJS.Timeout | undefined;
    const arm = () => {
      clearTimeout(timer);
      timer = setTimeout(() => {
        timedOut = true;
        child.kill('SIGKILL');
      }, options.idleTimeoutMs);
    };
    arm();
    child.stdout.on('data', (d: Buffer) => {
      const text = d.toString();
      stdout += text;
      pending += text;
      const lines = pending.split('\n');
      pending = lines.pop()!;
      if (lines.length > 0) arm();
      for (const l of lines) options.onLine?.(l);
    });
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      if (pending) options.onLine?.(pending);
      resolve({ code, signal, stdout, stderr, timedOut });
    });
  });
}

/** A JavaScript stack or the CLI's catch-all: what a user must never see. */
export function showsCrash(text: string): boolean {
  return /unexpected failure/.test(text) || /^\s+at .+[:(]\d+:\d+\)?$/m.test(text);
}
