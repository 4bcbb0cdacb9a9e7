/**
 * The recipes of one station and the switching between them at run time (docs/recipes.md). The default recipe —
 * the station's own `recipe`/`models`/`metrology` — is loaded at boot and stays loaded, so falling back to it is
 * instant; an alternative of `recipes:` is loaded (its models verified as at boot) when it is prepared, put in
 * force from the next part on, and closed when another recipe replaces it: one alternative at a time.
 *
 * Prepares and unprepares run one after the other (a later one waits for the one in progress). Models of a
 * replaced alternative close only once no part is being inspected with them (`station.whenIdle()`). The default's
 * models are the line's to close (runtime/line.ts), never the book's: `close()` closes only an alternative.
 */
import type { Logger } from 'pino';
import type { StationConfig, StationRecipeConfig } from '../config/schema.ts';
import { LinesightError } from '../errors.ts';
import type { Station, StationRecipe } from './station.ts';

/** Loads one recipe of the station (models verified, metrology read), or throws; runtime/line.ts loadStationRecipe. */
export type RecipeLoader = (entry: StationRecipeConfig) => Promise<StationRecipe>;

/** What the book needs of the station. */
export type RecipeStation = Pick<Station, 'name' | 'recipe' | 'useRecipe' | 'whenIdle'>;

/** One recipe as a recipe list shows it. */
export interface RecipeView {
  readonly id: string;
  readonly description: string;
  /** Its models are loaded (the default always, an alternative while it is in force). */
  readonly prepared: boolean;
  /** It is the recipe the station inspects with. */
  readonly active: boolean;
  /** The names its models give results: the entry's `name`, else its manifest path. */
  readonly models: readonly string[];
  /** The default recipe (the station's own `recipe`). */
  readonly isDefault: boolean;
}

/** A recipe switch: the recipe now in force and the one it replaced. */
export type RecipeSwitchListener = (recipe: StationRecipe, previous: StationRecipe) => void;

export class RecipeBook {
  private readonly station: RecipeStation;
  private readonly entries: readonly StationRecipeConfig[];
  private readonly load: RecipeLoader;
  private readonly log: Logger | undefined;
  private readonly defaultRecipe: StationRecipe;
  /** The alternative loaded (always the one in force), or null while the default is. */
  private loaded: StationRecipe | null = null;
  private queue: Promise<unknown> = Promise.resolve();
  private readonly listeners: RecipeSwitchListener[] = [];
  private closing: Promise<void> | null = null;

  /** Build it at boot, while the station still inspects with its default recipe. */
  constructor(station: RecipeStation, config: StationConfig, load: RecipeLoader, log?: Logger) {
    this.station = station;
    this.load = load;
    this.log = log;
    this.defaultRecipe = station.recipe;
    if (this.defaultRecipe.id !== config.recipe) {
      throw new LinesightError(
        'LS_ERR_CONFIG_INVALID',
        `station ${config.name}: its recipe book must be built while the default recipe is in force`,
        {
          station: config.name,
          recipe: this.defaultRecipe.id,
          default: config.recipe,
        },
      );
    }
    const own: StationRecipeConfig = { id: config.recipe, models: config.models, ...(config.metrology ? { metrology: config.metrology } : {}) };
    this.entries = [own, ...(config.recipes ?? [])];
  }

  /** The default first, then the alternatives in YAML order. */
  list(): RecipeView[] {
    const active = this.station.recipe.id;
    return this.entries.map((e, i) => ({
      id: e.id,
      description: e.description ?? '',
      prepared: i === 0 || this.loaded?.id === e.id,
      active: e.id === active,
      models: e.models.map((m) => m.name ?? m.manifest),
      isDefault: i === 0,
    }));
  }

  /** Heard after every switch (prepare, unprepare, close). */
  onSwitch(listener: RecipeSwitchListener): void {
    this.listeners.push(listener);
  }

  /**
   * Loads the recipe (unless it is the default) and puts it in force from the next part on; resolves with it once
   * loaded. The recipe in force already: a no-op. A recipe that fails to load leaves the station on its recipe
   * (LS_ERR_RECIPE_LOAD_FAILED with the cause); an unknown id is LS_ERR_RECIPE_UNKNOWN.
   */
  async prepare(id: string): Promise<StationRecipe> {
    const entry = this.entry(id);
    return this.serialized(async () => {
      if (this.station.recipe.id === id) return this.station.recipe;
      if (entry === this.entries[0]) {
        await this.switchTo(this.defaultRecipe);
        return this.defaultRecipe;
      }
      const recipe = await this.loadEntry(entry);
      await this.switchTo(recipe);
      return recipe;
    });
  }

  /**
   * Takes an alternative out of force: the station falls back to the default and the alternative's models close.
   * One not prepared: a no-op. The default cannot be unprepared (LS_ERR_RECIPE_IN_USE).
   */
  async unprepare(id: string): Promise<void> {
    const entry = this.entry(id);
    if (entry === this.entries[0]) {
      throw new LinesightError('LS_ERR_RECIPE_IN_USE', `station ${this.station.name}: '${id}' is the default recipe, which stays loaded`, {
        station: this.station.name,
        recipe: id,
      });
    }
    return this.serialized(async () => {
      if (this.loaded?.id === id) await this.switchTo(this.defaultRecipe);
    });
  }

  /** Falls back to the default and closes the alternative in force, if any; later prepares are refused. */
  close(): Promise<void> {
    this.closing ??= this.serialized(async () => {
      if (this.loaded !== null) await this.switchTo(this.defaultRecipe);
    });
    return this.closing;
  }

  private entry(id: string): StationRecipeConfig {
    const entry = this.entries.find((e) => e.id === id);
    if (entry === undefined) {
      throw new LinesightError('LS_ERR_RECIPE_UNKNOWN', `station ${this.station.name} has no recipe '${id}'`, {
        station: this.station.name,
        recipe: id,
        known: this.entries.map((e) => e.id),
      });
    }
    return entry;
  }

  /** Runs `task` after every earlier one has settled; refused once the book is closed. */
  private serialized<T>(task: () => Promise<T>): Promise<T> {
    if (this.closing !== null) {
      return Promise.reject(
        new LinesightError('LS_ERR_RECIPE_LOAD_FAILED', `station ${this.station.name}: its recipes are closed`, { station: this.station.name }),
      );
    }
    const run = this.queue.then(task);
    this.queue = run.catch(() => {});
    return run;
  }

  private async loadEntry(entry: StationRecipeConfig): Promise<StationRecipe> {
    const t0 = performance.now();
    try {
      const recipe = await this.load(entry);
      this.log?.info(
        { recipe: entry.id, ms: Math.round(performance.now() - t0), models: recipe.models.map((m) => m.name) },
        'recipe loaded and verified',
      );
      return recipe;
    } catch (err) {
      this.log?.error({ err, recipe: entry.id, current: this.station.recipe.id }, 'recipe failed to load: the station keeps its recipe');
      throw new LinesightError(
        'LS_ERR_RECIPE_LOAD_FAILED',
        `station ${this.station.name}: recipe '${entry.id}' could not be loaded (${err instanceof Error ? err.message : String(err)})`,
        { station: this.station.name, recipe: entry.id, current: this.station.recipe.id },
        { cause: err },
      );
    }
  }

  /** Puts `recipe` in force, then closes the replaced alternative's models once no part uses them. */
  private async switchTo(recipe: StationRecipe): Promise<void> {
    const previous = this.station.useRecipe(recipe);
    this.loaded = recipe === this.defaultRecipe ? null : recipe;
    this.log?.info({ recipe: recipe.id, previous: previous.id }, 'recipe in force');
    for (const l of this.listeners) {
      try {
        l(recipe, previous);
      } catch (err) {
        this.log?.error({ err, recipe: recipe.id }, 'recipe switch listener failed');
      }
    }
    // Ids are unique within the station (schema): the default's models are never the book's to close.
    if (previous.id === this.defaultRecipe.id) return;
    await this.station.whenIdle();
    await Promise.all(previous.models.map((m) => m.close().catch((err: unknown) => this.log?.warn({ err, model: m.name }, 'model failed to close'))));
    this.log?.info({ recipe: previous.id, models: previous.models.length }, 'replaced recipe closed');
  }
}
