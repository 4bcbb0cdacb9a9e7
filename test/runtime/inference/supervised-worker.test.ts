/**
 * Supervision of the inference worker with the real onnxruntime and the shipped model: a thread killed mid-run
 * or hung past its deadline fails that run with LS_ERR_INFERENCE_FAILED, is restarted from the same bytes onto
 * the same shared buffers, and the next run gives the outputs it gave before. Every wait has a deadline.
 */
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { OnnxModel } from '../../../runtime/inference/onnx-model.ts';
import type { InferenceWorkerEvent } from '../../../runtime/inference/inference-worker.ts';
import { StationModel } from '../../../runtime/inference/station-model.ts';
import { isLinesightError, type LinesightError } from '../../../runtime/errors.ts';
import { INSPECTION_ERROR } from '../../../runtime/decision/rules.ts';
import { Station } from '../../../runtime/pipeline/station.ts';
import { ResultStore } from '../../../runtime/store/sqlite-store.ts';
import { ResultRouter } from '../../../runtime/results/router.ts';
import type { InspectionResult } from '../../../runtime/results/result.ts';
import { SyntheticSource, SyntheticSourceSchema } from '../../../adapters/source/synthetic/index.ts';
import { stationConfig } from '../../fakes/station-config.ts';

const MODELS = path.resolve(import.meta.dirname, '../../../models');
const MANIFEST = path.join(MODELS, 'surface-anomaly/model.yaml');
const log = pino({ level: 'silent' });
/** Deadline for one restart to be observed (a session start is a few hundred ms; this is for a loaded CI box). */
const RESTART_DEADLINE_MS = 20_000;

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function load(options: Parameters<typeof OnnxModel.load>[1] = {}): Promise<{ model: OnnxModel; events: InferenceWorkerEvent[] }> {
  const events: InferenceWorkerEvent[] = [];
  const model = await OnnxModel.load(MANIFEST, { ...options, onEvent: (e) => events.push(e) });
  cleanups.push(() => model.close());
  return { model, events };
}

/** The golden input: a real surface frame, so the outputs compared below are not those of a blank image. */
function goldenInput(): Float32Array {
  const raw = readFileSync(path.join(MODELS, 'surface-anomaly/golden-input.f32'));
  return new Float32Array(raw.buffer.slice(raw.byteOffset, raw.byteOffset + raw.byteLength));
}

function snapshot(model: OnnxModel): Record<string, number[]> {
  return Object.fromEntries([...model.outputs].map(([name, data]) => [name, Array.from(data)]));
}

function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: not settled within ${ms} ms`)), ms);
  });
  return Promise.race([promise, deadline]).finally(() => clearTimeout(timer));
}

/** Resolves with the error `promise` rejects with; fails the test if it resolves or does not settle in time. */
async function rejection(promise: Promise<unknown>, what: string): Promise<LinesightError> {
  const err = await within(
    promise.then(
      () => new Error(`${what}: resolved, expected a rejection`),
      (e: unknown) => e,
    ),
    RESTART_DEADLINE_MS,
    what,
  );
  if (!isLinesightError(err)) throw err;
  return err;
}

async function until(condition: () => boolean, ms: number, what: string): Promise<void> {
  const end = performance.now() + ms;
  while (!condition()) {
    if (performance.now() > end) throw new Error(`${what}: not reached within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

describe('supervised inference worker', () => {
  it('a thread terminated mid-run: that run fails with LS_ERR_INFERENCE_FAILED (crash), the next run gives the same outputs', async () => {
    const { model, events } = await load();
    model.input.set(goldenInput());
    await model.run();
    const before = snapshot(model);

    // The thread busy-waits inside the run (well under the 5 s deadline) while it is terminated from outside.
    model.injectWorkerFault({ kind: 'stall', ms: 4000 });
    const inFlight = rejection(model.run(), 'run in flight');
    expect(model.inFlight).toBe(true);
    for (const name of model.outputs.keys()) model.outputs.get(name)?.fill(-1); // the next run must refill them
    await within(model.terminateWorker(), RESTART_DEADLINE_MS, 'terminateWorker');

    const err = await inFlight;
    expect(err.code).toBe('LS_ERR_INFERENCE_FAILED');
    expect(err.context).toMatchObject({ model: 'surface-anomaly', cause: 'crash' });
    expect(model.counters.crashes).toBe(1);

    await within(model.run(), RESTART_DEADLINE_MS, 'run after the restart');
    expect(model.counters.restarts).toBe(1);
    expect(model.counters.timeouts).toBe(0);
    expect(model.workerState).toBe('running');
    expect(snapshot(model)).toEqual(before);
    expect(events.map((e) => e.type)).toEqual(['crash', 'restarting', 'restarted']);
  });

  it('survives kills at arbitrary points of a run, inside onnxruntime included (never terminated there)', async () => {
    const { model } = await load();
    model.input.set(goldenInput());
    await model.run();
    const before = snapshot(model);
    for (let i = 0; i < 4; i++) {
      const inFlight = rejection(model.run(), `run in flight #${i}`);
      for (let k = 0; k < i; k++) await new Promise((r) => setImmediate(r)); // kill later into the run each time
      await within(model.terminateWorker(), RESTART_DEADLINE_MS, `terminateWorker #${i}`);
      const err = await inFlight;
      expect(err.context).toMatchObject({ cause: 'crash' });
      await within(model.run(), RESTART_DEADLINE_MS, `run after restart #${i}`);
      expect(snapshot(model)).toEqual(before);
    }
    expect(model.counters).toMatchObject({ restarts: 4, crashes: 4, timeouts: 0, restartFailures: 0 });
  });

  it('a thread that crashes on its own (uncaught error) is restarted; a run posted meanwhile waits for it', async () => {
    const { model, events } = await load();
    model.input.set(goldenInput());
    await model.run();
    const before = snapshot(model);
    model.injectWorkerFault({ kind: 'throw' });
    await until(() => model.workerState === 'restarting', RESTART_DEADLINE_MS, 'crash noticed');
    await within(model.run(), RESTART_DEADLINE_MS, 'run posted during the restart');
    expect(snapshot(model)).toEqual(before);
    expect(model.counters).toMatchObject({ restarts: 1, crashes: 1, timeouts: 0 });
    const crash = events.find((e) => e.type === 'crash');
    expect(crash?.type === 'crash' && crash.error.message).toContain('injected crash');
  });

  it('a run that hangs past runTimeoutMs fails as a timeout, the thread is replaced and the next run is OK', async () => {
    const { model, events } = await load({ runTimeoutMs: 3000 });
    model.input.set(goldenInput());
    await model.run();
    const before = snapshot(model);

    model.injectWorkerFault({ kind: 'stall', ms: 60_000 }); // a real hang: only terminating the thread ends it
    const err = await rejection(model.run(), 'hung run');
    expect(err.code).toBe('LS_ERR_INFERENCE_FAILED');
    expect(err.context).toMatchObject({ model: 'surface-anomaly', cause: 'timeout' });
    expect(model.counters.timeouts).toBe(1);
    expect(model.counters.crashes).toBe(0);

    await within(model.run(), RESTART_DEADLINE_MS, 'run after the restart');
    expect(snapshot(model)).toEqual(before);
    expect(model.counters.restarts).toBe(1);
    expect(events.map((e) => e.type)).toEqual(['timeout', 'restarting', 'restarted']);
  });

  it('close() during a hung run ends it; close() during a restart cancels it; later runs fail as closed', async () => {
    const hung = (await load()).model;
    hung.injectWorkerFault({ kind: 'stall', ms: 60_000 });
    const inFlight = rejection(hung.run(), 'hung run at close');
    await within(hung.close(), 10_000, 'close() during a hung run');
    expect((await inFlight).context).toMatchObject({ cause: 'closed' });
    expect(hung.workerState).toBe('closed');

    const { model: restarting, events } = await load();
    await within(restarting.terminateWorker(), RESTART_DEADLINE_MS, 'terminateWorker');
    expect(restarting.workerState).toBe('restarting');
    const waiting = rejection(restarting.run(), 'run waiting at close');
    await within(restarting.close(), 10_000, 'close() during a restart');
    expect((await waiting).context).toMatchObject({ cause: 'closed' });
    expect((await rejection(restarting.run(), 'run after close')).context).toMatchObject({ cause: 'closed' });
    expect(events.some((e) => e.type === 'restarted')).toBe(false);
  });
});

describe('Station with a supervised model', () => {
  it('the part in inference when the worker is killed is NOK (INSPECTION_ERROR); later parts inspect normally', async () => {
    const config = stationConfig({ source: { type: 'synthetic' } });
    const source = new SyntheticSource(SyntheticSourceSchema.parse({ type: 'synthetic', scene: 'surface', defectRate: 0, seed: 7 }));
    const dir = mkdtempSync(path.join(tmpdir(), 'ls-supervised-'));
    const store = new ResultStore(path.join(dir, 'results.sqlite'));
    const model = await StationModel.load(config.models[0]!, MODELS, null);
    const station = new Station({ config, line: 'test-line', source, models: [model], results: new ResultRouter(store, config.name, [], log), log });
    const results: InspectionResult[] = [];
    station.onResult((r) => results.push(r));
    cleanups.push(async () => {
      await station.stop();
      await model.close();
      store.close();
    });
    await station.start();

    station.trigger({ partId: 'P-1', origin: 'test' });
    await until(() => results.length === 1, RESTART_DEADLINE_MS, 'P-1 inspected');

    model.onnx.injectWorkerFault({ kind: 'stall', ms: 4000 });
    station.trigger({ partId: 'P-2', origin: 'test' });
    await until(() => model.onnx.inFlight, RESTART_DEADLINE_MS, 'P-2 in inference');
    await within(model.onnx.terminateWorker(), RESTART_DEADLINE_MS, 'terminateWorker');
    await until(() => results.length === 2, RESTART_DEADLINE_MS, 'P-2 decided');

    station.trigger({ partId: 'P-3', origin: 'test' });
    station.trigger({ partId: 'P-4', origin: 'test' });
    await until(() => results.length === 4, RESTART_DEADLINE_MS, 'P-3 and P-4 inspected');

    expect(results.map((r) => r.partId)).toEqual(['P-1', 'P-2', 'P-3', 'P-4']);
    expect(results.map((r) => r.verdict)).toEqual(['OK', 'NOK', 'OK', 'OK']);
    expect(results[1]?.reasons.map((r) => r.code)).toEqual([INSPECTION_ERROR]);
    expect(results[1]?.reasons[0]?.detail).toContain('LS_ERR_INFERENCE_FAILED');
    expect(station.counters.inspectionErrors).toBe(1);
    expect(model.onnx.counters).toMatchObject({ restarts: 1, crashes: 1, timeouts: 0 });
  });
});
