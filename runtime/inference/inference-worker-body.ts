/**
 * The session side of an inference worker: runs on its own thread (started by inference-worker.ts through
 * runtime/worker/spawn-worker.ts), owns one onnxruntime session and answers the protocol in
 * inference-protocol.ts. The binding refuses tensors over SharedArrayBuffer, so the shared input is copied
 * into a private tensor before each run and the private outputs are copied back into the shared ones after.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { InferenceSession, Tensor } from 'onnxruntime-node';
import {
  Phase,
  RAN,
  RUN,
  type BindRequest,
  type FromWorker,
  type InferenceWorkerData,
  type TensorMeta,
  type ToWorker,
  type WorkerFault,
} from './inference-protocol.ts';

interface Bound {
  readonly sharedIn: Float32Array;
  readonly localIn: Float32Array;
  readonly feeds: Record<string, Tensor>;
  readonly fetches: Record<string, Tensor>;
  readonly outs: readonly { readonly name: string; readonly shared: Float32Array }[];
}

const port = parentPort;
if (!port) throw new Error('inference-worker-body.ts runs on a worker thread only');
const data = workerData as InferenceWorkerData;
let session: InferenceSession | null = null;
let bound: Bound | null = null;
let stallNextRunMs = 0;

/**
 * Runs `work` inside onnxruntime, claiming the Phase word first (see inference-protocol.ts). If the main thread
 * is terminating this thread, `work` never starts and the returned promise never settles; if it cancelled the
 * thread meanwhile, the thread ends as soon as onnxruntime returns, before anything reaches shared memory.
 */
async function inSession<T>(work: () => Promise<T>): Promise<T> {
  if (Atomics.compareExchange(data.phase, 0, Phase.IDLE, Phase.IN_SESSION) !== Phase.IDLE) return new Promise<T>(() => {});
  try {
    return await work();
  } finally {
    if (Atomics.compareExchange(data.phase, 0, Phase.IN_SESSION, Phase.IDLE) !== Phase.IN_SESSION) process.exit(0);
  }
}

function reply(message: FromWorker): void {
  port!.postMessage(message);
}

function errorReply(err: unknown): FromWorker {
  return { type: 'error', message: err instanceof Error ? err.message : String(err) };
}

function meta(list: readonly InferenceSession.ValueMetadata[]): TensorMeta[] {
  return list.map((m) => ({ name: m.name, isTensor: m.isTensor, shape: m.isTensor ? Array.from(m.shape) : [] }));
}

function bind(m: BindRequest): Bound {
  const sharedIn = new Float32Array(m.input);
  const localIn = new Float32Array(sharedIn.length);
  const fetches: Record<string, Tensor> = {};
  const outs = m.outputs.map((o) => {
    fetches[o.name] = new Tensor('float32', new Float32Array(o.sab.byteLength / 4), o.dims);
    return { name: o.name, shared: new Float32Array(o.sab) };
  });
  return { sharedIn, localIn, feeds: { [m.inputName]: new Tensor('float32', localIn, m.inputShape) }, fetches, outs };
}

async function run(): Promise<void> {
  if (!session || !bound) throw new Error('run before the session was created and bound');
  if (stallNextRunMs > 0) {
    // Drill: a hang the main thread can only end by terminating the thread (a busy loop, like a stuck kernel).
    const until = performance.now() + stallNextRunMs;
    stallNextRunMs = 0;
    while (performance.now() < until);
  }
  const { feeds, fetches } = bound;
  const s = session;
  bound.localIn.set(bound.sharedIn);
  const r = await inSession(() => s.run(feeds, fetches));
  for (const o of bound.outs) {
    const out = r[o.name];
    if (!out) throw new Error(`session returned no output '${o.name}'`);
    o.shared.set(out.data as Float32Array);
  }
}

function fault(f: WorkerFault): void {
  if (f.kind === 'stall') stallNextRunMs = f.ms;
  else
    setImmediate(() => {
      throw new Error('injected crash (drill)');
    });
}

async function handle(m: ToWorker): Promise<void> {
  if (m === RUN) {
    try {
      await run();
      reply(RAN);
    } catch (err) {
      reply(errorReply(err));
    }
  } else if (m.type === 'bind') {
    bound = bind(m);
    reply({ type: 'bound' });
  } else if (m.type === 'fault') {
    fault(m.fault);
  } else if (m.type === 'close') {
    try {
      const s = session;
      if (s) await inSession(() => s.release());
    } catch {
      // the thread ends either way; a failed release frees nothing more than the exit does
    }
    session = null;
    reply({ type: 'closed' });
    port!.close();
  }
}

port.on('message', (m: ToWorker) => void handle(m));

inSession(() => InferenceSession.create(data.bytes, data.options)).then(
  (s) => {
    session = s;
    reply({ type: 'meta', inputs: meta(s.inputMetadata), outputs: meta(s.outputMetadata) });
  },
  (err: unknown) => reply(errorReply(err)),
);
