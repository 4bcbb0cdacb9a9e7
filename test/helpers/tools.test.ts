import { afterEach, describe, expect, it } from 'vitest';
import { commandRuns, requireTool } from './tools.ts';

const saved = process.env.CI;
afterEach(() => {
  if (saved === undefined) delete process.env.CI;
  else process.env.CI = saved;
});

describe('requireTool', () => {
  it('runs the tests of a tool that is there', async () => {
    const t = await requireTool('node', commandRuns(process.execPath, ['--version']), 'comes with Node');
    expect([t.available, t.mode]).toEqual([true, 'run']);
  });

  it('fails the tests of a missing tool under CI=true, skips them otherwise', async () => {
    const probe = commandRuns('/nonexistent/linesight-no-such-tool');
    process.env.CI = 'true';
    expect((await requireTool('no-such-tool', probe, 'nowhere')).mode).toBe('fail');
    delete process.env.CI;
    expect((await requireTool('no-such-tool', probe, 'nowhere')).mode).toBe('skip');
  });
});
