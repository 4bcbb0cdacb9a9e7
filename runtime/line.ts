/**
 * One production line at run time: the store, and per station its models, metrology, sinks, outbox router,
 * source and the Trigger port bindings. Boot is an ordered list (store → per station: calibration, models,
 * sinks, outbox, source, trigger bindings → start); shutdown runs it backwards. The adapters arrive through the
 * registry the caller passes in (the composition root, cli/boot.ts), so runtime/ never imports adapters/.
 */
import path from 'node:path';
import type { Logger } from 'pino';
import type { AdapterRegistry } from './registry.ts';
import type { LineConfig, StationConfig, StationRecipeConfig } from './config/schema.ts';
import { ResultStore } from './store/sqlite-store.ts';
import { StationModel } from './inference/station-model.ts';
import { ResultRouter } from './results/router.ts';
import { Station, type StationRecipe } from './pipeline/station.ts';
import { RecipeBook } from './pipeline/recipe-book.ts';
import { MetrologyStage } from './metrology/stage.ts';
import type { LineService, ResultSink, StationPort } from './adapter.ts';
import { configIdOf } from './config/config-id.ts';
import { LinesightError } from './errors.ts';
import { HttpControl } from './control/http-control.ts';
import type { DiskGuardView } from './store/disk-guard.ts';
import type { StationHealthView } from './pipeline/station-health.ts';

/** What the loaders read of a recipe: the station's own `models`/`metrology` (the default) or an entry of `recipes`. */
type RecipeParts = Pick<StationRecipeConfig, 'models' | 'metrology'>;

export async function loadStationModels(
  config: Pick<LineConfig, 'dir'>,
  station: StationConfig,
  log?: Logger,
  recipe: RecipeParts = station,
): Promise<StationModel[]> {
  const models: StationModel[] = [];
  try {
    for (const m of recipe.models) models.push(await StationModel.load(m, config.dir, station.roi ?? null, log));
  } catch (err) {
    await Promise.all(models.map((m) => m.close()));
    throw err;
  }
  return models;
}

/** The station's hole metrology stage, or null without a `metrology` section (calibration read here, at boot). */
export function loadStationMetrology(config: Pick<LineConfig, 'dir'>, station: StationConfig, recipe: RecipeParts = station): MetrologyStage | null {
  return recipe.metrology ? MetrologyStage.load(recipe.metrology, config.dir, station.scale?.mmPerPx ?? null) : null;
}

/** One recipe of the station loaded as boot loads the default (metrology first, then the verified models): RecipeBook's loader. */
export async function loadStationRecipe(
  config: Pick<LineConfig, 'dir'>,
  station: StationConfig,
  recipe: StationRecipeConfig,
  log?: Logger,
): Promise<StationRecipe> {
  const metrology = loadStationMetrology(config, station, recipe);
  return { id: recipe.id, models: await loadStationModels(config, station, log, recipe), metrology };
}

interface StationParts {
  readonly station: Station;
  readonly router: ResultRouter;
  readonly sinks: readonly ResultSink[];
  readonly models: readonly StationModel[];
  /** The station's recipes (the default and the YAML's `recipes:`), switched at run time by the MES. */
  readonly recipes: RecipeBook;
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
  /** Line-wide services (the MES server), opened after the stations start. */
  readonly services: readonly LineService[];
  private readonly parts: readonly StationParts[];
  private readonly log: Logger;
  private opening: Promise<void> | null = null;

  private constructor(config: LineConfig, store: ResultStore, parts: StationParts[], services: LineService[], log: Logger) {
    this.config = config;
    this.store = store;
    this.parts = parts;
    this.services = services;
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
    const configId = configIdOf(config);
    let services: LineService[];
    try {
      for (const sc of config.stations) parts.push(await bootStation(config, sc, registry, store, configId, log));
      const ctx = serviceContext(config, store, parts, configId, log);
      services = config.services.map((o) => registry.createService(o, { ...ctx, log: log.child({ lineService: o.type }) }));
    } catch (err) {
      for (const p of parts) await p.recipes.close();
      for (const p of parts) await closeStationParts(p);
      store.close();
      throw err;
    }
    return new LineRuntime(config, store, parts, services, log);
  }

  /**
   * Starts the outboxes, the stations and the HTTP listener, then opens the services without waiting for them
   * (`whenServicesOpen`): node-opcua's start-up must not delay the first part.
   */
  async start(): Promise<void> {
    for (const p of this.parts) p.router.start();
    for (const p of this.parts) await p.station.start();
    await this.http?.listen();
    this.opening = Promise.all(this.services.map((s) => this.openService(s))).then(() => {});
  }

  /** Resolves when every service has opened or failed to (failures are logged; the line runs on). */
  whenServicesOpen(): Promise<void> {
    return this.opening ?? Promise.resolve();
  }

  private async openService(s: LineService): Promise<void> {
    const t0 = performance.now();
    try {
      await s.open();
      this.log.info({ service: s.name, ms: Math.round(performance.now() - t0) }, 'service open');
    } catch (err) {
      this.log.error({ err, service: s.name }, 'service failed to open: the line inspects on without it');
    }
  }

  /** Resolves when every station has stopped by itself (finite sources, maxParts). */
  async whenStationsStopped(): Promise<void> {
    await Promise.all(this.parts.map((p) => p.station.whenStopped()));
  }

  async stop(drainTimeoutMs = 3000): Promise<void> {
    await this.opening;
    for (const s of this.services) await s.close().catch((err: unknown) => this.log.warn({ err, service: s.name }, 'service failed to close'));
    await this.http?.close();
    await Promise.all(this.parts.map((p) => p.station.stop()));
    await Promise.all(this.parts.map((p) => p.recipes.close()));
    await Promise.all(this.parts.map((p) => p.router.close(drainTimeoutMs)));
    for (const p of this.parts) await closeStationParts(p);
    this.store.close();
    this.log.info('line stopped');
  }
}

async function bootStation(
  config: LineConfig,
  sc: StationConfig,
  registry: AdapterRegistry,
  store: ResultStore,
  configId: string,
  log: Logger,
): Promise<StationParts> {
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
    const station = new Station({ config: sc, line: config.line, source, models, results: router, log: slog, metrology, configId });
    triggerSink?.triggers?.bindTrigger(station);
    const recipes = new RecipeBook(station, sc, (entry) => loadStationRecipe(config, sc, entry, slog), slog);
    return { station, router, sinks, models, recipes };
  } catch (err) {
    await closeStationParts({ sinks, models });
    throw err;
  }
}

function serviceContext(config: LineConfig, store: ResultStore, parts: readonly StationParts[], configId: string, log: Logger) {
  const stations = parts.map((p): StationPort => {
    const trigger = config.stations.find((s) => s.name === p.station.name)!.trigger;
    return {
      station: p.station,
      health: () => p.router.health,
      onHealth: (listener) => p.router.onHealth(listener),
      dispatchers: p.router.dispatchers,
      recipes: p.recipes,
      continuousFps: trigger.mode === 'free-run' ? trigger.fps : (trigger.continuousFps ?? null),
    };
  });
  return { log, configDir: config.dir, line: config.line, configId, storeFile: store.path, store, stations };
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
