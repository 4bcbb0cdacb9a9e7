/**
 * Starts a worker thread whose body is a TypeScript module, so worker bodies are type-checked like the rest of
 * the runtime instead of living in `eval` strings.
 *
 *   Node strips types itself (`process.features.typescript` truthy: Node ≥ 22.18, or 22.6+ with
 *   --experimental-strip-types, which workers inherit): the .ts file is the worker's entry, nothing else.
 *
 *   Otherwise (Node 20, our engine): tsx's ESM hooks are registered inside the worker, then the .ts entry is
 *   imported. `execArgv: ['--import', 'tsx']` does NOT work on Node 20 — a worker's entry is loaded without
 *   the hooks that flag registers (ERR_UNKNOWN_FILE_EXTENSION; nodejs/node#47747, privatenumber/tsx#354; tried
 *   here on 20.20 from `node bin/linesight.js`, the tsx CLI and a vitest fork) — and hooks registered in the
 *   main thread with `tsx/esm/api` register() never reach workers. So the worker's entry is a one-line
 *   bootstrap, the only code still passed as a string: it imports tsx's ESM API by absolute URL (resolved from
 *   this file, so the daemon's working directory does not matter), calls register() and imports the body.
 *   Each such worker starts its own tsx hooks thread: ≈ 100–200 ms more to start, nothing per message.
 *
 * The body reads `workerData` and `parentPort` from node:worker_threads as usual; an error while importing it
 * (syntax, missing module) surfaces as the Worker's 'error' event, like any uncaught error in the worker.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { Worker, type WorkerOptions } from 'node:worker_threads';

/** True when this Node runs .ts files itself (type stripping), so workers need no loader. */
export function nodeStripsTypes(): boolean {
  // @types/node 20 does not declare `features.typescript` (added in Node 22.10): 'strip' | 'transform' | false.
  return Boolean((process.features as { typescript?: string | false }).typescript);
}

let tsxApiUrl: string | null = null;

/**
 * file: URL of tsx's ESM API (`tsx/esm/api`, import condition), resolved from this file. Its CJS build cannot
 * be used instead: its register() resolves its hooks module to a path that does not exist (tried, tsx 4.23).
 */
function tsxEsmApi(): string {
  if (tsxApiUrl) return tsxApiUrl;
  const pkgPath = createRequire(import.meta.url).resolve('tsx/package.json');
  const pkg = JSON.parse(readFileSync(pkgPath, 'utf8')) as { exports?: Record<string, { import?: { default?: string } } | string> };
  const entry = pkg.exports?.['./esm/api'];
  const rel = typeof entry === 'object' ? entry.import?.default : undefined;
  if (!rel) throw new Error(`${pkgPath}: no ESM entry for tsx/esm/api`);
  tsxApiUrl = pathToFileURL(path.join(path.dirname(pkgPath), rel)).href;
  return tsxApiUrl;
}

/** Starts `entry` (a .ts module URL, e.g. `new URL('./body.ts', import.meta.url)`) on a new worker thread. */
export function spawnWorker(entry: URL, options: Omit<WorkerOptions, 'eval'> = {}): Worker {
  if (entry.protocol !== 'file:') throw new Error(`worker entry must be a file: URL, got ${entry.href}`);
  if (nodeStripsTypes()) return new Worker(entry, options);
  const bootstrap = `import(${JSON.stringify(tsxEsmApi())}).then((tsx) => { tsx.register(); return import(${JSON.stringify(entry.href)}); });`;
  return new Worker(bootstrap, { ...options, eval: true });
}
