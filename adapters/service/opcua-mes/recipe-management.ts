/**
 * RecipeManagement (OPC 40100-1, 7.5) of every station's VisionSystem, answered by the station's RecipeBook
 * (runtime/pipeline/recipe-book.ts). Linesight has one id space: the line YAML's recipe ids serve as internal and
 * external ids alike, and a recipe is named by InternalIdIn's Id, or ExternalId's Id when InternalIdIn is empty.
 *
 * - PrepareRecipe(ExternalId, InternalIdIn → InternalIdOut, IsCompleted, Error): loads the recipe's models (verified
 *   as at boot) and puts it in force from the next part on; answers once loaded, IsCompleted true. The default
 *   recipe is always prepared: preparing it falls back to it at once.
 * - UnprepareRecipe(ExternalId, InternalIdIn → InternalIdOut, Error): takes an alternative out of force (back to the
 *   default) and closes its models; one not prepared is a no-op; the default answers Error -3.
 * - GetRecipeListFiltered(ExternalId, ProductId, IsPrepared, MaxResults, StartIndex, Timeout → IsComplete,
 *   ResultCount, RecipeHandle, RecipeList, Error): RecipeIdInternalDataType items (Id, Description), the default
 *   first; ExternalId (non-empty) keeps the recipe of that id, IsPrepared (TriStateBoolean: 0 FALSE, 1 TRUE,
 *   2 DONTCARE, any other value as DONTCARE) filters on being loaded; Linesight links no products to recipes, so a non-empty ProductId matches
 *   none. MaxResults 0 is no limit. The list is computed afresh on each call and no handle is held: RecipeHandle is
 *   0 (ReleaseRecipeHandle, optional in the type, is not offered).
 *
 * Each switch raises a RecipePreparedEventType on the VisionSystem, InternalId the recipe now in force (also on a
 * fall-back to the default). Errors < 0 are Linesight's (the spec reserves > 0): RECIPE_MANAGEMENT_ERROR.
 */
import { DataType, StatusCodes, Variant, VariantArrayType, type CallMethodResultOptions, type ISessionContext, type UAObject } from 'node-opcua';
import type { Logger } from 'pino';
import { isLinesightError, LinesightError } from '../../../runtime/errors.ts';
import type { RecipeBook, RecipeView } from '../../../runtime/pipeline/recipe-book.ts';
import type { MachineVisionSpace, VisionSystemHandle } from './address-space.ts';
import { numberArg, structureId, type MethodGuard } from './method-arguments.ts';

export const RECIPE_MANAGEMENT_ERROR = { ok: 0, unknownRecipe: -1, loadFailed: -2, defaultRecipe: -3, failed: -4 } as const;

/** TriStateBooleanDataType (OPC 40100-1, 12.3). */
export const TRI_STATE = { FALSE: 0, TRUE: 1, DONTCARE: 2 } as const;

export interface RecipeManagementOptions {
  readonly log?: Logger | undefined;
  readonly guard?: MethodGuard;
}

interface Bound {
  readonly handle: VisionSystemHandle;
  readonly book: RecipeBook;
  readonly log: Logger | undefined;
}

type Run = (args: Variant[]) => CallMethodResultOptions | Promise<CallMethodResultOptions>;

/** Binds the three mandatory methods on each station's RecipeManagement, and RecipePrepared on each switch. */
export function bindRecipeManagement(space: MachineVisionSpace, books: ReadonlyMap<string, RecipeBook>, options: RecipeManagementOptions = {}): void {
  for (const handle of space.stations.values()) {
    const book = books.get(handle.station);
    if (book === undefined)
      throw new LinesightError('LS_ERR_CONFIG_INVALID', `station ${handle.station} has no recipe book`, { station: handle.station });
    bindStation(space, { handle, book, log: options.log }, options.guard);
  }
}

function bindStation(space: MachineVisionSpace, b: Bound, guard: MethodGuard | undefined): void {
  const ns = space.namespaceIndex;
  const management = b.handle.visionSystem.getComponentByName('RecipeManagement', ns) as UAObject | null;
  const bind = (name: string, run: Run) => {
    const method = management?.getMethodByName(name, ns);
    if (!method) throw new LinesightError('LS_ERR_CONFIG_INVALID', `RecipeManagement has no ${name} method`, { station: b.handle.station });
    // node-opcua tells the async form from the callback form by the declared parameter count: keep exactly two.
    method.bindMethod(async (inputArguments: Variant[], context: ISessionContext) => {
      const statusCode = guard?.(context, name) ?? null;
      return statusCode !== null ? { statusCode } : run(inputArguments);
    });
  };
  bind('PrepareRecipe', (args) => prepareRecipe(b, recipeIdOf(args)));
  bind('UnprepareRecipe', (args) => unprepareRecipe(b, recipeIdOf(args)));
  bind('GetRecipeListFiltered', (args) => listFiltered(b, args));
  const eventType = b.handle.visionSystem.addressSpace.findEventType('RecipePreparedEventType', ns);
  if (!eventType) throw new LinesightError('LS_ERR_CONFIG_INVALID', 'RecipePreparedEventType missing from the Machine Vision nodeset', {});
  b.book.onSwitch((recipe) =>
    b.handle.visionSystem.raiseEvent(eventType, {
      internalId: new Variant({ dataType: DataType.ExtensionObject, value: b.handle.idStructure('RecipeIdInternalDataType', recipe.id) }),
      externalId: new Variant({ dataType: DataType.ExtensionObject, value: b.handle.idStructure('RecipeIdExternalDataType', recipe.id) }),
      message: new Variant({ dataType: DataType.LocalizedText, value: { text: `${b.handle.station}: recipe ${recipe.id} in force` } }),
      severity: new Variant({ dataType: DataType.UInt16, value: 100 }),
    }),
  );
}

/** InternalIdIn's Id, else ExternalId's (one id space); '' when neither is given. */
function recipeIdOf(args: Variant[]): string {
  return structureId(args[1]) ?? structureId(args[0]) ?? '';
}

async function prepareRecipe(b: Bound, id: string): Promise<CallMethodResultOptions> {
  try {
    const recipe = await b.book.prepare(id);
    b.log?.info({ station: b.handle.station, recipe: recipe.id }, 'MES PrepareRecipe');
    return prepareAnswer(b, recipe.id, true, RECIPE_MANAGEMENT_ERROR.ok);
  } catch (err) {
    const error = errorOf(err);
    b.log?.warn({ err, station: b.handle.station, recipe: id, error }, 'MES PrepareRecipe failed');
    return prepareAnswer(b, id, false, error);
  }
}

async function unprepareRecipe(b: Bound, id: string): Promise<CallMethodResultOptions> {
  let error: number = RECIPE_MANAGEMENT_ERROR.ok;
  try {
    await b.book.unprepare(id);
    b.log?.info({ station: b.handle.station, recipe: id }, 'MES UnprepareRecipe');
  } catch (err) {
    error = errorOf(err);
    b.log?.warn({ err, station: b.handle.station, recipe: id, error }, 'MES UnprepareRecipe failed');
  }
  return {
    statusCode: StatusCodes.Good,
    outputArguments: [
      { dataType: DataType.ExtensionObject, value: b.handle.idStructure('RecipeIdInternalDataType', id) },
      { dataType: DataType.Int32, value: error },
    ],
  };
}

function prepareAnswer(b: Bound, id: string, completed: boolean, error: number): CallMethodResultOptions {
  return {
    statusCode: StatusCodes.Good,
    outputArguments: [
      { dataType: DataType.ExtensionObject, value: b.handle.idStructure('RecipeIdInternalDataType', id) },
      { dataType: DataType.Boolean, value: completed },
      { dataType: DataType.Int32, value: error },
    ],
  };
}

function errorOf(err: unknown): number {
  if (isLinesightError(err, 'LS_ERR_RECIPE_UNKNOWN')) return RECIPE_MANAGEMENT_ERROR.unknownRecipe;
  if (isLinesightError(err, 'LS_ERR_RECIPE_LOAD_FAILED')) return RECIPE_MANAGEMENT_ERROR.loadFailed;
  if (isLinesightError(err, 'LS_ERR_RECIPE_IN_USE')) return RECIPE_MANAGEMENT_ERROR.defaultRecipe;
  return RECIPE_MANAGEMENT_ERROR.failed;
}

function listFiltered(b: Bound, args: Variant[]): CallMethodResultOptions {
  const matching = b.book.list().filter(recipeFilter(args));
  const start = numberArg(args[4]);
  const max = numberArg(args[3]);
  const page = matching.slice(start, max > 0 ? start + max : undefined);
  return {
    statusCode: StatusCodes.Good,
    outputArguments: [
      { dataType: DataType.Boolean, value: start + page.length >= matching.length },
      { dataType: DataType.UInt32, value: page.length },
      { dataType: DataType.UInt32, value: 0 },
      { dataType: DataType.ExtensionObject, arrayType: VariantArrayType.Array, value: page.map((r) => recipeData(b, r)) },
      { dataType: DataType.Int32, value: RECIPE_MANAGEMENT_ERROR.ok },
    ],
  };
}

/** ExternalId, ProductId and IsPrepared as a predicate on the book's recipes. */
function recipeFilter(args: Variant[]): (r: RecipeView) => boolean {
  const externalId = structureId(args[0]);
  const productId = structureId(args[1]);
  const isPrepared = numberArg(args[2]);
  return (r) =>
    productId === null &&
    (externalId === null || r.id === externalId) &&
    (isPrepared === TRI_STATE.TRUE ? r.prepared : isPrepared === TRI_STATE.FALSE ? !r.prepared : true);
}

function recipeData(b: Bound, r: RecipeView) {
  return b.handle.construct('RecipeIdInternalDataType', { id: r.id, ...(r.description === '' ? {} : { description: { text: r.description } }) });
}
