/**
 * The messages between an inference worker (inference-worker.ts, main thread) and its session thread
 * (inference-worker-body.ts), typed once for both sides. One request is outstanding at a time; each request
 * gets exactly one reply, except `fault`, which has none (a drill: it changes what the next run does).
 *
 *   start    workerData: InferenceWorkerData → the thread creates the session, replies `meta` (or `error`)
 *   bind     shared input/output buffers, once per thread → `bound`
 *   RUN      copy shared input in, run, copy outputs out → RAN (or `error`: the session refused the frame)
 *   close    release the session → `closed`, then the thread ends
 *   fault    drill only: `stall` busy-waits the thread before its next run (a hang), `throw` raises an
 *            uncaught error (a crash)
 * Ending a thread goes through the shared Phase word below, never through a message.
 */

export interface TensorMeta {
  readonly name: string;
  readonly isTensor: boolean;
  readonly shape: readonly (number | string)[];
}

export interface SessionMeta {
  readonly inputs: readonly TensorMeta[];
  readonly outputs: readonly TensorMeta[];
}

export interface SessionOptions {
  readonly intraOpNumThreads: number;
  readonly interOpNumThreads: number;
  readonly executionMode: 'sequential';
  readonly graphOptimizationLevel: 'all';
  readonly enableMemPattern: boolean;
  readonly enableCpuMemArena: boolean;
}

/**
 * Where a session thread is, in a shared word (`InferenceWorkerData.phase[0]`), so the main thread never
 * terminates it inside onnxruntime. Terminating a worker while the binding is inside `session.run` aborts the
 * whole process ("terminate called after throwing an instance of 'Napi::Error'", reproduced here with
 * onnxruntime-node 1.30 on Node 20.20). Both sides move the word only by compare-and-swap:
 *   IDLE → IN_SESSION      the thread, before it calls into onnxruntime (create, run, release);
 *   IN_SESSION → IDLE      the thread, when onnxruntime returns;
 *   IDLE → TERMINATING     the main thread, which then calls worker.terminate(): the thread is in JavaScript
 *                          (idle, or a JavaScript hang) and will never enter onnxruntime again;
 *   IN_SESSION → CANCELLED the main thread, when the thread is inside onnxruntime: the thread ends itself
 *                          as soon as onnxruntime returns, without writing the shared outputs or replying.
 */
export const Phase = { IDLE: 0, IN_SESSION: 1, TERMINATING: 2, CANCELLED: 3 } as const;

/** What a session thread starts with: the sha256-verified model bytes (a private copy) and session options. */
export interface InferenceWorkerData {
  readonly bytes: Uint8Array;
  readonly options: SessionOptions;
  /** Int32Array(1) over a SharedArrayBuffer: the thread's Phase. */
  readonly phase: Int32Array;
}

/** One model output over shared memory, `dims` as the graph declares them. */
export interface SharedOutput {
  readonly name: string;
  readonly dims: readonly number[];
  readonly sab: SharedArrayBuffer;
}

export interface BindRequest {
  readonly type: 'bind';
  readonly inputName: string;
  readonly inputShape: readonly number[];
  readonly input: SharedArrayBuffer;
  readonly outputs: readonly SharedOutput[];
}

export type WorkerFault = { readonly kind: 'stall'; readonly ms: number } | { readonly kind: 'throw' };

/** The per-frame messages are bare numbers: the cheapest thing to structured-clone. */
export const RUN = 0;
export const RAN = 0;

export type ToWorker = typeof RUN | BindRequest | { readonly type: 'close' } | { readonly type: 'fault'; readonly fault: WorkerFault };

export type FromWorker =
  | typeof RAN
  | { readonly type: 'meta'; readonly inputs: TensorMeta[]; readonly outputs: TensorMeta[] }
  | { readonly type: 'bound' }
  | { readonly type: 'closed' }
  | { readonly type: 'error'; readonly message: string };
