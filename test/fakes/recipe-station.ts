/**
 * A running software-triggered surface station on the shipped surface-anomaly model (default recipe `panel-A`) with
 * its RecipeBook and three alternatives, loaded by the line's own loader (runtime/line.ts loadStationRecipe):
 *
 *   panel-B    the same model with threshold 0 and reason PANEL_B_ANOMALY: every part NOK with that reason
 *   segmenter  the shipped surface-segmenter model
 *   broken     a copy of surface-anomaly whose model.yaml pins a wrong sha256: refused at load
 *
 * Every model the book's loader loads is kept in `loaded`, so a test can check that each one was closed.
 */
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pino, type Logger } from 'pino';
import type { StationConfig, StationModelConfig } from '../../runtime/config/schema.ts';
import { DEFAULT_RUN_TIMEOUT_MS } from '../../runtime/inference/inference-worker.ts';
import type { StationModel } from '../../runtime/inference/station-model.ts';
import { loadStationModels, loadStationRecipe } from '../../runtime/line.ts';
import { RecipeBook } from '../../runtime/pipeline/recipe-book.ts';
import { Station } from '../../runtime/pipeline/station.ts';
import type { InspectionResult } from '../../runtime/results/result.ts';
import { ResultRouter } from '../../runtime/results/router.ts';
import { ResultStore } from '../../runtime/store/sqlite-store.ts';
import { ReplaySource } from './replay-source.ts';
import { stationConfig } from './station-config.ts';

export const MODELS = path.resolve(import.meta.dirname, '../../models');

export interface RecipeStation {
  readonly config: StationConfig;
  readonly station: Station;
  readonly book: RecipeBook;
  readonly results: InspectionResult[];
  /** The default recipe's models (the line closes them, not the book). */
  readonly defaultModels: readonly StationModel[];
  /** Every model the book's loader loaded, in order. */
  readonly loaded: StationModel[];
  /** Stops the station, closes the book, then the default's models and the store. */
  close(): Promise<void>;
}

/** A station model entry; `over` may carry a decoder rule key (`anomaly:`), which the schema builds per decoder kind. */
function model(manifest: string, over: Partial<StationModelConfig> & Readonly<Record<string, unknown>> = {}): StationModelConfig {
  return { manifest, intraOpThreads: 1, runTimeoutMs: DEFAULT_RUN_TIMEOUT_MS, ...over };
}

/** A copy of models/surface-anomaly whose model.yaml pins another sha256; returns the manifest's path. */
function wrongPinManifest(dir: string): string {
  const copy = path.join(dir, 'surface-anomaly-wrong-pin');
  cpSync(path.join(MODELS, 'surface-anomaly'), copy, { recursive: true });
  const manifest = path.join(copy, 'model.yaml');
  writeFileSync(manifest, readFileSync(manifest, 'utf8').replace(/sha256: [0-9a-f]{64}/, `sha256: "${'0'.repeat(64)}"`));
  return manifest;
}

export async function startRecipeStation(log: Logger = pino({ level: 'silent' })): Promise<RecipeStation> {
  const dir = mkdtempSync(path.join(tmpdir(), 'ls-recipes-'));
  const config = stationConfig({
    recipes: [
      {
        id: 'panel-B',
        description: 'panel B: any anomaly score is NOK',
        models: [model('surface-anomaly/model.yaml', { anomaly: { threshold: 0, reason: 'PANEL_B_ANOMALY' } })],
      },
      { id: 'segmenter', models: [model('surface-segmenter/model.yaml', { name: 'segmenter' })] },
      { id: 'broken', models: [model(wrongPinManifest(dir))] },
    ],
  });
  const line = { dir: MODELS };
  const store = new ResultStore(path.join(dir, 'results.sqlite'));
  const defaultModels = await loadStationModels(line, config, log);
  const router = new ResultRouter(store, config.name, [], log);
  const station = new Station({ config, line: 'test-line', source: new ReplaySource(4), models: defaultModels, results: router, log });
  const loaded: StationModel[] = [];
  const book = new RecipeBook(
    station,
    config,
    async (entry) => {
      const recipe = await loadStationRecipe(line, config, entry, log);
      loaded.push(...recipe.models);
      return recipe;
    },
    log,
  );
  const results: InspectionResult[] = [];
  station.onResult((r) => results.push(r));
  await station.start();
  return {
    config,
    station,
    book,
    results,
    defaultModels,
    loaded,
    async close() {
      await station.stop();
      await book.close();
      for (const m of defaultModels) await m.close();
      store.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
