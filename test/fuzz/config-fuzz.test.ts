/**
 * Config fuzz (issue 14, "every bad input gets a clear, bounded answer"): some 350 seeded mutations of the demo
 * line and of a minimal folder-source line (config-corpus.ts) go through the schema loader in-process, and a
 * sample of them through `linesight validate`. Each case is accepted, rejected with LS_ERR_CONFIG_INVALID /
 * LS_ERR_CONFIG_UNREADABLE naming the file (and `FILE:LINE` for every problem), or it is a failure: a crash (any
 * other error, a stack, an exit code outside 0/2/3) or a hang (past its deadline). Counts per class are printed
 * and written to the OS temp folder (tally.ts) for the README's reliability section.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { CONFIG_CLASSES, writeConfigCorpus, type ConfigCase, type Expectation } from './config-corpus.ts';
import { ConfigLoader, type LoadOutcome } from './config-load-worker.ts';
import { runLinesight, showsCrash, type CliRun } from './run-cli.ts';
import { Tally, writeTotals } from './tally.ts';

const IN_PROCESS_DEADLINE_MS = 2_000;
const CLI_DEADLINE_MS = 20_000;
const CLI_PARALLEL = 3;

const dir = mkdtempSync(path.join(tmpdir(), 'ls-fuzz-config-'));
const cases = writeConfigCorpus(dir);
const totals: Record<string, unknown> = {};
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
  const file = writeTotals('config-totals', totals);
  console.log(`config fuzz totals written to ${file}`);
});

type Outcome = 'accepted' | 'rejected' | 'crash' | 'hang';

interface Verdict {
  readonly outcome: Outcome;
  /** Why, in one line (the error, or the exit status). */
  readonly detail: string;
  /** A rejection whose message does not name the file (or a problem without its FILE:LINE). */
  readonly unnamed: boolean;
}

const CONFIG_CODES = ['LS_ERR_CONFIG_INVALID', 'LS_ERR_CONFIG_UNREADABLE'];

/** Every problem line of an LS_ERR_CONFIG_INVALID message starts with `FILE:LINE `. */
function namesFile(message: string, file: string, code: string | null): boolean {
  if (!message.includes(file)) return false;
  if (code !== 'LS_ERR_CONFIG_INVALID') return true;
  const problems = message.split('\n').slice(1);
  return problems.length > 0 && problems.every((l) => l.startsWith(`${file}:`) && /^:\d+ /.test(l.slice(file.length)));
}

function classifyLoad(c: ConfigCase, o: LoadOutcome): Verdict {
  if (o.kind === 'accepted') return { outcome: 'accepted', detail: 'accepted', unnamed: false };
  if (o.kind === 'hang') return { outcome: 'hang', detail: `no answer after ${Math.round(o.ms)} ms`, unnamed: false };
  if (o.kind === 'worker-died') return { outcome: 'crash', detail: o.message, unnamed: false };
  const first = o.message.split('\n')[0]!.slice(0, 200);
  if (o.name !== 'LinesightError' || !CONFIG_CODES.includes(o.code ?? '')) {
    const where =
      o.stack
        .split('\n')
        .find((l) => /^\s+at /.test(l))
        ?.trim() ?? '';
    return { outcome: 'crash', detail: `${o.name}: ${first} ${where}`, unnamed: false };
  }
  return { outcome: 'rejected', detail: first, unnamed: !namesFile(o.message, c.file, o.code) };
}

function classifyCli(c: ConfigCase, r: CliRun): Verdict {
  const status = `exit ${r.code ?? r.signal}`;
  const first = (r.stderr.split('\n').find((l) => l.trim()) ?? '').slice(0, 200);
  if (r.timedOut) return { outcome: 'hang', detail: `killed after ${CLI_DEADLINE_MS} ms silent`, unnamed: false };
  if (showsCrash(r.stderr) || showsCrash(r.stdout))
    return { outcome: 'crash', detail: `${status}, a stack or 'unexpected failure': ${first}`, unnamed: false };
  if (r.code === 0 && r.stdout.includes(`${c.file}: ok`)) return { outcome: 'accepted', detail: 'ok', unnamed: false };
  if (r.code === 2 || r.code === 3) return { outcome: 'rejected', detail: `${status}: ${first}`, unnamed: !r.stderr.includes(c.file) };
  return { outcome: 'crash', detail: `${status}: ${first}`, unnamed: false };
}

interface Failures {
  crash: string[];
  hang: string[];
  unnamed: string[];
  expectation: string[];
}

function judge(c: ConfigCase, v: Verdict, expected: Expectation, failures: Failures): void {
  const what = `${c.id} (${c.note}): ${v.detail}`;
  if (v.outcome === 'crash') failures.crash.push(what);
  if (v.outcome === 'hang') failures.hang.push(what);
  if (v.outcome === 'rejected' && v.unnamed) failures.unnamed.push(what);
  if ((expected === 'reject' && v.outcome === 'accepted') || (expected === 'accept' && v.outcome === 'rejected'))
    failures.expectation.push(`${c.id} (${c.note}): expected ${expected}, got ${v.outcome}: ${v.detail}`);
}

const noFailures = (): Failures => ({ crash: [], hang: [], unnamed: [], expectation: [] });

function report(title: string, tally: Tally, failures: Failures): void {
  console.log(`${tally.table(title)}\n`);
  totals[title] = { ...tally.toJSON(), failures };
}

/**
 * One case of each class (for huge files the first past the size limit, for store paths the one under /proc),
 * every frame size no pool can hold, and two more that only `validate` must refuse: a store path that is a
 * directory, a sink port equal to the simulated PLC's. Some 25 runs: each `validate` loads and checks the models.
 */
function cliSample(): ConfigCase[] {
  const first = CONFIG_CLASSES.map((k) =>
    cases.find((c) => c.klass === k && (k !== 'huge-file' || c.inProcess === 'reject') && (k !== 'store-path' || c.note.includes('/proc')))!,
  );
  const extra = cases.filter(
    (c) =>
      !first.includes(c) && (c.klass === 'source-size' || /store.path the config folder itself|modbus-server port = simulatedPlc port/.test(c.note)),
  );
  return [...first, ...extra];
}

describe('config fuzz: broken line YAML gets a bounded, named answer', () => {
  it(`loads ${cases.length} generated configs in-process: no crash, no hang, every rejection names FILE:LINE`, async () => {
    expect(cases.length).toBeGreaterThanOrEqual(300);
    const loader = new ConfigLoader(cases.find((c) => c.klass === 'control')!.file);
    const tally = new Tally();
    const failures = noFailures();
    try {
      for (const c of cases) {
        const v = classifyLoad(c, await loader.load(c.file, IN_PROCESS_DEADLINE_MS));
        tally.add(c.klass, v.outcome);
        judge(c, v, c.inProcess, failures);
      }
    } finally {
      await loader.close();
    }
    report('in-process', tally, failures);
    expect(failures).toEqual(noFailures());
  }, 180_000);

  it('runs a sample through `linesight validate`: exit 0, 2 or 3 with the file named, never a stack or a hang', async () => {
    const sample = cliSample();
    expect(sample.length).toBeGreaterThanOrEqual(20);
    const verdicts = new Map<ConfigCase, Verdict>();
    const queue = [...sample];
    const worker = async () => {
      for (let c = queue.shift(); c; c = queue.shift())
        verdicts.set(c, classifyCli(c, await runLinesight(['validate', c.file], { idleTimeoutMs: CLI_DEADLINE_MS })));
    };
    await Promise.all(Array.from({ length: CLI_PARALLEL }, worker));
    const tally = new Tally();
    const failures = noFailures();
    for (const c of sample) {
      const v = verdicts.get(c)!;
      tally.add(c.klass, v.outcome);
      judge(c, v, c.cli, failures);
    }
    report('validate-cli', tally, failures);
    expect(failures).toEqual(noFailures());
  }, 180_000);
});
