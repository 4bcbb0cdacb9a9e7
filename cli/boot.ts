/**
 * The composition root: the one place that knows the adapter catalog and the simulated plant. It builds the
 * registry from adapters/catalog.ts, the line schema from the adapters' own option schemas, and boots a line
 * (runtime/line.ts) beside the embedded simulated PLC when the YAML asks for one (demo line, tests).
 */
import path from 'node:path';
import type { Logger } from 'pino';
import { ADAPTERS } from '../adapters/catalog.ts';
import { SimulatedPlc } from '../sim/plc/simulated-plc.ts';
import { AdapterRegistry } from '../runtime/registry.ts';
import { buildLineSchema, type LineConfig, type LineSchema } from '../runtime/config/schema.ts';
import { loadLineConfig } from '../runtime/config/load.ts';
import { LineRuntime } from '../runtime/line.ts';
import { prepareStorePath } from '../runtime/store/store-path.ts';

export function createRegistry(): AdapterRegistry {
  const registry = new AdapterRegistry();
  for (const def of ADAPTERS) registry.register(def);
  return registry.freeze();
}

let cachedSchema: LineSchema | null = null;

export function lineSchema(): LineSchema {
  if (!cachedSchema) {
    const registry = createRegistry();
    cachedSchema = buildLineSchema(registry.optionsSchema('source'), registry.optionsSchema('sink'), registry.optionsSchema('service'));
  }
  return cachedSchema;
}

export function loadConfig(file: string): LineConfig {
  return loadLineConfig(file, lineSchema());
}

/** A booted line and the simulated plant around it; `stop()` takes both down, line first. */
export interface BootedLine {
  readonly line: LineRuntime;
  readonly plc: SimulatedPlc | null;
  stop(drainTimeoutMs?: number): Promise<void>;
}

/**
 * Boots the line: the store's folder made and its path checked first (runtime/store/store-path.ts; no recursive
 * mkdir, which never returns under /proc), then the simulated PLC, then the line. `run` has run cli/preflight.ts
 * before this, so a refused model or a port clash never gets this far.
 */
export async function bootLine(config: LineConfig, log: Logger): Promise<BootedLine> {
  prepareStorePath(path.resolve(config.dir, config.store.path));
  let plc: SimulatedPlc | null = null;
  if (config.simulatedPlc) {
    plc = new SimulatedPlc({ host: config.simulatedPlc.host, port: config.simulatedPlc.port });
    await plc.start();
    log.info({ endpoint: plc.endpoint }, 'simulated PLC listening');
  }
  let line: LineRuntime;
  try {
    line = await LineRuntime.boot(config, { registry: createRegistry(), log });
  } catch (err) {
    await plc?.stop();
    throw err;
  }
  return {
    line,
    plc,
    async stop(drainTimeoutMs?: number) {
      await line.stop(drainTimeoutMs);
      await plc?.stop();
    },
  };
}
