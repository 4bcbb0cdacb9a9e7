/**
 * One production line at run time: the store, and per station its models, metrology, sinks, outbox router,
 * source and the Trigger port bindings. Boot is an ordered list (store → per station: calibration, models,
 * sinks, outbox, source, trigger bindings → start); shutdown runs it backwards. The adapters arrive through the
 * registry the caller passes in (the composition root, cli/boot.ts), so runtime/ never imports adapters/.
 */
import path from 'node:path';
import type { Logger } from 'pino';
import type { AdapterRegistry } from './registry.ts';
import type { LineConfig, StationConfig } from './config/schema.ts';
import { ResultStore } from './store/sqlite-store.ts';
import { StationModel } from './inference/station-model.ts';
import { ResultRouter } from './results/router.ts';
import { Station } from './pipeline/station.ts';
import { MetrologyStage } from './metrology/stage.ts';
import type { ResultSink } from './adapter.ts';
import { LinesightError } from './errors.ts';
import { HttpControl } from './control/http-control.ts';
import type { DiskGuardView } from './store/disk-guard.ts';
import type { StationHealthView } from './pipeline/station-health.ts';

export async function loadStationModels(config: LineConfig, station: StationConfig, log?: Logger): Promise<StationModel[]> {
  const models: StationModel[] = [];
  try {
    for (const m of station.models) models.push(await StationModel.load(m, config.dir, station.roi ?? null, log));
  } catch (err) {
    await Promise.all(models.map((m) => m.close()));
    throw err;
  }
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

/** What the status line shows of the store: its disk guard and each station's health. */
export interface LineHealthView {
  /** The store disk's free-space guard; null for an in-memory store. */
  readonly disk: DiskGuardView | null;
  /** False while the store's disk is critical: the NOK image archive must not write. */
  readonly allowsArchive: boolean;
  readonly stations: readonly StationHealthView[];
}

export interface LineBootOptions {
  readonly registry: AdapterRegistry;
  readonly log: Logger;
}

export class LineRuntime {
  readonly config: LineConfig;
  readonly store: ResultStore;
  /** The HTTP control listener (software triggers), when the line YAML has `http:`. */
  readonly http: HttpControl | null;
  private readonly parts: readonly StationParts[];
  private readonly log: Logger;

  private constructor(config: LineConfig, store: ResultStore, parts: StationParts[], log: Logger) {
    this.config = config;
    this.store = store;
    this.parts = parts;
    this.log = log;
    this.http = config.http ? new HttpControl({ host: config.http.host, port: config.http.port, log }) : null;
    for (const { station } of parts) {
      this.http?.show(station);
      if (station.triggerMode === 'software') this.http?.bindTrigger(station);
    }
    const disk = store.disk;
    if (disk !== null) {
      // The guard's first reading may have come in while the stations booted.
      for (const p of parts) if (disk.state !== 'ok') p.router.diskState(disk.state);
      disk.on('change', (state) => {
        for (const p of parts) p.router.diskState(state);
      });
    }
  }

  /** The store's disk guard and each station's health (faults, store-failure counters), for the status line. */
  get health(): LineHealthView {
    return { disk: this.store.disk?.view() ?? null, allowsArchive: this.store.allowsArchive(), stations: this.parts.map((p) => p.router.health) };
  }

  get stations(): Station[] {
    return this.parts.map((p) => p.station);
  }

  get routers(): ResultRouter[] {
    return this.parts.map((p) => p.router);
  }

  /** The station of that name, or null. */
  station(name: string): Station | null {
    return this.parts.find((p) => p.station.name === name)?.station ?? null;
  }

  static async boot(config: LineConfig, options: LineBootOptions): Promise<LineRuntime> {
    const { registry, log } = options;
    const store = new ResultStore(path.resolve(config.dir, config.store.path), {
      ...(config.store.retention ? { retention: config.store.retention } : {}),
      freeSpace: config.store.freeSpace,
      log,
    });
    const parts: StationParts[] = [];
    try {
      for (const sc of config.stations) parts.push(await bootStation(config, sc, registry, store, log));
    } catch (err) {
      for (const p of parts) await closeStationParts(p);
      store.close();
      throw err;
    }
    return new LineRuntime(config, store, parts, log);
  }

  async start(): Promise<void> {
    for (const p of this.parts) p.router.start();
    for (const p of this.parts) await p.station.start();
    await this.http?.listen();
  }

  /** Resolves when every station has stopped by itself (finite sources, maxParts). */
  async whenStationsStopped(): Promise<void> {
    await Promise.all(this.parts.map((p) => p.station.whenStopped()));
  }

  async stop(drainTimeoutMs = 3000): Promise<void> {
    await this.http?.close();
    await Promise.all(this.parts.map((p) => p.station.stop()));
    await Promise.all(this.parts.map((p) => p.router.close(drainTimeoutMs)));
    for (const p of this.parts) await closeStationParts(p);
    this.store.close();
    this.log.info('line stopped');
  }
}

async function bootStation(config: LineConfig, sc: StationConfig, registry: AdapterRegistry, store: ResultStore, log: Logger): Promise<StationParts> {
  const slog = log.child({ station: sc.name });
  const ctx = { log: slog, configDir: config.dir, line: config.line, station: sc.name };
  const metrology = loadStationMetrology(config, sc); // reads the calibration: fail before models load
  const models = await loadStationModels(config, sc, slog);
  slog.info({ models: models.map((m) => ({ name: m.name, sha256: m.onnx.sha256.slice(0, 12) })) }, 'models loaded and verified');
  const sinks: ResultSink[] = [];
  try {
    for (const o of sc.sinks) sinks.push(registry.createSink(o, ctx));
    const triggerSink = plcTriggerSink(sc, sinks); // before any sink opens a port
    for (const s of sinks) await s.open();
    const router = new ResultRouter(store, sc.name, sinks, slog, {
      onFailure: config.store.onFailure,
      retryEverySeconds: config.store.retryEverySeconds,
    });
    const source = registry.createSource(sc.source, ctx);
    const station = new Station({ config: sc, line: config.line, source, models, results: router, log: slog, metrology });
    triggerSink?.triggers?.bindTrigger(station);
    return { station, router, sinks, models };
  } catch (err) {
    await closeStationParts({ sinks, models });
    throw err;
  }
}

async function closeStationParts(p: Pick<StationParts, 'sinks' | 'models'>): Promise<void> {
  for (const s of p.sinks) await s.close().catch(() => {});
  for (const m of p.models) await m.close().catch(() => {});
}

/** The sink named by `trigger: { mode: plc, via }`, which must declare a Trigger port (runtime/adapter.ts). */
function plcTriggerSink(sc: StationConfig, sinks: readonly ResultSink[]): ResultSink | null {
  if (sc.trigger.mode !== 'plc') return null;
  const via = sc.trigger.via;
  const sink = sinks.find((s) => s.name === via);
  if (sink?.triggers === undefined) {
    throw new LinesightError(
      'LS_ERR_CONFIG_INVALID',
      `station ${sc.name}: trigger.via '${via}' names no sink of this station that receives PLC triggers (modbus-server, or opcua with a handshake)`,
      {
        station: sc.name,
        via,
        sinks: sinks.map((s) => s.name),
      },
    );
  }
  return sink;
}
