/**
 * RecipeManagement against a real node-opcua client on 127.0.0.1 and a real running station with the shipped ONNX
 * models and its RecipeBook (test/fakes/recipe-station.ts): GetRecipeListFiltered (IsPrepared, ExternalId, paging),
 * PrepareRecipe switching the station (and a RecipePreparedEvent), UnprepareRecipe falling back, the Error codes
 * of an unknown id, a refused model and the default, and the method guard.
 */
import {
  AttributeIds,
  ClientMonitoredItem,
  DataType,
  NodeId,
  StatusCodes,
  TimestampsToReturn,
  type ClientSubscription,
  type StatusCode,
  type Variant,
  type VariantOptions,
} from 'node-opcua';
import { eventFilter } from '../../../fakes/mes-client.ts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bindRecipeManagement, RECIPE_MANAGEMENT_ERROR, TRI_STATE } from '../../../../adapters/service/opcua-mes/recipe-management.ts';
import { startMachineVisionPeer, type MachineVisionPeer } from '../../../fakes/machine-vision-peer.ts';
import { startRecipeStation, type RecipeStation } from '../../../fakes/recipe-station.ts';
import { waitUntil, withDeadline } from '../../../helpers/wait.ts';

const LINE = 'line-1';
/** MachineVision data type ids: RecipeIdExternalDataType, RecipeIdInternalDataType, ProductIdDataType; the event type. */
const EXTERNAL_ID = 3002;
const INTERNAL_ID = 3013;
const PRODUCT_ID = 3003;
const RECIPE_PREPARED_EVENT = 1022;

let rs: RecipeStation;
let peer: MachineVisionPeer;
let subscription: ClientSubscription;
const events: { internalId: string | null; message: string | null }[] = [];
/** The method the guard refuses (BadUserAccessDenied), and every method it was asked about. */
let refused: string | null = null;
const guarded: string[] = [];

beforeAll(async () => {
  rs = await startRecipeStation();
  const books = new Map([[rs.station.name, rs.book]]);
  peer = await startMachineVisionPeer(LINE, [rs.station.name], (space) =>
    bindRecipeManagement(space, books, {
      guard: (_context, method) => {
        guarded.push(method);
        return method === refused ? StatusCodes.BadUserAccessDenied : null;
      },
    }),
  );
  subscription = await withDeadline(
    peer.session.createSubscription2({ requestedPublishingInterval: 20, requestedMaxKeepAliveCount: 20, publishingEnabled: true }),
    5_000,
    'create subscription',
  );
  await watchRecipePrepared();
}, 60_000);

afterAll(async () => {
  await subscription?.terminate().catch(() => {});
  await peer?.close();
  await rs?.close();
});

async function watchRecipePrepared(): Promise<void> {
  const item = ClientMonitoredItem.create(
    subscription,
    { nodeId: await peer.resolve(`/Objects/1:${LINE}/1:${rs.station.name}`), attributeId: AttributeIds.EventNotifier },
    { samplingInterval: 0, queueSize: 100, discardOldest: false, filter: eventFilter(peer.mvNs, RECIPE_PREPARED_EVENT, ['InternalId', 'Message']) },
    TimestampsToReturn.Neither,
  );
  item.on('changed', (values: unknown) => {
    const [internalId, message] = values as Variant[];
    events.push({ internalId: idOf(internalId?.value), message: textOf(message?.value) });
  });
  await withDeadline(new Promise<void>((ok, fail) => (item.once('initialized', ok), item.once('err', fail))), 5_000, 'event monitored item');
}

function idOf(value: unknown): string | null {
  return typeof value === 'object' && value !== null && 'id' in value && typeof value.id === 'string' ? value.id : null;
}

function textOf(value: unknown): string | null {
  return typeof value === 'object' && value !== null && 'text' in value && typeof value.text === 'string' ? value.text : null;
}

async function call(method: string, inputArguments: VariantOptions[]): Promise<{ statusCode: StatusCode; out: Variant[] }> {
  const base = `/Objects/1:${LINE}/1:${rs.station.name}/${peer.mvNs}:RecipeManagement`;
  const [objectId, methodId] = [await peer.resolve(base), await peer.resolve(`${base}/${peer.mvNs}:${method}`)];
  const result = await withDeadline(peer.session.call({ objectId, methodId, inputArguments }), 20_000, `call ${method}`);
  return { statusCode: result.statusCode, out: result.outputArguments ?? [] };
}

/** A recipe/product id structure of the MachineVision data type `i`; null leaves its Id empty. */
async function idArg(i: number, id: string | null): Promise<VariantOptions> {
  const value = await withDeadline(
    peer.session.constructExtensionObject(new NodeId(NodeId.NodeIdType.NUMERIC, i, peer.mvNs), id === null ? {} : { id }),
    5_000,
    `construct ${i}`,
  );
  return { dataType: DataType.ExtensionObject, value };
}

/** PrepareRecipe / UnprepareRecipe arguments: ExternalId, InternalIdIn. */
async function recipeArgs(internal: string | null, external: string | null = null): Promise<VariantOptions[]> {
  return [await idArg(EXTERNAL_ID, external), await idArg(INTERNAL_ID, internal)];
}

interface ListArgs {
  readonly externalId?: string;
  readonly productId?: string;
  readonly isPrepared?: number;
  readonly maxResults?: number;
  readonly startIndex?: number;
}

async function list(o: ListArgs = {}) {
  const r = await call('GetRecipeListFiltered', [
    await idArg(EXTERNAL_ID, o.externalId ?? null),
    await idArg(PRODUCT_ID, o.productId ?? null),
    { dataType: DataType.Int32, value: o.isPrepared ?? TRI_STATE.DONTCARE },
    { dataType: DataType.UInt32, value: o.maxResults ?? 0 },
    { dataType: DataType.UInt32, value: o.startIndex ?? 0 },
    { dataType: DataType.Int32, value: 0 },
  ]);
  expect(r.statusCode).toBe(StatusCodes.Good);
  const [isComplete, count, handle, recipeList, error] = r.out;
  const items = (recipeList?.value ?? []) as unknown[];
  return {
    isComplete: isComplete?.value as boolean,
    count: count?.value as number,
    handle: handle?.value as number,
    error: error?.value as number,
    ids: items.map(idOf),
    descriptions: items.map((x) => textOf((x as { description?: unknown }).description)),
  };
}

async function prepare(internal: string | null, external: string | null = null) {
  const r = await call('PrepareRecipe', await recipeArgs(internal, external));
  expect(r.statusCode).toBe(StatusCodes.Good);
  const [out, completed, error] = r.out;
  return { id: idOf(out?.value), completed: completed?.value as boolean, error: error?.value as number };
}

async function unprepare(internal: string) {
  const r = await call('UnprepareRecipe', await recipeArgs(internal));
  expect(r.statusCode).toBe(StatusCodes.Good);
  const [out, error] = r.out;
  return { id: idOf(out?.value), error: error?.value as number };
}

describe('RecipeManagement', () => {
  it('GetRecipeListFiltered lists the default first and the alternatives, filtered by IsPrepared and ExternalId, paged', async () => {
    const all = await list();
    expect(all).toMatchObject({ isComplete: true, count: 4, handle: 0, error: 0, ids: ['panel-A', 'panel-B', 'segmenter', 'broken'] });
    expect(all.descriptions).toEqual([null, 'panel B: any anomaly score is NOK', null, null]);
    expect((await list({ isPrepared: TRI_STATE.TRUE })).ids).toEqual(['panel-A']);
    expect((await list({ isPrepared: TRI_STATE.FALSE })).ids).toEqual(['panel-B', 'segmenter', 'broken']);
    expect((await list({ externalId: 'segmenter' })).ids).toEqual(['segmenter']);
    expect((await list({ productId: 'P-1' })).ids).toEqual([]); // no products are linked to recipes
    expect(await list({ maxResults: 2, startIndex: 1 })).toMatchObject({ isComplete: false, count: 2, ids: ['panel-B', 'segmenter'] });
    expect(await list({ maxResults: 2, startIndex: 2 })).toMatchObject({ isComplete: true, count: 2, ids: ['segmenter', 'broken'] });
  });

  it('PrepareRecipe loads the recipe and puts it in force, answering once loaded; a RecipePreparedEvent names it', async () => {
    const answer = await prepare('panel-B');
    expect(answer).toEqual({ id: 'panel-B', completed: true, error: RECIPE_MANAGEMENT_ERROR.ok });
    expect(rs.station.recipe.id).toBe('panel-B');
    expect(rs.loaded.map((m) => m.onnx.workerState)).toEqual(['running']);
    expect((await list({ isPrepared: TRI_STATE.TRUE })).ids).toEqual(['panel-A', 'panel-B']);
    const event = await waitUntil(() => events.find((e) => e.internalId === 'panel-B'), {
      what: 'RecipePreparedEvent for panel-B',
      timeoutMs: 5_000,
    });
    expect(event.message).toContain('panel-B');
    // A part triggered now is inspected with panel-B.
    rs.station.trigger({ partId: 'MES-1', origin: 'test' });
    const result = await waitUntil(() => rs.results.find((r) => r.partId === 'MES-1'), { what: 'the part MES-1', timeoutMs: 10_000 });
    expect(result.recipe).toBe('panel-B');
    expect(result.reasons.map((r) => r.code)).toContain('PANEL_B_ANOMALY');
  });

  it('names the recipe by ExternalId when InternalIdIn is empty', async () => {
    expect(await prepare(null, 'segmenter')).toEqual({ id: 'segmenter', completed: true, error: 0 });
    expect(rs.station.recipe.id).toBe('segmenter');
    expect(rs.loaded.map((m) => m.onnx.workerState)).toEqual(['closed', 'running']); // panel-B closed: one alternative at a time
  });

  it('UnprepareRecipe falls back to the default and closes the alternative; the default answers Error -3', async () => {
    expect(await unprepare('segmenter')).toEqual({ id: 'segmenter', error: RECIPE_MANAGEMENT_ERROR.ok });
    expect(rs.station.recipe.id).toBe('panel-A');
    expect(rs.loaded.map((m) => m.onnx.workerState)).toEqual(['closed', 'closed']);
    expect((await list({ isPrepared: TRI_STATE.TRUE })).ids).toEqual(['panel-A']);
    await waitUntil(() => events.at(-1)?.internalId === 'panel-A', { what: 'RecipePreparedEvent for the fall-back', timeoutMs: 5_000 });
    expect(await unprepare('panel-A')).toEqual({ id: 'panel-A', error: RECIPE_MANAGEMENT_ERROR.defaultRecipe });
    expect(await unprepare('panel-B')).toEqual({ id: 'panel-B', error: RECIPE_MANAGEMENT_ERROR.ok }); // not prepared: no-op
  });

  it('answers Error -1 for an unknown recipe and -2 for one whose model is refused, the station keeping its recipe', async () => {
    expect(await prepare('panel-Z')).toEqual({ id: 'panel-Z', completed: false, error: RECIPE_MANAGEMENT_ERROR.unknownRecipe });
    expect(await prepare(null)).toEqual({ id: '', completed: false, error: RECIPE_MANAGEMENT_ERROR.unknownRecipe });
    expect(await unprepare('panel-Z')).toEqual({ id: 'panel-Z', error: RECIPE_MANAGEMENT_ERROR.unknownRecipe });
    expect(await prepare('broken')).toEqual({ id: 'broken', completed: false, error: RECIPE_MANAGEMENT_ERROR.loadFailed });
    expect(rs.station.recipe.id).toBe('panel-A');
  });

  it('asks the guard first with the method name, and answers its status without touching the recipes', async () => {
    guarded.length = 0;
    refused = 'PrepareRecipe';
    try {
      const r = await call('PrepareRecipe', await recipeArgs('panel-B'));
      expect(r.statusCode).toBe(StatusCodes.BadUserAccessDenied);
      expect(rs.station.recipe.id).toBe('panel-A');
      await list();
      expect(guarded).toEqual(['PrepareRecipe', 'GetRecipeListFiltered']);
    } finally {
      refused = null;
    }
  });
});
