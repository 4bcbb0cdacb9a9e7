/**
 * An onnxruntime session on its own worker thread, supervised. onnxruntime-node 1.30 runs `session.run`
 * synchronously on the calling thread (inside a setImmediate), so on the main thread every inference would stall
 * the event loop: acquisition, PLC polls and handshakes, other stations. Here the main thread only posts a
 * message. The session side is inference-worker-body.ts (a type-checked module, started through
 * runtime/worker/spawn-worker.ts); the messages both sides exchange are typed in inference-protocol.ts.
 *
 * Buffers: the model's input and outputs live in SharedArrayBuffers that the preprocessor and decoders use
 * in place. The binding refuses tensors over SharedArrayBuffer ("Invalid argument", tried here), so the worker
 * keeps private tensors and copies in and out: two memcpys per frame (256 KB each for a 256² map, tens of
 * µs), bought for an event loop that stays free while the model runs. The binding's own per-run allocations
 * (≈ 19 GCs per 1,000 runs) land on the worker's heap, not the main thread's.
 *
 * Supervision. A session thread that crashes (an 'error' or 'exit' the supervisor did not ask for) or hangs
 * (no answer within `runTimeoutMs` of a run being posted) is terminated and replaced:
 *   - the run in flight rejects at once with an InferenceRunError whose `failure` is 'crash' or 'timeout'
 *     (OnnxModel turns it into LS_ERR_INFERENCE_FAILED, which the station records as a NOK part with reason
 *     INSPECTION_ERROR);
 *   - the replacement is started after an exponential backoff (100 ms, doubling to a 5 s cap, back to 100 ms
 *     after the first successful run), recreates the session from the same sha256-verified bytes the model was
 *     loaded from and is bound to the same shared buffers, so the model's `input`/`outputs` arrays stay valid;
 *     a replacement that fails to come up is counted (`restartFailures`) and retried on the same backoff;
 *   - runs that arrive while the worker is being replaced WAIT for it, up to `runTimeoutMs`, and then run with
 *     their own full `runTimeoutMs` (so a slow restart is never mistaken for a hang); a run still waiting at
 *     its deadline rejects with failure 'restarting'. Waiting rather than failing fast: at a 100 ms first
 *     backoff plus a session start of a few hundred ms, usually only the part that was in flight is lost;
 *   - every event is counted (`counters`) and reported to the `onEvent` callback and the pino logger.
 *
 * Ending a thread safely. worker.terminate() while the thread is inside onnxruntime aborts the whole process
 * (reproduced: "terminate called after throwing an instance of 'Napi::Error'"), so a thread is never
 * terminated there: a shared Phase word (inference-protocol.ts) says whether it is in JavaScript — then it is
 * terminated, which also ends a JavaScript hang — or inside onnxruntime — then it is cancelled: it ends itself
 * the moment onnxruntime returns, without writing the shared outputs or answering. Either way the supervisor
 * stops waiting for it at once and starts the replacement; the shared buffers are never written by two
 * threads. A session stuck forever inside a native kernel cannot be ended by any means in-process: its thread
 * stays parked (unref'd, so it never keeps the process alive) while the replacement serves the station.
 * `close()` is bounded whatever the thread is doing: an idle thread gets `CLOSE_GRACE_MS` to release its
 * session, a busy, hung or starting one is ended at once; either way close() waits at most
 * `TERMINATE_WAIT_MS` for the thread to exit.
 */
import type { Worker } from 'node:worker_threads';
import type { Logger } from 'pino';
import { spawnWorker } from '../worker/spawn-worker.ts';
import {
  Phase,
  RUN,
  type BindRequest,
  type FromWorker,
  type InferenceWorkerData,
  type SessionMeta,
  type SessionOptions,
  type SharedOutput,
  type ToWorker,
  type WorkerFault,
} from './inference-protocol.ts';

export type { SessionMeta, SessionOptions, WorkerFault } from './inference-protocol.ts';

const BODY = new URL('./inference-worker-body.ts', import.meta.url);

/** Longest a thread may take to create its session or bind its buffers before it counts as failed. */
const START_TIMEOUT_MS = 60_000;
/** How long an idle thread is given to release its session on close() before it is terminated. */
const CLOSE_GRACE_MS = 1000;
/** Longest close() (or a restart) waits for a terminated thread to exit. */
const TERMINATE_WAIT_MS = 1000;

export const DEFAULT_RUN_TIMEOUT_MS = 5000;
export const DEFAULT_BACKOFF_INITIAL_MS = 100;
export const DEFAULT_BACKOFF_MAX_MS = 5000;

/**
 * Why a run failed: `session` onnxruntime refused the frame (the thread lives on); `crash` the thread died;
 * `timeout` the run passed its deadline and the thread was terminated; `restarting` the thread was being
 * replaced and did not come back within the run's deadline; `closed` the model was closed.
 */
export type InferenceFailure = 'session' | 'crash' | 'timeout' | 'restarting' | 'closed';

export class InferenceRunError extends Error {
  readonly failure: InferenceFailure;

  constructor(failure: InferenceFailure, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'InferenceRunError';
    this.failure = failure;
  }
}

export type InferenceWorkerEvent =
  | { readonly type: 'crash'; readonly model: string; readonly error: Error }
  | { readonly type: 'timeout'; readonly model: string; readonly runTimeoutMs: number }
  | { readonly type: 'restarting'; readonly model: string; readonly attempt: number; readonly delayMs: number }
  | { readonly type: 'restarted'; readonly model: string; readonly attempt: number; readonly tookMs: number }
  | { readonly type: 'restart-failed'; readonly model: string; readonly attempt: number; readonly error: Error };

export interface SupervisionOptions {
  /** Model name, for events, logs and error messages. */
  readonly model: string;
  readonly runTimeoutMs?: number;
  readonly backoffInitialMs?: number;
  readonly backoffMaxMs?: number;
  readonly log?: Logger;
  readonly onEvent?: (event: InferenceWorkerEvent) => void;
}

export class InferenceWorkerCounters {
  /** Replacement threads started (after a crash or a timeout, including ones that then failed). */
  restarts = 0;
  /** Threads that died without being asked to (uncaught error, exit, terminated from outside). */
  crashes = 0;
  /** Runs that passed their deadline; each one terminated its thread. */
  timeouts = 0;
  /** Replacement threads that could not create their session or bind the buffers. */
  restartFailures = 0;
}

export type InferenceWorkerState = 'running' | 'restarting' | 'closed';

type DeathHandler = (thread: SessionThread, failure: 'crash' | 'timeout', error: Error) => void;

/** One worker thread with one session; at most one request outstanding. Dies once, never comes back. */
class SessionThread {
  private readonly worker: Worker;
  private pending: { resolve: (r: FromWorker) => void; reject: (e: Error) => void; timer: NodeJS.Timeout | null } | null = null;
  private dead: InferenceRunError | null = null;
  /** Set once the supervisor ends this thread: its exit is then no crash. */
  private ending = false;
  private readonly exited: Promise<void>;
  private readonly onDeath: DeathHandler;
  private readonly phase = new Int32Array(new SharedArrayBuffer(4));

  constructor(data: Omit<InferenceWorkerData, 'phase'>, onDeath: DeathHandler) {
    this.onDeath = onDeath;
    const workerData: InferenceWorkerData = { ...data, phase: this.phase };
    this.worker = spawnWorker(BODY, { workerData });
    this.exited = new Promise((resolve) => this.worker.once('exit', () => resolve()));
    this.worker.on('message', (r: FromWorker) => this.settle(r));
    this.worker.on('error', (err) => this.die('crash', err));
    this.worker.on('exit', (code) => this.die('crash', new Error(`inference worker exited (code ${code})`)));
  }

  get busy(): boolean {
    return this.pending !== null;
  }

  get alive(): boolean {
    return this.dead === null;
  }

  /** Starts the thread's session; resolves with its metadata, or rejects after terminating the thread. */
  async start(): Promise<SessionMeta> {
    try {
      const reply = await this.request(null, START_TIMEOUT_MS);
      if (reply === 0 || reply.type !== 'meta') throw new InferenceRunError('session', 'inference worker sent no metadata');
      return { inputs: reply.inputs, outputs: reply.outputs };
    } catch (err) {
      await this.terminate();
      throw err;
    }
  }

  /** Sends `message` (null: only wait for the thread's first message) and waits for the one reply. */
  request(message: ToWorker | null, timeoutMs: number): Promise<FromWorker> {
    if (this.dead) return Promise.reject(this.dead);
    if (this.pending) return Promise.reject(new InferenceRunError('session', 'inference worker is busy: one run at a time'));
    return new Promise<FromWorker>((resolve, reject) => {
      const timer = setTimeout(() => this.timedOut(timeoutMs), timeoutMs);
      timer.unref(); // the ref'd worker keeps the process alive while a request is out
      this.pending = { resolve, reject, timer };
      this.worker.ref(); // a run in flight keeps the process alive until it answers
      if (message !== null) this.worker.postMessage(message);
    });
  }

  /** Drill messages have no reply. */
  post(message: ToWorker): void {
    if (this.dead) throw this.dead;
    this.worker.postMessage(message);
  }

  /** Ends the thread now, whatever it is doing; waits at most TERMINATE_WAIT_MS for it to exit. */
  async terminate(): Promise<void> {
    this.ending = true;
    this.die('closed', new Error('inference worker closed'));
    this.worker.unref();
    this.end();
    await this.whenExited(TERMINATE_WAIT_MS);
  }

  /**
   * Drill: ends the thread from outside without telling anyone, as a crash would (terminated in JavaScript,
   * or cancelled inside onnxruntime); resolves once it exited, or after `waitMs`.
   */
  async kill(waitMs: number): Promise<void> {
    this.end();
    await this.whenExited(waitMs);
  }

  /** Terminates the thread if it is in JavaScript, else cancels it (see Phase in inference-protocol.ts). */
  private end(): void {
    for (;;) {
      const was = Atomics.compareExchange(this.phase, 0, Phase.IDLE, Phase.TERMINATING);
      if (was === Phase.IDLE) {
        this.worker.terminate().catch(() => {}); // resolves with the exit, which `exited` also sees
        return;
      }
      if (was !== Phase.IN_SESSION) return; // already TERMINATING or CANCELLED
      if (Atomics.compareExchange(this.phase, 0, Phase.IN_SESSION, Phase.CANCELLED) === Phase.IN_SESSION) return;
      // the thread left onnxruntime between the two swaps: try again from IDLE
    }
  }

  private async whenExited(waitMs: number): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const bound = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, waitMs);
      timer.unref();
    });
    await Promise.race([this.exited, bound]);
    clearTimeout(timer);
  }

  /** Asks an idle thread to release its session, then terminates it; a busy or dead one is terminated at once. */
  async close(): Promise<void> {
    if (this.dead === null && this.pending === null) {
      this.ending = true;
      await this.request({ type: 'close' }, CLOSE_GRACE_MS).catch(() => {});
    }
    await this.terminate();
  }

  private settle(r: FromWorker): void {
    const p = this.pending;
    if (!p) return;
    this.pending = null;
    if (p.timer) clearTimeout(p.timer);
    this.worker.unref(); // idle: a loaded model alone must not keep a finished command alive
    if (r !== 0 && r.type === 'error') p.reject(new InferenceRunError('session', r.message));
    else p.resolve(r);
  }

  private timedOut(timeoutMs: number): void {
    this.die('timeout', new Error(`no answer within ${timeoutMs} ms`));
    void this.terminate();
  }

  private die(failure: 'crash' | 'timeout' | 'closed', cause: Error): void {
    if (this.dead) return;
    const f: InferenceFailure = this.ending ? 'closed' : failure;
    const message =
      f === 'timeout'
        ? `inference run timed out: ${cause.message}`
        : f === 'crash'
          ? `inference worker crashed: ${cause.message}`
          : 'inference worker closed';
    this.dead = new InferenceRunError(f, message, { cause });
    const p = this.pending;
    this.pending = null;
    if (p?.timer) clearTimeout(p.timer);
    p?.reject(this.dead);
    if (f !== 'closed') this.onDeath(this, f, cause);
  }
}

interface Waiter {
  readonly resolve: (thread: SessionThread) => void;
  readonly reject: (err: Error) => void;
  readonly timer: NodeJS.Timeout;
}

/** A supervised session: one live SessionThread at a time, replaced when it crashes or hangs. */
export class InferenceWorker {
  readonly counters = new InferenceWorkerCounters();
  readonly model: string;
  readonly runTimeoutMs: number;
  private readonly data: Omit<InferenceWorkerData, 'phase'>;
  private readonly backoffInitialMs: number;
  private readonly backoffMaxMs: number;
  private readonly log: Logger | null;
  private readonly onEvent: ((event: InferenceWorkerEvent) => void) | null;
  private thread: SessionThread | null = null;
  /** A thread being started (first start or a restart), so close() can end it too. */
  private starting: SessionThread | null = null;
  private binding: BindRequest | null = null;
  private backoffMs: number;
  /** Restarts since the last successful run. */
  private attempt = 0;
  private restartTimer: NodeJS.Timeout | null = null;
  private readonly waiters = new Set<Waiter>();
  private closing: Promise<void> | null = null;
  private readonly onDeath: DeathHandler = (thread, failure, error) => this.threadDied(thread, failure, error);

  private constructor(data: Omit<InferenceWorkerData, 'phase'>, supervision: SupervisionOptions) {
    this.data = data;
    this.model = supervision.model;
    this.runTimeoutMs = supervision.runTimeoutMs ?? DEFAULT_RUN_TIMEOUT_MS;
    this.backoffInitialMs = Math.max(1, supervision.backoffInitialMs ?? DEFAULT_BACKOFF_INITIAL_MS);
    this.backoffMaxMs = Math.max(this.backoffInitialMs, supervision.backoffMaxMs ?? DEFAULT_BACKOFF_MAX_MS);
    this.backoffMs = this.backoffInitialMs;
    this.log = supervision.log ?? null;
    this.onEvent = supervision.onEvent ?? null;
  }

  /** Starts the first thread, creates the session there and returns its input/output metadata. */
  static async start(
    bytes: Uint8Array,
    options: SessionOptions,
    supervision: SupervisionOptions,
  ): Promise<{ worker: InferenceWorker; meta: SessionMeta }> {
    const worker = new InferenceWorker({ bytes, options }, supervision);
    const thread = new SessionThread(worker.data, worker.onDeath);
    worker.starting = thread;
    try {
      const meta = await thread.start();
      worker.thread = thread;
      return { worker, meta };
    } finally {
      worker.starting = null;
    }
  }

  get state(): InferenceWorkerState {
    if (this.closing) return 'closed';
    return this.thread ? 'running' : 'restarting';
  }

  /** A run has been posted and not answered yet. */
  get inFlight(): boolean {
    return this.thread?.busy ?? false;
  }

  /** Hands the thread the shared input and output buffers; a replacement thread gets the same ones. */
  async bind(inputName: string, inputShape: readonly number[], input: SharedArrayBuffer, outputs: readonly SharedOutput[]): Promise<void> {
    this.binding = { type: 'bind', inputName, inputShape, input, outputs };
    await this.liveThread().request(this.binding, START_TIMEOUT_MS);
  }

  /** One inference: the shared input is read, the shared outputs are filled when this resolves. */
  async run(): Promise<void> {
    const thread = this.thread ?? (await this.whenRestarted());
    await thread.request(RUN, this.runTimeoutMs);
    this.attempt = 0;
    this.backoffMs = this.backoffInitialMs;
  }

  /**
   * Drill (operators, tests): terminates the session thread from outside, as a crash would, and resolves once
   * it has exited; the supervisor counts a crash and restarts it. A run in flight rejects with failure 'crash'.
   */
  async terminateThread(): Promise<void> {
    await this.liveThread().kill(START_TIMEOUT_MS);
  }

  /** Drill (operators, tests): makes the thread stall before its next run, or crash; see inference-protocol.ts. */
  injectFault(fault: WorkerFault): void {
    this.liveThread().post({ type: 'fault', fault });
  }

  close(): Promise<void> {
    this.closing ??= this.shutdown();
    return this.closing;
  }

  private async shutdown(): Promise<void> {
    if (this.restartTimer) clearTimeout(this.restartTimer);
    this.restartTimer = null;
    for (const w of this.waiters) {
      clearTimeout(w.timer);
      w.reject(new InferenceRunError('closed', 'inference worker closed'));
    }
    this.waiters.clear();
    const threads = [this.thread, this.starting].filter((t): t is SessionThread => t !== null);
    this.thread = null;
    this.starting = null;
    await Promise.all(threads.map((t) => t.close()));
  }

  private liveThread(): SessionThread {
    if (this.closing) throw new InferenceRunError('closed', 'inference worker closed');
    if (!this.thread) throw new InferenceRunError('restarting', 'inference worker is restarting');
    return this.thread;
  }

  private whenRestarted(): Promise<SessionThread> {
    if (this.closing) return Promise.reject(new InferenceRunError('closed', 'inference worker closed'));
    return new Promise<SessionThread>((resolve, reject) => {
      const waiter: Waiter = {
        resolve,
        reject,
        // Ref'd: a run waiting for the restart keeps the process alive, like a run in flight.
        timer: setTimeout(() => {
          this.waiters.delete(waiter);
          reject(new InferenceRunError('restarting', `inference worker still restarting after ${this.runTimeoutMs} ms`));
        }, this.runTimeoutMs),
      };
      this.waiters.add(waiter);
    });
  }

  private threadDied(thread: SessionThread, failure: 'crash' | 'timeout', error: Error): void {
    if (thread !== this.thread) return; // a thread still starting: its start() rejects and restart() handles it
    this.thread = null;
    if (failure === 'timeout') {
      this.counters.timeouts++;
      this.emit({ type: 'timeout', model: this.model, runTimeoutMs: this.runTimeoutMs });
    } else {
      this.counters.crashes++;
      this.emit({ type: 'crash', model: this.model, error });
    }
    void thread.terminate();
    this.scheduleRestart();
  }

  private scheduleRestart(): void {
    if (this.closing) return;
    const delayMs = this.backoffMs;
    this.backoffMs = Math.min(this.backoffMs * 2, this.backoffMaxMs);
    const attempt = ++this.attempt;
    this.emit({ type: 'restarting', model: this.model, attempt, delayMs });
    this.restartTimer = setTimeout(() => {
      this.restartTimer = null;
      void this.restart(attempt);
    }, delayMs);
    this.restartTimer.unref(); // waiting runs hold the process; a restart alone does not
  }

  private async restart(attempt: number): Promise<void> {
    if (this.closing) return;
    this.counters.restarts++;
    const t0 = performance.now();
    const thread = new SessionThread(this.data, this.onDeath);
    this.starting = thread;
    try {
      await thread.start();
      if (this.binding) await thread.request(this.binding, START_TIMEOUT_MS);
      if (this.closing || this.starting !== thread) return; // close() ended it meanwhile
      if (!thread.alive) throw new Error('replacement thread died while binding');
      this.starting = null;
      this.thread = thread;
      this.emit({ type: 'restarted', model: this.model, attempt, tookMs: Math.round(performance.now() - t0) });
      for (const w of this.waiters) {
        clearTimeout(w.timer);
        w.resolve(thread);
      }
      this.waiters.clear();
    } catch (err) {
      if (this.starting === thread) this.starting = null;
      await thread.terminate();
      if (this.closing) return;
      this.counters.restartFailures++;
      this.emit({ type: 'restart-failed', model: this.model, attempt, error: err as Error });
      this.scheduleRestart();
    }
  }

  private emit(event: InferenceWorkerEvent): void {
    const c = this.counters;
    const counters = { restarts: c.restarts, crashes: c.crashes, timeouts: c.timeouts, restartFailures: c.restartFailures };
    const log = this.log;
    if (log) {
      if (event.type === 'crash') log.error({ model: event.model, err: event.error, counters }, 'inference worker crashed; it will be restarted');
      else if (event.type === 'timeout')
        log.error(
          { model: event.model, runTimeoutMs: event.runTimeoutMs, counters },
          'inference run passed its deadline; worker terminated, it will be restarted',
        );
      else if (event.type === 'restarting')
        log.warn({ model: event.model, attempt: event.attempt, delayMs: event.delayMs }, 'restarting inference worker after backoff');
      else if (event.type === 'restarted')
        log.info({ model: event.model, attempt: event.attempt, tookMs: event.tookMs, counters }, 'inference worker restarted');
      else
        log.error(
          { model: event.model, attempt: event.attempt, err: event.error, counters },
          'inference worker restart failed; retrying after backoff',
        );
    }
    if (this.onEvent) {
      try {
        this.onEvent(event);
      } catch (err) {
        log?.error({ model: this.model, err }, 'inference worker onEvent listener threw');
      }
    }
  }
}
