/**
 * Composition root: the only runtime module that knows the adapter catalog. Boot is an ordered list
 * (store → simulated PLC → per station: models, sinks, outbox, source → start), shutdown runs it backwards.
 */
import path from 'node:path';
import type { Logger } from 'pino';
import { ADAPTERS } from '../adapters/catalog.ts';
import { SimulatedPlc } from '../sim/plc/simulated-plc.ts';
import { AdapterRegistry } from '../runtime/registry.ts';
import { buildLineSchema, type LineConfig, type LineSchema, type StationConfig } from '../runtime/config/schema.ts';
import { loadLineConfig } from '../runtime/config/load.ts';
import { ResultStore } from '../runtime/store/sqlite-store.ts';
import { StationModel } from '../runtime/inference/station-model.ts';
import { ResultRouter } from '../runtime/results/router.ts';
import { Station } from '../runtime/pipeline/station.ts';
import { MetrologyStage } from '../runtime/metrology/stage.ts';
import type { ResultSink } from '../runtime/adapter.ts';
import { isTriggerDriver } from '../adapters/shared/plc/trigger-driver.ts';
import { LinesightError } from '../runtime/errors.ts';

export function createRegistry(): AdapterRegistry {
  const registry = new AdapterRegistry();
  for (const def of ADAPTERS) registry.register(def);
  return registry.freeze();
}

let cachedSchema: LineSchema | null = null;

export function lineSchema(): LineSchema {
  if (!cachedSchema) {
    const registry = createRegistry();
    cachedSchema = buildLineSchema(registry.optionsSchema('source'), registry.optionsSchema('sink'));
  }
  return cachedSchema;
}

export function loadConfig(file: string): LineConfig {
  return loadLineConfig(file, lineSchema());
}

export async function loadStationModels(config: LineConfig, station: StationConfig): Promise<StationModel[]> {
  const models: StationModel[] = [];
  for (const m of station.models) models.push(await StationModel.load(m, config.dir, station.roi ?? null));
  return models;
}

/** The station's hole metrology stage, or null without a `metrology` section (calibration read here, at boot). */
export function loadStationMetrology(config: LineConfig, station: StationConfig): MetrologyStage | null {
  return station.metrology ? MetrologyStage.load(station.metrology, config.dir, station.scale?.mmPerPx ?? null) : null;
}

interface StationParts {
  readonly station: Station;
  readonly router: ResultRouter;
  readonly sinks: readonly ResultSink[];
  readonly models: readonly StationModel[];
}

export class LineRuntime {
  readonly config: LineConfig;
  readonly store: ResultStore;
  readonly plc: SimulatedPlc | null;
  private readonly parts: readonly StationParts[];
  private readonly log: Logger;

  private constructor(config: LineConfig, store: ResultStore, plc: SimulatedPlc | null, parts: StationParts[], log: Logger) {
    this.config = config;
    this.store = store;
    this.plc = plc;
    this.parts = parts;
    this.log = log;
  }

  get stations(): Station[] {
    return this.parts.map((p) => p.station);
  }

  get routers(): ResultRouter[] {
    return this.parts.map((p) => p.router);
  }

  static async boot(config: LineConfig, log: Logger): Promise<LineRuntime> {
    const registry = createRegistry();
    const store = new ResultStore(path.resolve(config.dir, config.store.path));
    let plc: SimulatedPlc | null = null;
    const parts: StationParts[] = [];
    try {
      if (config.simulatedPlc) {
        plc = new SimulatedPlc({ host: config.simulatedPlc.host, port: config.simulatedPlc.port });
        await plc.start();
        log.info({ endpoint: plc.endpoint }, 'simulated PLC listening');
      }
      for (const sc of config.stations) parts.push(await bootStation(config, sc, registry, store, log));
    } catch (err) {
      for (const p of parts) await closeStationParts(p);
      await plc?.stop();
      store.close();
      throw err;
    }
    return new LineRuntime(config, store, plc, parts, log);
  }

  async start(): Promise<void> {
    for (const p of this.parts) p.router.start();
    for (const p of this.parts) await p.station.start();
  }

  /** Resolves when every station has stopped by itself (finite sources, maxParts). */
  async whenStationsStopped(): Promise<void> {
    await Promise.all(this.parts.map((p) => p.station.whenStopped()));
  }

  async stop(drainTimeoutMs = 3000): Promise<void> {
    await Promise.all(this.parts.map((p) => p.station.stop()));
    await Promise.all(this.parts.map((p) => p.router.close(drainTimeoutMs)));
    for (const p of this.parts) await closeStationParts(p);
    await this.plc?.stop();
    this.store.close();
    this.log.info('line stopped');
  }
}

async function bootStation(config: LineConfig, sc: StationConfig, registry: AdapterRegistry, store: ResultStore, log: Logger): Promise<StationParts> {
  const slog = log.child({ station: sc.name });
  const ctx = { log: slog, configDir: config.dir, line: config.line, station: sc.name };
  const metrology = loadStationMetrology(config, sc); // reads the calibration: fail before models load
  const models = await loadStationModels(config, sc);
  slog.info({ models: models.map((m) => ({ name: m.name, sha256: m.onnx.sha256.slice(0, 12) })) }, 'models loaded and verified');
  const sinks = sc.sinks.map((o) => registry.createSink(o, ctx));
  checkPlcTrigger(sc, sinks); // before any sink opens a port
  for (const s of sinks) await s.open();
  const router = new ResultRouter(store, sc.name, sinks, slog);
  const source = registry.createSource(sc.source, ctx);
  const station = new Station({ config: sc, line: config.line, source, models, results: router, log: slog, metrology });
  bindPlcTriggers(sc, sinks, station);
  return { station, router, sinks, models };
}

async function closeStationParts(p: StationParts): Promise<void> {
  for (const s of p.sinks) await s.close().catch(() => {});
  for (const m of p.models) await m.close().catch(() => {});
}

function checkPlcTrigger(sc: StationConfig, sinks: readonly ResultSink[]): void {
  const via = sc.trigger.mode === 'plc' ? sc.trigger.via : null;
  if (via !== null && !sinks.some((s) => s.name === via && isTriggerDriver(s) && s.acceptsTriggers)) {
    throw new LinesightError('LS_ERR_CONFIG_INVALID', `station ${sc.name}: trigger.via '${via}' names no handshake sink of this station`, {
      station: sc.name, via, sinks: sinks.map((s) => s.name),
    });
  }
}

/** Binds handshake sinks (Modbus server mode, OPC UA with handshake) to their station; see runtime/plc/trigger-driver.ts. */
function bindPlcTriggers(sc: StationConfig, sinks: readonly ResultSink[], station: Station): void {
  const via = sc.trigger.mode === 'plc' ? sc.trigger.via : null;
  for (const s of sinks) {
    if (!isTriggerDriver(s)) continue;
    const trigger = s.name === via ? (partId: string | null) => station.trigger(partId) : null;
    s.attachStation({ name: station.name, onResult: (l) => station.onResult(l), trigger });
  }
}
