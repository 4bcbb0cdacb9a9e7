/**
 * Frame fuzz (issue 14, "a bad frame never passes as OK"): ~200 broken or not-a-part frames (frame-corpus.ts)
 * go (a) through decodeImageFile, (b) through `linesight inspect` on the demo line's surface station with the
 * shipped model, in batches, and (c) through a running station replaying them from a folder into a real SQLite
 * store. Nothing may crash or hang, every refusal is a frame error naming the file, and no frame is OK unless it
 * decodes to the good part it was made from (the corpus oracle). Counts per class are printed and written to the
 * OS temp folder (tally.ts) for the README's reliability section.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bootLine, loadConfig } from '../../cli/boot.ts';
import { isLinesightError } from '../../runtime/errors.ts';
import { decodeImageFile, IMAGE_EXTENSIONS } from '../../runtime/frame/decode-image.ts';
import type { Station } from '../../runtime/pipeline/station.ts';
import { ROOT } from '../helpers/cli.ts';
import { waitUntil, withDeadline } from '../helpers/wait.ts';
import { SIZE, writeFrameCorpus, type FrameCase } from './frame-corpus.ts';
import { runLinesight, showsCrash } from './run-cli.ts';
import { Tally, writeTotals } from './tally.ts';

const DECODE_DEADLINE_MS = 2_000;
const CLI_DEADLINE_MS = 20_000;
const STATION_STALL_MS = 20_000;
const INSPECT_BATCH = 70;
const FRAME_CODES = ['LS_ERR_FRAME_CORRUPT', 'LS_ERR_FRAME_UNREADABLE', 'LS_ERR_FRAME_SIZE'];
/** A decoded frame is the good part when at most 1 % of its pixels differ from it by more than this. */
const DAMAGE_LEVEL = 24;
const MAX_DAMAGED_SHARE = 0.01;

const work = mkdtempSync(path.join(tmpdir(), 'ls-fuzz-frames-'));
const corpusDir = path.join(work, 'corpus');
let cases: FrameCase[] = [];
/** Case id → the frame decodes to its good part (so OK is a right answer). Filled by the decode test. */
const intact = new Map<string, boolean>();
const totals: Record<string, unknown> = {};

beforeAll(async () => {
  mkdirSync(corpusDir);
  cases = await writeFrameCorpus(corpusDir);
  // The oracle does not depend on test order: (b) and (c) also work when (a) is filtered out.
  for (const c of cases) intact.set(c.id, await decodesToReference(c));
}, 60_000);
afterAll(() => {
  rmSync(work, { recursive: true, force: true });
  console.log(`frame fuzz totals written to ${writeTotals('frame-totals', totals)}`);
});

async function decodesToReference(c: FrameCase): Promise<boolean> {
  if (c.reference === null) return false;
  const img = await withDeadline(decodeImageFile(c.file, 'Mono8'), DECODE_DEADLINE_MS, `decoding ${c.file}`).catch(() => null);
  if (!img || img.width !== SIZE || img.height !== SIZE || img.data.length !== SIZE * SIZE) return false;
  let damaged = 0;
  for (let i = 0; i < img.data.length; i++) if (Math.abs(img.data[i]! - c.reference[i]!) > DAMAGE_LEVEL) damaged++;
  return damaged <= MAX_DAMAGED_SHARE * img.data.length;
}

/** A result may be OK only for a frame that decodes to the good part it was made from. */
const mayBeOk = (c: FrameCase) => intact.get(c.id) === true;

interface Failures {
  crash: string[];
  hang: string[];
  unnamed: string[];
  badOk: string[];
  expectation: string[];
}
const noFailures = (): Failures => ({ crash: [], hang: [], unnamed: [], badOk: [], expectation: [] });
const what = (c: FrameCase, detail: string) => `${c.id} (${c.note}): ${detail}`;

function report(title: string, tally: Tally, failures: Failures, extra: Record<string, unknown> = {}): void {
  console.log(`${tally.table(title)}\n`);
  totals[title] = { ...tally.toJSON(), ...extra, failures };
}

describe('frame fuzz: broken frames are refused or NOK, never OK, never a crash or a hang', () => {
  it('(a) decodeImageFile decodes each frame completely or refuses it with a frame error naming the file', async () => {
    expect(cases.filter((c) => c.klass !== 'control').length).toBeGreaterThanOrEqual(150);
    const tally = new Tally();
    const failures = noFailures();
    for (const c of cases) {
      const outcome = await decodeOne(c, failures);
      tally.add(c.klass, outcome);
    }
    report('decode', tally, failures);
    expect(failures).toEqual(noFailures());
  }, 120_000);

  it('(b) `linesight inspect --station surface` answers every file: an error, or a result that is OK only for the good part', async () => {
    const tally = new Tally();
    const failures = noFailures();
    const answers = await inspectAll(cases, failures);
    for (const c of cases) {
      const a = answers.get(c.id);
      if (!a) continue; // a crash or hang, already counted as such
      tally.add(c.klass, a.outcome);
      if (a.outcome === 'OK' && !mayBeOk(c)) failures.badOk.push(what(c, `verdict OK (${a.detail})`));
      if (c.mustFail && !a.outcome.startsWith('error')) failures.expectation.push(what(c, `expected a frame error, got ${a.outcome}`));
    }
    report('inspect-cli', tally, failures);
    expect(failures).toEqual(noFailures());
  }, 300_000);

  it('(c) a running station replaying the corpus from a folder: every file counted, none stored OK unless it is the good part', async () => {
    const { counters, rows } = await runStation();
    const files = cases.filter((c) => IMAGE_EXTENSIONS.has(path.extname(c.file)));
    const tally = new Tally();
    const failures = noFailures();
    const byId = new Map(rows.map((r) => [r.part_id, r]));
    for (const c of files) {
      const row = byId.get(c.id);
      const outcome = row ? outcomeOf(row.verdict, JSON.parse(row.reasons_json) as { code: string }[]) : 'corrupt';
      tally.add(c.klass, outcome);
      if (outcome === 'OK' && !mayBeOk(c)) failures.badOk.push(what(c, 'stored as OK'));
      if (c.mustFail && row) failures.expectation.push(what(c, `expected to be counted corrupt, stored as ${outcome}`));
    }
    report('station', tally, failures, { counters });
    expect({
      accounted: counters.corrupt + counters.inspected,
      sourceErrors: counters.sourceErrors,
      inspectionErrors: counters.inspectionErrors,
    }).toEqual({
      accounted: files.length,
      sourceErrors: 0,
      inspectionErrors: 0,
    });
    expect(rows.length).toBe(counters.inspected);
    expect(failures).toEqual(noFailures());
  }, 180_000);
});

// ---------------------------------------------------------------------------------------------------------------
// (a) decode

async function decodeOne(c: FrameCase, failures: Failures): Promise<string> {
  try {
    const img = await withDeadline(decodeImageFile(c.file, 'Mono8'), DECODE_DEADLINE_MS, `decoding ${c.file}`);
    if (img.channels !== 1 || img.data.length !== img.width * img.height) {
      failures.crash.push(what(c, `decoded ${img.width}×${img.height}, ${img.channels} channel(s), but ${img.data.length} bytes`));
      return 'crash';
    }
    if (c.mustFail) failures.expectation.push(what(c, `decoded as ${img.width}×${img.height}; expected a refusal`));
    if (c.reference === null) return 'decoded';
    return mayBeOk(c) ? 'decoded-intact' : 'decoded-damaged';
  } catch (err) {
    if (err instanceof Error && err.name === 'WaitTimeoutError') {
      failures.hang.push(what(c, err.message));
      return 'hang';
    }
    if (!isLinesightError(err) || !FRAME_CODES.includes(err.code)) {
      failures.crash.push(what(c, `${(err as Error).name}: ${(err as Error).message}`));
      return 'crash';
    }
    if (!err.message.includes(c.file)) failures.unnamed.push(what(c, err.message));
    return `refused:${err.code.replace('LS_ERR_FRAME_', '')}`;
  }
}

// ---------------------------------------------------------------------------------------------------------------
// (b) inspect through the CLI

interface Answer {
  readonly outcome: string;
  readonly detail: string;
}

interface InspectLine {
  file: string;
  verdict?: 'OK' | 'NOK';
  reasons?: { code: string; source?: string }[];
  error?: { code: string; message: string };
}

function outcomeOf(verdict: string, reasons: readonly { code: string }[]): string {
  if (verdict === 'OK') return 'OK';
  return reasons[0]?.code === 'FRAME_REJECTED' ? 'NOK:FRAME_REJECTED' : 'NOK:other';
}

/**
 * Runs inspect over all cases in batches (one model load per batch). A batch that dies or goes silent blames the
 * first file it did not answer (a crash or a hang) and the rest run in a new batch.
 */
async function inspectAll(all: readonly FrameCase[], failures: Failures): Promise<Map<string, Answer>> {
  const answers = new Map<string, Answer>();
  const byFile = new Map(all.map((c) => [c.file, c]));
  let pending = [...all];
  while (pending.length > 0) {
    const batch = pending.slice(0, INSPECT_BATCH);
    const seen = new Set<string>();
    const run = await runLinesight(
      ['inspect', '--config', path.join(ROOT, 'configs/demo-line.yaml'), '--station', 'surface', '--json', ...batch.map((c) => c.file)],
      {
        idleTimeoutMs: CLI_DEADLINE_MS,
        onLine: (line) => {
          if (!line.trim()) return;
          let o: InspectLine;
          try {
            o = JSON.parse(line) as InspectLine;
          } catch {
            failures.crash.push(`inspect printed a line that is not JSON: ${line.slice(0, 200)}`);
            return;
          }
          const c = byFile.get(o.file);
          if (!c) return;
          seen.add(c.id);
          answers.set(c.id, answerOf(c, o, failures));
        },
      },
    );
    const unanswered = batch.filter((c) => !seen.has(c.id));
    const exitOk = run.code === 0 || run.code === 4 || run.code === 5;
    if (unanswered.length === 0 && exitOk && !showsCrash(run.stderr)) {
      pending = pending.slice(batch.length);
      continue;
    }
    const culprit = unanswered[0];
    const status = `exit ${run.code ?? run.signal}; ${run.stderr.split('\n').find((l) => l.trim()) ?? ''}`.slice(0, 300);
    if (!culprit) {
      failures.crash.push(`inspect batch of ${batch.length} files: ${status}`);
      pending = pending.slice(batch.length);
      continue;
    }
    if (run.timedOut) failures.hang.push(what(culprit, `inspect silent for ${CLI_DEADLINE_MS} ms`));
    else failures.crash.push(what(culprit, `inspect died before answering it: ${status}`));
    pending = pending.filter((c) => c !== culprit && !seen.has(c.id));
  }
  return answers;
}

function answerOf(c: FrameCase, o: InspectLine, failures: Failures): Answer {
  if (o.error) {
    if (!FRAME_CODES.includes(o.error.code)) failures.crash.push(what(c, `error ${o.error.code}: ${o.error.message}`));
    if (!o.error.message.includes(c.file)) failures.unnamed.push(what(c, o.error.message));
    return { outcome: `error:${o.error.code.replace('LS_ERR_FRAME_', '')}`, detail: o.error.message };
  }
  const reasons = o.reasons ?? [];
  return {
    outcome: outcomeOf(o.verdict ?? '?', reasons),
    detail: reasons.map((r) => `${r.code}${r.source ? ` ${r.source}` : ''}`).join(', ') || 'no reasons',
  };
}

// ---------------------------------------------------------------------------------------------------------------
// (c) a running station

interface Row {
  part_id: string;
  verdict: string;
  reasons_json: string;
}

/** Boots a line with one folder-source station over the corpus, runs it until the folder is exhausted. */
async function runStation(): Promise<{ counters: Station['counters']; rows: Row[] }> {
  const dir = path.join(work, 'line');
  mkdirSync(dir);
  const file = path.join(dir, 'line.yaml');
  writeFileSync(
    file,
    `line: fuzz-frames
store: { path: results.sqlite }
stations:
  - name: surface
    recipe: fuzz
    source: { type: folder, path: ${JSON.stringify(corpusDir)}, width: ${SIZE}, height: ${SIZE} }
    trigger: { mode: free-run, fps: 200 }
    backpressure: { policy: every-trigger, queueDepth: 2 }
    models:
      - manifest: ${JSON.stringify(path.join(ROOT, 'models/surface-anomaly/model.yaml'))}
        anomaly: { reason: SURFACE_DEFECT }
`,
  );
  const booted = await bootLine(loadConfig(file), pino({ level: 'silent' }));
  const station = booted.line.station('surface')!;
  let stopped = false;
  try {
    void booted.line.whenStationsStopped().then(() => (stopped = true));
    await booted.line.start();
    const c = station.counters;
    const taken = () => c.acquired + c.corrupt + c.sourceErrors;
    while (!stopped) {
      const before = taken();
      await waitUntil(() => stopped || taken() > before, {
        timeoutMs: STATION_STALL_MS,
        what: `the station to take frame ${before + 1} of the corpus`,
        detail: () => JSON.stringify(c),
      });
    }
  } finally {
    await booted.stop();
  }
  const db = new Database(path.join(dir, 'results.sqlite'), { readonly: true });
  try {
    const rows = db.prepare("SELECT part_id, verdict, reasons_json FROM results WHERE station = 'surface'").all() as Row[];
    return { counters: station.counters, rows };
  } finally {
    db.close();
  }
}
