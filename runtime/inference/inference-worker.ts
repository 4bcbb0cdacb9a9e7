/**
 * An onnxruntime session on its own worker thread. onnxruntime-node 1.30 runs `session.run` synchronously on
 * the calling thread (inside a setImmediate), so on the main thread every inference would stall the event
 * loop: acquisition, PLC polls and handshakes, other stations. Here the main thread only posts a message.
 *
 * Buffers: the model's input and outputs live in SharedArrayBuffers that the preprocessor and decoders use
 * in place. The binding refuses tensors over SharedArrayBuffer ("Invalid argument", tried here), so the worker
 * keeps private tensors and copies in and out: two memcpys per frame (256 KB each for a 256² map, tens of
 * µs), bought for an event loop that stays free while the model runs. The binding's own per-run allocations
 * (≈ 19 GCs per 1,000 runs) land on the worker's heap, not the main thread's.
 */
import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';

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

const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const ort = require(workerData.ortPath);
let session = null, feeds = null, fetches = null, sharedIn = null, localIn = null, outs = [];
const meta = (list) => list.map((m) => ({ name: m.name, isTensor: m.isTensor, shape: m.isTensor ? Array.from(m.shape) : [] }));
parentPort.on('message', async (m) => {
  if (m === 0) {
    try {
      localIn.set(sharedIn);
      const r = await session.run(feeds, fetches);
      for (const o of outs) o.shared.set(r[o.name].data);
      parentPort.postMessage(0);
    } catch (e) {
      parentPort.postMessage({ type: 'error', message: String((e && e.message) || e) });
    }
  } else if (m.type === 'bind') {
    sharedIn = new Float32Array(m.input);
    localIn = new Float32Array(sharedIn.length);
    feeds = { [m.inputName]: new ort.Tensor('float32', localIn, m.inputShape) };
    fetches = {};
    outs = m.outputs.map((o) => {
      const local = new Float32Array(o.size);
      fetches[o.name] = new ort.Tensor('float32', local, o.dims);
      return { name: o.name, shared: new Float32Array(o.sab) };
    });
    parentPort.postMessage({ type: 'bound' });
  } else if (m.type === 'close') {
    try { if (session) await session.release(); } catch {}
    parentPort.postMessage({ type: 'closed' });
    parentPort.close();
  }
});
ort.InferenceSession.create(workerData.bytes, workerData.options).then(
  (s) => { session = s; parentPort.postMessage({ type: 'meta', inputs: meta(s.inputMetadata), outputs: meta(s.outputMetadata) }); },
  (e) => parentPort.postMessage({ type: 'error', message: String((e && e.message) || e) }),
);
`;

type Reply = 0 | { type: 'meta'; inputs: TensorMeta[]; outputs: TensorMeta[] } | { type: 'bound' } | { type: 'closed' } | { type: 'error'; message: string };

export class InferenceWorker {
  private readonly worker: Worker;
  private pending: { resolve: (r: Reply) => void; reject: (e: Error) => void } | null = null;
  private dead: Error | null = null;
  private readonly onReply: (r: Reply) => void;

  private constructor(bytes: Uint8Array, options: SessionOptions) {
    const ortPath = createRequire(import.meta.url).resolve('onnxruntime-node');
    this.worker = new Worker(WORKER_SOURCE, { eval: true, workerData: { ortPath, bytes, options } });
    this.onReply = (r: Reply) => {
      const p = this.pending;
      this.pending = null;
      this.worker.unref(); // idle: a loaded model alone must not keep a finished command alive
      if (!p) return;
      if (r !== 0 && r.type === 'error') p.reject(new Error(r.message));
      else p.resolve(r);
    };
    this.worker.on('message', this.onReply);
    const fail = (err: Error) => {
      this.dead = err;
      this.pending?.reject(err);
      this.pending = null;
    };
    this.worker.on('error', fail);
    this.worker.on('exit', (code) => fail(new Error(`inference worker exited (code ${code})`)));
  }

  /** Starts the worker, creates the session there and returns its input/output metadata. */
  static async start(bytes: Uint8Array, options: SessionOptions): Promise<{ worker: InferenceWorker; meta: SessionMeta }> {
    const worker = new InferenceWorker(bytes, options);
    const reply = await worker.request(null);
    if (reply === 0 || reply.type !== 'meta') throw new Error('inference worker sent no metadata');
    return { worker, meta: { inputs: reply.inputs, outputs: reply.outputs } };
  }

  /** Hands the worker the shared input and output buffers, once. */
  async bind(inputName: string, inputShape: readonly number[], input: SharedArrayBuffer, outputs: readonly { name: string; dims: readonly number[]; sab: SharedArrayBuffer }[]): Promise<void> {
    const sized = outputs.map((o) => ({ ...o, size: o.sab.byteLength / 4 }));
    await this.request({ type: 'bind', inputName, inputShape, input, outputs: sized });
  }

  /** One inference: the shared input is read, the shared outputs are filled when this resolves. */
  async run(): Promise<void> {
    await this.request(0);
  }

  async close(): Promise<void> {
    if (this.dead) return;
    await this.request({ type: 'close' }).catch(() => {});
    await this.worker.terminate();
  }

  private request(message: unknown): Promise<Reply> {
    if (this.dead) return Promise.reject(this.dead);
    if (this.pending) return Promise.reject(new Error('inference worker is busy: one run at a time'));
    return new Promise<Reply>((resolve, reject) => {
      this.pending = { resolve, reject };
      this.worker.ref(); // a run in flight keeps the process alive until it answers
      if (message !== null) this.worker.postMessage(message);
    });
  }
}
