/**
 * The config loader (cli/boot.ts loadConfig: YAML parse + line schema) run on a worker thread, so a case that
 * never returns is caught by a deadline instead of blocking the test: the load is synchronous, and a timer on
 * the same thread would never fire. The test talks to `ConfigLoader`; the same module is the worker's body
 * (runtime/worker/spawn-worker.ts starts it), told apart by `workerData.role`.
 *
 * A case past its deadline is a hang: the worker is terminated and a fresh one serves the next case. A worker
 * that dies (out of memory under its heap limit, an uncaught error) is reported the same way, then replaced.
 */
import { isMainThread, parentPort, workerData, type Worker } from 'node:worker_threads';
import { spawnWorker } from '../../runtime/worker/spawn-worker.ts';

const ROLE = 'linesight-config-fuzz';
const HEAP_LIMIT_MB = 1024;
const READY_TIMEOUT_MS = 60_000;

export type LoadOutcome =
  | { readonly kind: 'accepted'; readonly ms: number }
  | {
      readonly kind: 'threw';
      readonly ms: number;
      readonly name: string;
      readonly code: string | null;
      readonly message: string;
      readonly stack: string;
    }
  | { readonly kind: 'hang'; readonly ms: number }
  | { readonly kind: 'worker-died'; readonly ms: number; readonly message: string };

type Reply = { readonly id: number; readonly outcome: LoadOutcome } | { readonly ready: true };

export class ConfigLoader {
  private worker: Worker | null = null;
  private nextId = 0;
  private readonly warmUp: string | null;

  /** `warmUp`: a file each new worker loads once before it says ready, so no case pays for the first load's JIT. */
  constructor(warmUp: string | null = null) {
    this.warmUp = warmUp;
  }

  /** Loads `file` on the worker; resolves with what happened, a hang after `deadlineMs`. */
  async load(file: string, deadlineMs: number): Promise<LoadOutcome> {
    const worker = this.worker ?? (await this.start());
    const id = ++this.nextId;
    const t0 = performance.now();
    const outcome = await new Promise<LoadOutcome>((resolve) => {
      const done = (o: LoadOutcome) => {
        clearTimeout(timer);
        worker.off('message', onMessage);
        worker.off('error', onError);
        worker.off('exit', onExit);
        resolve(o);
      };
      const onMessage = (r: Reply) => {
        if ('id' in r && r.id === id) done(r.outcome);
      };
      const onError = (err: Error) => done({ kind: 'worker-died', ms: performance.now() - t0, message: `${err.name}: ${err.message}` });
      const onExit = (code: number) => done({ kind: 'worker-died', ms: performance.now() - t0, message: `worker exited with code ${code}` });
      const timer = setTimeout(() => done({ kind: 'hang', ms: performance.now() - t0 }), deadlineMs);
      worker.on('message', onMessage);
      worker.on('error', onError);
      worker.on('exit', onExit);
      worker.postMessage({ id, file });
    });
    if (outcome.kind === 'hang' || outcome.kind === 'worker-died') await this.close();
    return outcome;
  }

  async close(): Promise<void> {
    const w = this.worker;
    this.worker = null;
    if (w) await w.terminate();
  }

  private async start(): Promise<Worker> {
    const worker = spawnWorker(new URL(import.meta.url), {
      workerData: { role: ROLE, warmUp: this.warmUp },
      resourceLimits: { maxOldGenerationSizeMb: HEAP_LIMIT_MB },
    });
    // Between two loads nobody else listens: an 'error' then must not become an uncaught EventEmitter error.
    // (Never removeAllListeners() on a Worker: its own newListener hooks start its message port.)
    worker.on('error', () => {});
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => finish(new Error(`config fuzz worker not ready after ${READY_TIMEOUT_MS} ms`)), READY_TIMEOUT_MS);
      const onError = (err: Error) => finish(err);
      const onMessage = (r: Reply) => {
        if ('ready' in r) finish(null);
      };
      const finish = (err: Error | null) => {
        clearTimeout(timer);
        worker.off('error', onError);
        worker.off('message', onMessage);
        if (err) reject(err);
        else resolve();
      };
      worker.on('error', onError);
      worker.on('message', onMessage);
    });
    this.worker = worker;
    return worker;
  }
}

/** Worker side: warm the schema, say ready, then load each file asked for and report how it went. */
async function serve(port: NonNullable<typeof parentPort>): Promise<void> {
  const { loadConfig, lineSchema } = await import('../../cli/boot.ts');
  lineSchema();
  const { warmUp } = workerData as { warmUp: string | null };
  if (warmUp !== null) {
    try {
      loadConfig(warmUp);
    } catch {
      // A warm-up only: whatever it says, the cases are what count.
    }
  }
  port.on('message', ({ id, file }: { id: number; file: string }) => {
    const t0 = performance.now();
    let outcome: LoadOutcome;
    try {
      loadConfig(file);
      outcome = { kind: 'accepted', ms: performance.now() - t0 };
    } catch (err) {
      const e = err instanceof Error ? err : new Error(String(err));
      const code = (e as { code?: unknown }).code;
      outcome = {
        kind: 'threw',
        ms: performance.now() - t0,
        name: e.name,
        code: typeof code === 'string' ? code : null,
        message: e.message,
        stack: e.stack ?? '',
      };
    }
    port.postMessage({ id, outcome } satisfies Reply);
  });
  port.postMessage({ ready: true } satisfies Reply);
}

if (!isMainThread && parentPort && (workerData as { role?: unknown } | null)?.role === ROLE) void serve(parentPort);
