/**
 * What `linesight validate` and `linesight run` check of a loaded line YAML before anything opens: one list, one
 * code path, so `validate` passes only what `run` would start, with the same exit code. In the order `run` boots:
 *
 *   1. the store path can hold the SQLite database (runtime/store/store-path.ts; nothing is created);
 *   2. per station and recipe (the default and each of `recipes:`), its metrology calibration file is there and
 *      valid (the very loader boot uses);
 *   3. per station and recipe, each model loads as on the line: model.yaml, the file and its sha256 pin,
 *      inputs/outputs, golden checks (StationModel.load, then closed);
 *   4. no two listeners of the line (simulated PLC, HTTP control, adapters that declare `listeners`) on one
 *      host:port. A client sink connecting to the simulated PLC's port is no clash.
 *
 * Each problem is placed at its key in the YAML (`FILE:LINE key.path: message`) and carries the exit code
 * cli/exit-codes.ts gives its error; the command's exit code is that of the first problem.
 */
import path from 'node:path';
import type { AdapterListener } from '../runtime/adapter.ts';
import { formatProblem, problemAt, type ConfigProblem } from '../runtime/config/load.ts';
import type { LineConfig, StationConfig, StationRecipeConfig } from '../runtime/config/schema.ts';
import { isLinesightError, LinesightError, reasonOf } from '../runtime/errors.ts';
import { StationModel } from '../runtime/inference/station-model.ts';
import { loadStationMetrology } from '../runtime/line.ts';
import type { AdapterRegistry } from '../runtime/registry.ts';
import { checkStorePath } from '../runtime/store/store-path.ts';
import { checkFramePool } from '../runtime/pipeline/station.ts';
import { pino } from 'pino';
import { EXIT, exitCodeOf } from './exit-codes.ts';

/** Sources are built (never opened) to learn their frame size; what they log then is of no interest. */
const silentLog = pino({ level: 'silent' });

export interface PreflightProblem extends ConfigProblem {
  /** The error behind the problem (its code, context and cause). */
  readonly error: unknown;
  /** The exit code the problem gives, by exitCodeOf. */
  readonly exit: number;
}

type KeyPath = readonly (string | number)[];

interface Found {
  readonly keyPath: KeyPath;
  readonly error: unknown;
}

/** Every problem of the line YAML that `run` would meet before its line runs; [] when it would start. */
export async function preflight(config: LineConfig, displayName: string, registry: AdapterRegistry): Promise<PreflightProblem[]> {
  const found: Found[] = [...attempt(['store', 'path'], () => checkStorePath(path.resolve(config.dir, config.store.path)))];
  const models = await Promise.all(config.stations.map((st, i) => checkModels(config, st, i)));
  config.stations.forEach((st, i) => found.push(...checkCalibration(config, st, i), ...models[i]!, ...checkPool(config, st, i, registry)));
  const problems = found.map((f) => toProblem(config, displayName, f.keyPath, f.error));
  return [...problems, ...portClashes(config, displayName, registry)];
}

/** Writes each problem as `FILE:LINE key.path: message` and returns the exit code: the first problem's, else 0. */
export function reportProblems(problems: readonly PreflightProblem[], write: (line: string) => void): number {
  for (const p of problems) write(`${formatProblem(p)}\n`);
  return problems[0]?.exit ?? EXIT.OK;
}

function attempt(keyPath: KeyPath, check: () => void): Found[] {
  try {
    check();
    return [];
  } catch (error) {
    return [{ keyPath, error }];
  }
}

/** The station's own recipe (at `stations[i]`) and each alternative (at `stations[i].recipes[k]`), with their YAML key. */
function recipesOf(st: StationConfig, i: number): { recipe: StationRecipeConfig; at: KeyPath }[] {
  const own = { recipe: { id: st.recipe, models: st.models, metrology: st.metrology }, at: ['stations', i] };
  return [own, ...(st.recipes ?? []).map((recipe, k) => ({ recipe, at: ['stations', i, 'recipes', k] }))];
}

function checkCalibration(config: LineConfig, st: StationConfig, i: number): Found[] {
  return recipesOf(st, i).flatMap(({ recipe, at }) => {
    if (!recipe.metrology) return [];
    const key = recipe.metrology.calibration ? [...at, 'metrology', 'calibration'] : [...at, 'metrology'];
    return attempt(key, () => void loadStationMetrology(config, st, recipe));
  });
}

/** The station's frame pool within its memory limit, for the frame size its source is configured for (nothing opened). */
function checkPool(config: LineConfig, st: StationConfig, i: number, registry: AdapterRegistry): Found[] {
  return attempt(['stations', i, 'source'], () => {
    const source = registry.createSource(st.source, { log: silentLog, configDir: config.dir, line: config.line, station: st.name });
    checkFramePool(st, source);
  });
}

/**
 * Each model of each recipe of the station loaded as boot (or PrepareRecipe) loads it (file, sha256 pin,
 * inputs/outputs, golden checks), then closed.
 */
async function checkModels(config: LineConfig, st: StationConfig, i: number): Promise<Found[]> {
  const models = recipesOf(st, i).flatMap(({ recipe, at }) => recipe.models.map((m, j) => ({ m, keyPath: [...at, 'models', j, 'manifest'] })));
  const results = await Promise.all(
    models.map(async ({ m, keyPath }): Promise<Found | null> => {
      try {
        const model = await StationModel.load(m, config.dir, st.roi ?? null);
        await model.close();
        return null;
      } catch (error) {
        return { keyPath, error };
      }
    }),
  );
  return results.filter((r): r is Found => r !== null);
}

function toProblem(config: LineConfig, displayName: string, keyPath: KeyPath, error: unknown): PreflightProblem {
  return { ...problemAt(config.file, displayName, keyPath, describe(error)), error, exit: exitCodeOf(error) };
}

/** The error's message with its cause when the message does not already say it; an unexpected error as such. */
function describe(error: unknown): string {
  if (!isLinesightError(error)) return `unexpected failure: ${reasonOf(error)}`;
  const cause = error.cause === undefined ? '' : reasonOf(error.cause);
  // A one-line cause the message lacks (ENOENT …) is added; a multi-line one (a schema's issue list) is already in it.
  const addable = cause !== '' && !cause.includes('\n') && !error.message.includes(cause);
  return addable ? `${error.message} (${cause})` : error.message;
}

interface Listener extends AdapterListener {
  readonly keyPath: KeyPath;
}

/** Every fixed-port listener of the line, in YAML order. */
function lineListeners(config: LineConfig, registry: AdapterRegistry): Listener[] {
  const out: Listener[] = [];
  const plc = config.simulatedPlc;
  if (plc) out.push({ host: plc.host, port: plc.port, what: 'the simulated PLC', keyPath: ['simulatedPlc', 'port'] });
  const http = config.http;
  if (http && http.port !== 0) out.push({ host: http.host, port: http.port, what: 'the HTTP control listener', keyPath: ['http', 'port'] });
  config.stations.forEach((st, i) => {
    out.push(...adapterListeners(registry, 'source', st.source, ['stations', i, 'source'], `station ${st.name}'s source`));
    st.sinks.forEach((o, k) => out.push(...adapterListeners(registry, 'sink', o, ['stations', i, 'sinks', k], `station ${st.name}'s sink`)));
  });
  config.services.forEach((o, k) => out.push(...adapterListeners(registry, 'service', o, ['services', k], 'the line')));
  return out;
}

function adapterListeners(
  registry: AdapterRegistry,
  kind: 'source' | 'sink' | 'service',
  options: StationConfig['source'],
  at: KeyPath,
  owner: string,
): Listener[] {
  const def = registry.entries(kind).find((d) => d.type === options.type);
  const name = typeof options.name === 'string' ? ` ${options.name}` : '';
  return (def?.listeners?.(options) ?? []).map((l) => ({ ...l, what: `${l.what} (${owner}${name})`, keyPath: [...at, l.key ?? 'port'] }));
}

const ANY_HOST = new Set(['0.0.0.0', '::', '']);

/** Two listeners on one port clash when their hosts are the same, or either listens on every address. */
function sameSocket(a: Listener, b: Listener): boolean {
  if (a.port !== b.port) return false;
  const host = (h: string) => (h === 'localhost' ? '127.0.0.1' : h);
  return ANY_HOST.has(a.host) || ANY_HOST.has(b.host) || host(a.host) === host(b.host);
}

/** A problem at each listener that takes a host:port an earlier one already has, naming both places. */
function portClashes(config: LineConfig, displayName: string, registry: AdapterRegistry): PreflightProblem[] {
  const listeners = lineListeners(config, registry);
  const problems: PreflightProblem[] = [];
  listeners.forEach((b, n) => {
    const a = listeners.slice(0, n).find((x) => sameSocket(x, b));
    if (!a) return;
    const first = problemAt(config.file, displayName, a.keyPath, '');
    const error = new LinesightError(
      'LS_ERR_CONFIG_INVALID',
      `${b.what} would listen on ${b.host}:${b.port}, which ${a.what} already takes (${first.file}:${first.line} ${first.keyPath}); give one of them another port`,
      { host: b.host, port: b.port, first: first.keyPath, second: b.keyPath.join('.') },
    );
    problems.push(toProblem(config, displayName, b.keyPath, error));
  });
  return problems;
}
