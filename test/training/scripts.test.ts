/**
 * Every script with a command line (training/, bench/, cli/build-schema.ts) answers --help/-h with its usage
 * (exit 0, nothing done) and a bad option with one usage line (exit 2), never a stack trace.
 */
import { execFile } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { ROOT } from '../helpers/cli.ts';

const exec = promisify(execFile);

const SCRIPTS = [
  'training/data/export.ts',
  'training/eval/sets.ts',
  'training/demo/build.ts',
  'training/golden/write-golden-frame.ts',
  'training/lab/gen-holes.ts',
  'training/lab/gen-surface.ts',
  'training/lab/package.ts',
  'training/stats/record-input-stats.ts',
  'bench/run-all.ts',
  'cli/build-schema.ts',
  ...readdirSync(path.join(ROOT, 'bench'))
    .filter((f) => f.endsWith('.bench.ts'))
    .map((f) => `bench/${f}`),
];

async function script(file: string, ...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await exec(process.execPath, ['--import', 'tsx', path.join(ROOT, file), ...args], { cwd: ROOT, timeout: 60_000 });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

/** Runs fn over items, `width` at a time (each is a node process compiling TypeScript). */
async function inBatches<T>(items: readonly T[], width: number, fn: (item: T) => Promise<void>): Promise<void> {
  for (let i = 0; i < items.length; i += width) await Promise.all(items.slice(i, i + width).map(fn));
}

describe('script command lines', () => {
  it('lists every script that reads its command line', () => {
    const readsArgv = (f: string) => /process\.argv|parseArgs/.test(readFileSync(path.join(ROOT, f), 'utf8'));
    const candidates = ['training', 'bench', 'calibration', 'sim'].flatMap((d) =>
      readdirSync(path.join(ROOT, d), { recursive: true, encoding: 'utf8' })
        .filter((f) => f.endsWith('.ts'))
        .map((f) => `${d}/${f}`),
    );
    const missing = candidates.filter((f) => readsArgv(f) && !SCRIPTS.includes(f) && !f.endsWith('script-args.ts'));
    expect(missing).toEqual([]);
  });

  it('--help prints the usage and exits 0 (-h too)', { timeout: 300_000 }, async () => {
    const runs = [...SCRIPTS.map((f) => [f, '--help'] as const), ['training/data/export.ts', '-h'] as const, ['bench/store.bench.ts', '-h'] as const];
    await inBatches(runs, 3, async ([file, flag]) => {
      const r = await script(file, flag);
      expect(r.code, `${file} ${flag}: ${r.stderr}`).toBe(0);
      expect(r.stdout, `${file} ${flag}`).toMatch(/usage|npx tsx/i);
    });
  });

  it('an unknown option is a one-line usage error, exit 2, no stack trace', { timeout: 300_000 }, async () => {
    await inBatches(SCRIPTS, 3, async (file) => {
      const r = await script(file, '--no-such-option');
      expect(r.code, `${file}: ${r.stdout}${r.stderr}`).toBe(2);
      expect(r.stderr, file).not.toMatch(/\n\s+at |ERR_PARSE_ARGS/);
      expect(r.stderr.trim().length, file).toBeGreaterThan(0);
    });
  });

  it('a bad value is a usage error naming it', async () => {
    const r = await script('training/data/export.ts', '--kind', 'surface', '--count', 'abc', '--out', 'var/never');
    expect(r.stderr.trim()).toBe("training/data/export.ts: --count 'abc' must be a whole number from 1 to 1000000 (--help for usage)");
    expect(r.code).toBe(2);
    const env = await exec(process.execPath, ['--import', 'tsx', path.join(ROOT, 'bench/store.bench.ts')], {
      cwd: ROOT,
      env: { ...process.env, BENCH_STORE_N: '0' },
      timeout: 60_000,
    }).then(
      () => ({ code: 0, stderr: '' }),
      (e: { code: number; stderr: string }) => e,
    );
    expect(env.stderr).toMatch(/BENCH_STORE_N '0' must be a whole number from 1/);
    expect(env.code).toBe(2);
  });
});
