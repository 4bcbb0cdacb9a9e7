/**
 * `trigger: software` end to end: a line booted from YAML with a software-triggered station and a free-running one,
 * the HTTP control listener on 127.0.0.1, triggers over real HTTP and through the `linesight trigger` command.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bootLine, loadConfig, type BootedLine } from '../../../cli/boot.ts';
import { freePort } from '../../../runtime/net/free-port.ts';
import type { InspectionResult } from '../../../runtime/results/result.ts';
import { linesight, ROOT } from '../../helpers/cli.ts';
import { waitUntil } from '../../helpers/wait.ts';

const dir = mkdtempSync(path.join(tmpdir(), 'ls-http-'));
const MODEL = path.join(ROOT, 'models/surface-anomaly/model.yaml');
let booted: BootedLine;
let port: number;
let configFile: string;

beforeAll(async () => {
  port = await freePort();
  configFile = path.join(dir, 'line.yaml');
  writeFileSync(
    configFile,
    `line: t
store: { path: t.sqlite }
http: { port: ${port} }
stations:
  - name: manual
    recipe: r
    source: { type: synthetic, scene: surface, width: 256, height: 256, seed: 3 }
    trigger: { mode: software }
    models: [{ manifest: ${MODEL} }]
  - name: belt
    recipe: r
    source: { type: synthetic, scene: surface, width: 256, height: 256, seed: 4 }
    trigger: { mode: free-run, fps: 1 }
    models: [{ manifest: ${MODEL} }]
`,
  );
  booted = await bootLine(loadConfig(configFile), pino({ level: 'silent' }));
  await booted.line.start();
});

afterAll(async () => {
  await booted?.stop();
  rmSync(dir, { recursive: true, force: true });
});

async function post(
  station: string,
  body?: unknown,
): Promise<{ status: number; json: { accepted?: boolean; result?: InspectionResult | null; error?: string; reason?: string } }> {
  const res = await fetch(`http://127.0.0.1:${port}/stations/${station}/trigger`, {
    method: 'POST',
    body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
    signal: AbortSignal.timeout(20_000),
  });
  return { status: res.status, json: (await res.json()) as never };
}

describe('software trigger over the HTTP control listener', () => {
  it('inspects one part per trigger, carrying the part id into the stored result', async () => {
    const before = booted.line.station('manual')!.counters.inspected;
    const a = await post('manual', { partId: 'P-100', wait: true });
    expect(a.status).toBe(200);
    expect(a.json.result).toMatchObject({ station: 'manual', partId: 'P-100' });
    expect(a.json.result!.sequence).toBeGreaterThan(0);
    const stored = booted.line.store.getBySequence('t', 'manual', a.json.result!.sequence);
    expect(stored?.result.partId).toBe('P-100');
    const b = await post('manual');
    expect(b).toEqual({ status: 202, json: { accepted: true } });
    const manual = booted.line.station('manual')!;
    await waitUntil(() => manual.counters.inspected >= before + 2, { timeoutMs: 20_000, what: 'the second software trigger to be inspected' });
    expect(booted.line.station('manual')!.counters.triggers).toBe(2);
  });

  it('answers 409 for a free-running station, 404 for an unknown one and 400 for a bad body', async () => {
    expect((await post('belt', {})).status).toBe(409);
    expect((await post('nope', {})).status).toBe(404);
    const bad = await post('manual', '{not json');
    expect(bad.status).toBe(400);
    expect((await post('manual', { partId: 42 })).json.error).toMatch(/partId must be a string/);
  });

  it('lists the stations with their trigger mode and counters', async () => {
    const res = await fetch(`http://127.0.0.1:${port}/stations`, { signal: AbortSignal.timeout(5000) });
    const list = (await res.json()) as { name: string; state: string; softwareTrigger: boolean }[];
    expect(list.map((s) => [s.name, s.state, s.softwareTrigger])).toEqual([
      ['manual', 'running', true],
      ['belt', 'running', false],
    ]);
  });

  it('`linesight trigger --wait` prints the verdict of the part it triggered', async () => {
    const { code, stdout, stderr } = await linesight('trigger', '--config', configFile, '--station', 'manual', '--part-id', 'CLI-1', '--wait');
    expect(stderr).toBe('');
    expect([0, 4]).toContain(code); // 4 when the synthetic part happens to be NOK, as inspect does
    expect(stdout).toMatch(/^manual #\d+ (OK|NOK) part=CLI-1\n$/);
    const refused = await linesight('trigger', '--config', configFile, '--station', 'belt');
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/LS_ERR_TRIGGER_FAILED: station belt: station belt is not software-triggered/);
  });
});
