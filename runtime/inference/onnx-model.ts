/**
 * One ONNX model, loaded from its model.yaml: the file is hashed and refused on a sha256 mismatch, the session
 * is created from the very bytes that were hashed (on its own worker thread, see inference-worker.ts), and
 * input/output buffers are allocated once. `run()` reads `input` and fills `outputs` in place.
 *
 * The worker is supervised (inference-worker.ts has the details): a run that crashes the thread or passes
 * `runTimeoutMs` rejects with LS_ERR_INFERENCE_FAILED (context `{ model, cause }`, cause one of
 * InferenceFailure), the thread is replaced after a backoff from the same verified bytes and re-bound to the
 * same `input`/`outputs`, and runs that arrive meanwhile wait for it (up to `runTimeoutMs`). `counters`
 * counts restarts, crashes, timeouts and failed restarts.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { readYamlFile, YamlInputError } from '../config/yaml-limits.ts';
import { LinesightError, reasonOf } from '../errors.ts';
import { decoderOutputs } from './decoders/index.ts';
import { ModelManifestSchema, type ModelManifest } from './model-manifest.ts';
import type { Logger } from 'pino';
import {
  InferenceRunError,
  InferenceWorker,
  type InferenceFailure,
  type InferenceWorkerCounters,
  type InferenceWorkerEvent,
  type InferenceWorkerState,
  type SessionMeta,
  type WorkerFault,
} from './inference-worker.ts';

export interface LoadOptions {
  readonly intraOpThreads?: number;
  /** Deadline of one run, from posting it to its answer; past it the worker is terminated and restarted. Default 5000. */
  readonly runTimeoutMs?: number;
  /** Backoff before restarting a crashed or hung worker: `initialMs` (default 100) doubling to `maxMs` (default 5000). */
  readonly restartBackoff?: { readonly initialMs?: number; readonly maxMs?: number };
  /** Receives crash / timeout / restart events (structured; the station passes its logger). */
  readonly log?: Logger;
  readonly onEvent?: (event: InferenceWorkerEvent) => void;
}

export class OnnxModel {
  readonly manifest: ModelManifest;
  readonly dir: string;
  readonly sha256: string;
  /** The model's input, over shared memory: the preprocessor writes it in place, the worker reads it. */
  readonly input: Float32Array;
  readonly outputs: ReadonlyMap<string, Float32Array>;
  readonly outputShapes: ReadonlyMap<string, readonly number[]>;
  private readonly worker: InferenceWorker;
  private readonly inputBuffer: SharedArrayBuffer;
  private readonly outputBuffers: { name: string; dims: readonly number[]; sab: SharedArrayBuffer }[];

  private constructor(manifest: ModelManifest, dir: string, worker: InferenceWorker, meta: SessionMeta) {
    this.manifest = manifest;
    this.dir = dir;
    this.sha256 = manifest.sha256;
    this.worker = worker;
    const shape = manifest.input.shape;
    this.inputBuffer = new SharedArrayBuffer(shape.reduce((a, b) => a * b, 1) * 4);
    this.input = new Float32Array(this.inputBuffer);
    const outputs = new Map<string, Float32Array>();
    const shapes = new Map<string, readonly number[]>();
    this.outputBuffers = [];
    for (const out of meta.outputs) {
      if (!out.isTensor || out.shape.some((d) => typeof d !== 'number' || d < 0)) {
        throw new LinesightError('LS_ERR_MODEL_IO_MISMATCH', `output '${out.name}' needs a static tensor shape`, {
          model: manifest.name,
          output: out.name,
        });
      }
      const dims = out.shape as number[];
      const sab = new SharedArrayBuffer(dims.reduce((a, b) => a * b, 1) * 4);
      outputs.set(out.name, new Float32Array(sab));
      shapes.set(out.name, dims);
      this.outputBuffers.push({ name: out.name, dims, sab });
    }
    this.outputs = outputs;
    this.outputShapes = shapes;
  }

  static async load(manifestPath: string, options: LoadOptions = {}): Promise<OnnxModel> {
    const manifest = readManifest(manifestPath);
    const dir = path.dirname(path.resolve(manifestPath));
    const onnxPath = path.join(dir, manifest.onnx);
    let bytes: Buffer;
    try {
      bytes = readFileSync(onnxPath);
    } catch (err) {
      const detail = `cannot read model file ${onnxPath} (onnx: in ${manifestPath}): ${reasonOf(err)}`;
      throw new LinesightError(
        'LS_ERR_MODEL_MANIFEST_INVALID',
        detail,
        { model: manifest.name, file: onnxPath, manifest: manifestPath },
        { cause: err },
      );
    }
    const actual = createHash('sha256').update(bytes).digest('hex');
    if (actual !== manifest.sha256) {
      throw new LinesightError('LS_ERR_MODEL_SHA256_MISMATCH', `${onnxPath}: sha256 ${actual} ≠ pinned ${manifest.sha256}`, {
        model: manifest.name,
        file: onnxPath,
        expected: manifest.sha256,
        actual,
      });
    }
    const runTimeoutMs = options.runTimeoutMs;
    if (runTimeoutMs !== undefined && !(Number.isFinite(runTimeoutMs) && runTimeoutMs > 0)) {
      throw new LinesightError('LS_ERR_CONFIG_INVALID', `runTimeoutMs must be a positive number of milliseconds, got ${runTimeoutMs}`, {
        model: manifest.name,
        runTimeoutMs,
      });
    }
    let started: Awaited<ReturnType<typeof InferenceWorker.start>>;
    try {
      started = await InferenceWorker.start(
        bytes,
        {
          intraOpNumThreads: options.intraOpThreads ?? 1,
          interOpNumThreads: 1,
          executionMode: 'sequential',
          graphOptimizationLevel: 'all',
          enableMemPattern: true,
          enableCpuMemArena: true,
        },
        {
          model: manifest.name,
          runTimeoutMs,
          backoffInitialMs: options.restartBackoff?.initialMs,
          backoffMaxMs: options.restartBackoff?.maxMs,
          log: options.log,
          onEvent: options.onEvent,
        },
      );
    } catch (err) {
      throw new LinesightError(
        'LS_ERR_MODEL_IO_MISMATCH',
        `${onnxPath}: onnxruntime cannot load it: ${(err as Error).message}`,
        { model: manifest.name, file: onnxPath },
        { cause: err },
      );
    }
    const { worker, meta } = started;
    try {
      checkIo(manifest, meta);
      const model = new OnnxModel(manifest, dir, worker, meta);
      await worker.bind(manifest.input.name, manifest.input.shape, model.inputBuffer, model.outputBuffers);
      await model.checkGolden();
      return model;
    } catch (err) {
      await worker.close();
      throw err;
    }
  }

  async run(): Promise<void> {
    try {
      await this.worker.run();
    } catch (err) {
      throw this.failed(err);
    }
  }

  /** Restarts, crashes, timeouts and failed restarts of this model's worker (live object: read, don't keep a copy). */
  get counters(): Readonly<InferenceWorkerCounters> {
    return this.worker.counters;
  }

  /** 'running', 'restarting' (a replacement worker is on its way) or 'closed'. */
  get workerState(): InferenceWorkerState {
    return this.worker.state;
  }

  /** A run has been posted to the worker and not answered yet. */
  get inFlight(): boolean {
    return this.worker.inFlight;
  }

  get runTimeoutMs(): number {
    return this.worker.runTimeoutMs;
  }

  /**
   * Drill for operators and tests: terminates the worker thread as a crash would (a run in flight fails with
   * LS_ERR_INFERENCE_FAILED, cause 'crash') and lets the supervisor restart it. Resolves once the thread exited.
   */
  async terminateWorker(): Promise<void> {
    try {
      await this.worker.terminateThread();
    } catch (err) {
      throw this.failed(err);
    }
  }

  /** Drill: the worker stalls before its next run (`{ kind: 'stall', ms }`, a hang) or crashes (`{ kind: 'throw' }`). */
  injectWorkerFault(fault: WorkerFault): void {
    try {
      this.worker.injectFault(fault);
    } catch (err) {
      throw this.failed(err);
    }
  }

  private failed(err: unknown): LinesightError {
    const cause: InferenceFailure = err instanceof InferenceRunError ? err.failure : 'session';
    return new LinesightError(
      'LS_ERR_INFERENCE_FAILED',
      `${this.manifest.name}: ${(err as Error).message}`,
      { model: this.manifest.name, cause },
      { cause: err },
    );
  }

  output(name: string): Float32Array {
    const out = this.outputs.get(name);
    if (!out) throw new LinesightError('LS_ERR_MODEL_IO_MISMATCH', `model has no output '${name}'`, { model: this.manifest.name, output: name });
    return out;
  }

  async close(): Promise<void> {
    await this.worker.close();
  }

  /**
   * Runs the golden input and compares with the recorded output. Exported anomaly models drift between
   * runtimes when preprocessing or kernels differ (anomalib issue #3726): refuse to go operational instead.
   */
  private async checkGolden(): Promise<void> {
    const golden = this.manifest.golden;
    if (!golden) return;
    const inputFile = path.join(this.dir, golden.input);
    const raw = this.readGolden(inputFile, (b) => b);
    if (raw.byteLength !== this.input.byteLength) {
      throw new LinesightError(
        'LS_ERR_MODEL_GOLDEN_MISMATCH',
        `golden input ${inputFile} has ${raw.byteLength} bytes, model input ${this.input.byteLength}`,
        {
          model: this.manifest.name,
          file: inputFile,
        },
      );
    }
    this.input.set(new Float32Array(raw.buffer.slice(raw.byteOffset, raw.byteOffset + raw.byteLength)));
    await this.run();
    const expected = this.readGolden(path.join(this.dir, golden.output), (b) => JSON.parse(b.toString('utf8')) as Record<string, number[]>);
    for (const [name, values] of Object.entries(expected)) {
      const got = this.output(name);
      let worst = 0;
      for (let i = 0; i < values.length; i++) worst = Math.max(worst, Math.abs(got[i]! - values[i]!));
      if (values.length !== got.length || !(worst <= golden.tolerance)) {
        throw new LinesightError('LS_ERR_MODEL_GOLDEN_MISMATCH', `${this.manifest.name}.${name}: max |Δ| ${worst} > ${golden.tolerance}`, {
          model: this.manifest.name,
          output: name,
          maxAbsDiff: worst,
          tolerance: golden.tolerance,
        });
      }
    }
    this.input.fill(0);
  }

  /** A golden file (model.yaml golden:) read and parsed, or LS_ERR_MODEL_GOLDEN_MISMATCH naming it and the cause. */
  private readGolden<T>(file: string, parse: (bytes: Buffer) => T): T {
    try {
      return parse(readFileSync(file));
    } catch (err) {
      throw new LinesightError(
        'LS_ERR_MODEL_GOLDEN_MISMATCH',
        `golden file ${file} cannot be read: ${reasonOf(err)}`,
        { model: this.manifest.name, file },
        { cause: err },
      );
    }
  }
}

/**
 * Reads and checks one model.yaml within the YAML limits (runtime/config/yaml-limits.ts). Every failure is
 * LS_ERR_MODEL_MANIFEST_INVALID with context { file, manifest } and the cause: `cannot read PATH: ENOENT: …`,
 * `PATH:LINE: message` for a YAML problem, `PATH: key: message; …` for schema problems.
 */
export function readManifest(manifestPath: string): ModelManifest {
  const context = { file: manifestPath, manifest: manifestPath };
  let raw: unknown;
  try {
    raw = readYamlFile(manifestPath);
  } catch (err) {
    const detail = err instanceof YamlInputError ? `${manifestPath}:${err.line}: ${err.message}` : `cannot read ${manifestPath}: ${reasonOf(err)}`;
    throw new LinesightError('LS_ERR_MODEL_MANIFEST_INVALID', detail, context, { cause: err });
  }
  const parsed = ModelManifestSchema.safeParse(raw);
  if (!parsed.success) {
    const detail = parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ');
    throw new LinesightError('LS_ERR_MODEL_MANIFEST_INVALID', `${manifestPath}: ${detail}`, context, { cause: parsed.error });
  }
  return parsed.data;
}

function checkIo(manifest: ModelManifest, meta: SessionMeta): void {
  const input = meta.inputs.find((m) => m.name === manifest.input.name);
  const declared = manifest.input.shape.join('x');
  if (!input || !input.isTensor || input.shape.join('x') !== declared) {
    throw new LinesightError('LS_ERR_MODEL_IO_MISMATCH', `model input '${manifest.input.name}' [${declared}] not found in the graph`, {
      model: manifest.name,
      graphInputs: meta.inputs.map((m) => m.name),
    });
  }
  const needed = decoderOutputs(manifest.decoder);
  const outputNames = meta.outputs.map((m) => m.name);
  for (const name of needed) {
    if (!outputNames.includes(name)) {
      throw new LinesightError('LS_ERR_MODEL_IO_MISMATCH', `output '${name}' named in model.yaml is not in the graph`, {
        model: manifest.name,
        graphOutputs: outputNames,
      });
    }
  }
}
