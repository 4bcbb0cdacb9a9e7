/**
 * Tests that need a third-party tool from Debian (mbpoll, python3-pymodbus) go through `requireTool`. Locally a
 * missing tool skips those tests with a message saying how to install it; in CI (`CI=true`, where .ci/run installs
 * the tools and fails when it cannot) a missing tool FAILS them, so an interop test can never go quietly missing.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { it, type TestFunction } from 'vitest';

const exec = promisify(execFile);

export interface RequiredTool {
  readonly name: string;
  readonly available: boolean;
  /** What `it` does with the tests: run them, skip them (tool missing, local) or fail them (tool missing, CI). */
  readonly mode: 'run' | 'skip' | 'fail';
  /** `it` for a test that needs the tool: runs it, skips it (locally) or fails it (CI) when the tool is missing. */
  readonly it: (title: string, fn: TestFunction, timeoutMs?: number) => void;
}

/** A probe that succeeds when `command args…` runs and exits 0 within 10 s. */
export function commandRuns(command: string, args: readonly string[] = []): () => Promise<unknown> {
  return () => exec(command, [...args], { timeout: 10_000 });
}

/**
 * Probes for a tool once (at module load: `const mbpoll = await requireTool(...)`) and says so when it is missing.
 * `probe` resolves when the tool is there and rejects when not; `install` tells the reader how to get it.
 */
export async function requireTool(name: string, probe: () => Promise<unknown>, install: string): Promise<RequiredTool> {
  const available = await probe().then(
    () => true,
    () => false,
  );
  const ci = process.env.CI === 'true';
  const missing = `${name} is not installed (${install})`;
  if (!available) console.warn(ci ? `${missing}: CI requires it, the tests that need it fail` : `${missing}: skipping the tests that need it`);
  const mode = available ? 'run' : ci ? 'fail' : 'skip';
  return {
    name,
    available,
    mode,
    it: (title, fn, timeoutMs) => {
      if (mode === 'run') it(title, fn, timeoutMs);
      else if (mode === 'fail') {
        it(title, () => {
          throw new Error(`${missing}; CI=true requires every interop test to run`);
        });
      } else it.skip(`${title} [needs ${name}]`, fn);
    },
  };
}
