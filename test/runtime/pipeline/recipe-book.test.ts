/**
 * RecipeBook on a real running station with the shipped ONNX models (test/fakes/recipe-station.ts): prepare puts an
 * alternative in force for the parts that follow (its id and its decision rule on their results), unprepare falls
 * back to the default, a wrong sha256 pin leaves the station on its recipe, and every model the book loaded is
 * closed once replaced — never while a part is being inspected with it.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { isLinesightError } from '../../../runtime/errors.ts';
import type { InspectionResult } from '../../../runtime/results/result.ts';
import { startRecipeStation, type RecipeStation } from '../../fakes/recipe-station.ts';
import { waitUntil } from '../../helpers/wait.ts';

let rs: RecipeStation | null = null;
afterEach(async () => {
  await rs?.close();
  rs = null;
});

/** Triggers `count` parts and resolves with their results, in order. */
async function inspect(s: RecipeStation, count: number, prefix: string): Promise<InspectionResult[]> {
  const ids = Array.from({ length: count }, (_, i) => `${prefix}-${i}`);
  for (const partId of ids) expect(s.station.trigger({ partId, origin: 'test' }).accepted).toBe(true);
  return waitUntil(
    () => {
      const found = ids.map((id) => s.results.find((r) => r.partId === id));
      return found.every((r) => r !== undefined) ? found : null;
    },
    { what: `${count} results of ${prefix}`, timeoutMs: 20_000, detail: () => `${s.results.length} results` },
  );
}

const reasonCodes = (r: InspectionResult) => r.reasons.map((x) => x.code);

async function failureOf(p: Promise<unknown>): Promise<unknown> {
  try {
    await p;
  } catch (err) {
    return err;
  }
  throw new Error('expected a rejection');
}

describe('RecipeBook', () => {
  it('lists the default first, then the alternatives; only the default prepared at boot', async () => {
    rs = await startRecipeStation();
    expect(rs.book.list()).toEqual([
      { id: 'panel-A', description: '', prepared: true, active: true, models: ['surface-anomaly/model.yaml'], isDefault: true },
      {
        id: 'panel-B',
        description: 'panel B: any anomaly score is NOK',
        prepared: false,
        active: false,
        models: ['surface-anomaly/model.yaml'],
        isDefault: false,
      },
      { id: 'segmenter', description: '', prepared: false, active: false, models: ['segmenter'], isDefault: false },
      expect.objectContaining({ id: 'broken', prepared: false, active: false }),
    ]);
    expect(rs.loaded).toEqual([]);
  });

  it('prepare switches the parts that follow to the recipe, its id and its decision rule on their results; unprepare falls back', async () => {
    rs = await startRecipeStation();
    const before = await inspect(rs, 4, 'A');
    expect(before.map((r) => r.recipe)).toEqual(['panel-A', 'panel-A', 'panel-A', 'panel-A']);
    expect(before.flatMap(reasonCodes)).not.toContain('PANEL_B_ANOMALY');
    expect(before.some((r) => r.verdict === 'OK')).toBe(true); // the default's threshold passes clean parts

    const recipe = await rs.book.prepare('panel-B');
    expect(recipe.id).toBe('panel-B');
    expect(rs.station.recipe.id).toBe('panel-B');
    expect(rs.book.list().find((r) => r.id === 'panel-B')).toMatchObject({ prepared: true, active: true });
    expect(rs.book.list()[0]).toMatchObject({ prepared: true, active: false });
    const after = await inspect(rs, 4, 'B');
    expect(after.map((r) => r.recipe)).toEqual(['panel-B', 'panel-B', 'panel-B', 'panel-B']);
    for (const r of after) {
      expect(r.verdict).toBe('NOK');
      expect(reasonCodes(r)).toContain('PANEL_B_ANOMALY');
    }

    await rs.book.unprepare('panel-B');
    expect(rs.station.recipe.id).toBe('panel-A');
    expect(rs.station.models).toBe(rs.defaultModels); // the default stayed loaded: the very same models
    expect(rs.loaded.map((m) => m.onnx.workerState)).toEqual(['closed']);
    expect(rs.defaultModels.map((m) => m.onnx.workerState)).toEqual(['running']);
    const back = await inspect(rs, 2, 'A2');
    expect(back.map((r) => r.recipe)).toEqual(['panel-A', 'panel-A']);
    expect(back.flatMap(reasonCodes)).not.toContain('PANEL_B_ANOMALY');
  });

  it('keeps one alternative loaded: the replaced one closes once the part inspected with it at the switch is decided', async () => {
    const s = (rs = await startRecipeStation());
    await s.book.prepare('panel-B');
    // Keep the station busy until the switch, so that a part is being inspected with panel-B when it comes.
    let switchedAt: number | null = null;
    s.book.onSwitch(() => (switchedAt ??= s.results.length));
    let fed = 0;
    const feed = () => s.station.trigger({ partId: `X-${fed++}`, origin: 'test' });
    s.station.onResult(() => {
      if (switchedAt === null) feed();
    });
    for (let i = 0; i < 3; i++) feed();
    await s.book.prepare('segmenter');
    const results = await waitUntil(() => s.results.length === fed && s.results, { what: 'every fed part decided', timeoutMs: 20_000 });
    const afterSwitch = results.slice(switchedAt!);
    expect(afterSwitch.filter((r) => r.recipe === 'panel-B').length, 'a part inspected with panel-B across the switch').toBeGreaterThan(0);
    expect(afterSwitch.at(-1)!.recipe).toBe('segmenter');
    expect(results.flatMap(reasonCodes)).not.toContain('INSPECTION_ERROR');
    expect(s.loaded.map((m) => [m.name, m.onnx.workerState])).toEqual([
      ['surface-anomaly', 'closed'],
      ['segmenter', 'running'],
    ]);
    const seg = await inspect(s, 2, 'S');
    expect(seg.map((r) => r.recipe)).toEqual(['segmenter', 'segmenter']);
    expect(seg[0]!.models.map((m) => m.name)).toEqual(['segmenter']);
    expect(
      s.book
        .list()
        .filter((r) => r.prepared)
        .map((r) => r.id),
    ).toEqual(['panel-A', 'segmenter']);
  });

  it('serializes two prepares asked at once: the later one wins, the earlier one is closed', async () => {
    rs = await startRecipeStation();
    const heard: string[] = [];
    rs.book.onSwitch((recipe, previous) => heard.push(`${previous.id}→${recipe.id}`));
    const [b, seg] = await Promise.all([rs.book.prepare('panel-B'), rs.book.prepare('segmenter')]);
    expect([b.id, seg.id]).toEqual(['panel-B', 'segmenter']);
    expect(heard).toEqual(['panel-A→panel-B', 'panel-B→segmenter']);
    expect(rs.station.recipe.id).toBe('segmenter');
    expect(rs.loaded.map((m) => m.onnx.workerState)).toEqual(['closed', 'running']);
  });

  it('preparing the recipe in force is a no-op; preparing the default falls back at once', async () => {
    rs = await startRecipeStation();
    const heard: string[] = [];
    rs.book.onSwitch((recipe) => heard.push(recipe.id));
    await rs.book.prepare('panel-A');
    expect(heard).toEqual([]);
    await rs.book.prepare('panel-B');
    await rs.book.prepare('panel-B');
    expect(rs.loaded).toHaveLength(1);
    await rs.book.prepare('panel-A');
    expect(heard).toEqual(['panel-B', 'panel-A']);
    expect(rs.station.models).toBe(rs.defaultModels);
    expect(rs.loaded.map((m) => m.onnx.workerState)).toEqual(['closed']);
  });

  it('refuses an unknown id (LS_ERR_RECIPE_UNKNOWN) and unpreparing the default (LS_ERR_RECIPE_IN_USE); unpreparing one not prepared is a no-op', async () => {
    rs = await startRecipeStation();
    const unknown = await failureOf(rs.book.prepare('panel-Z'));
    expect(isLinesightError(unknown, 'LS_ERR_RECIPE_UNKNOWN')).toBe(true);
    expect((unknown as Error).message).toContain("no recipe 'panel-Z'");
    expect(isLinesightError(await failureOf(rs.book.unprepare('panel-Z')), 'LS_ERR_RECIPE_UNKNOWN')).toBe(true);
    expect(isLinesightError(await failureOf(rs.book.unprepare('panel-A')), 'LS_ERR_RECIPE_IN_USE')).toBe(true);
    await rs.book.unprepare('segmenter');
    expect(rs.station.recipe.id).toBe('panel-A');
    expect(rs.loaded).toEqual([]);
  });

  it('a recipe whose model fails its sha256 pin leaves the station on its recipe, with the cause', async () => {
    rs = await startRecipeStation();
    await rs.book.prepare('panel-B');
    const err = await failureOf(rs.book.prepare('broken'));
    expect(isLinesightError(err, 'LS_ERR_RECIPE_LOAD_FAILED')).toBe(true);
    expect(isLinesightError((err as Error).cause, 'LS_ERR_MODEL_SHA256_MISMATCH')).toBe(true);
    expect((err as Error).message).toMatch(/recipe 'broken' could not be loaded .*sha256/);
    expect(rs.station.recipe.id).toBe('panel-B');
    expect(rs.book.list().find((r) => r.id === 'broken')).toMatchObject({ prepared: false, active: false });
    const still = await inspect(rs, 2, 'B');
    expect(still.map((r) => r.recipe)).toEqual(['panel-B', 'panel-B']);
    expect(still.flatMap(reasonCodes)).toContain('PANEL_B_ANOMALY');
    // The failed load is no block on the queue: the next prepare runs.
    await rs.book.prepare('segmenter');
    expect(rs.station.recipe.id).toBe('segmenter');
  });

  it('close falls back to the default and closes the alternative: nothing it loaded stays open, later prepares are refused', async () => {
    rs = await startRecipeStation();
    await rs.book.prepare('segmenter');
    const s = rs;
    rs = null;
    await s.close();
    expect(s.station.recipe.id).toBe('panel-A');
    expect(s.loaded.map((m) => m.onnx.workerState)).toEqual(['closed']);
    expect(s.defaultModels.map((m) => m.onnx.workerState)).toEqual(['closed']);
    expect(isLinesightError(await failureOf(s.book.prepare('panel-B')), 'LS_ERR_RECIPE_LOAD_FAILED')).toBe(true);
    await s.book.close(); // a second close is the first one's promise
  });
});
