/**
 * ResultManagement against a real node-opcua client on 127.0.0.1 and a real SQLite store of 25 results for one
 * station (every third with part id P-7, every fifth an inspection error): GetResultById, GetResultListFiltered
 * (part id, ResultState, paging) and ReleaseResultHandle.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DataType, NodeId, StatusCodes, type ClientSession, type ExtensionObject, type Variant, type VariantOptions } from 'node-opcua';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bindResultManagement } from '../../../../adapters/service/opcua-mes/result-management.ts';
import { INSPECTION_ERROR } from '../../../../runtime/decision/rules.ts';
import type { InspectionResult } from '../../../../runtime/results/result.ts';
import { ResultStore } from '../../../../runtime/store/sqlite-store.ts';
import { makeResult } from '../../../fakes/make-result.ts';
import { withDeadline } from '../../../helpers/wait.ts';
import { startMachineVisionPeer, type MachineVisionPeer } from '../../../fakes/machine-vision-peer.ts';

const LINE = 'line-1';
const STATION = 'st-10';
const COUNT = 25;

/** Result i (1-based sequence i): part P-7 when i % 3 === 0, an inspection error when i % 5 === 0. */
const isP7 = (i: number) => i % 3 === 0;
const isFailed = (i: number) => i % 5 === 0;

let dir: string;
let store: ResultStore;
let peer: MachineVisionPeer;
let session: ClientSession;
let mvNs: number;
const stored: InspectionResult[] = [];

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'ls-mes-results-'));
  store = new ResultStore(join(dir, 'results.db'), { checkpointInWorker: false });
  for (let i = 1; i <= COUNT; i++) {
    const reasons = isFailed(i) ? [{ code: INSPECTION_ERROR, source: 'surface-anomaly', detail: 'worker crashed' }] : undefined;
    const verdict = isFailed(i) ? ('NOK' as const) : ('OK' as const);
    stored.push(store.append(makeResult({ line: LINE, station: STATION, partId: isP7(i) ? 'P-7' : `P-${100 + i}`, verdict, reasons }), []));
  }
  peer = await startMachineVisionPeer(LINE, [STATION], (space) => bindResultManagement(space, store, { maxResultsPerCall: 20 }));
  ({ session, mvNs } = peer);
}, 60_000);

afterAll(async () => {
  await peer?.close();
  store?.close();
  rmSync(dir, { recursive: true, force: true });
});

function resolve(path: string): Promise<NodeId> {
  return peer.resolve(path);
}

async function call(method: string, inputArguments: VariantOptions[]) {
  const objectId = await resolve(`/Objects/1:${LINE}/1:${STATION}/${mvNs}:ResultManagement`);
  const methodId = await resolve(`/Objects/1:${LINE}/1:${STATION}/${mvNs}:ResultManagement/${mvNs}:${method}`);
  const result = await withDeadline(session.call({ objectId, methodId, inputArguments }), 5_000, `call ${method}`);
  return { statusCode: result.statusCode, out: result.outputArguments ?? [] };
}

/** A `{Id}` argument of the MachineVision data type `i`; null Id leaves the filter empty. */
async function idArg(i: number, id: string | null): Promise<VariantOptions> {
  const value = await withDeadline(
    session.constructExtensionObject(new NodeId(NodeId.NodeIdType.NUMERIC, i, mvNs), id === null ? {} : { id }),
    5_000,
    `construct ${i}`,
  );
  return { dataType: DataType.ExtensionObject, value };
}

interface ListArgs {
  readonly resultState?: number;
  readonly partId?: string;
  readonly recipe?: string;
  readonly maxResults?: number;
  readonly startIndex?: number;
}

async function listFiltered(a: ListArgs) {
  const inputArguments = [
    { dataType: DataType.Int32, value: a.resultState ?? 0 },
    await idArg(3015, null), // MeasId
    await idArg(3004, a.partId ?? null), // PartId
    await idArg(3002, null), // ExternalRecipeId
    await idArg(3013, a.recipe ?? null), // InternalRecipeId
    await idArg(3008, null), // ExternalConfigurationId
    await idArg(3008, null), // InternalConfigurationId
    await idArg(3003, null), // ProductId
    await idArg(3016, null), // JobId
    { dataType: DataType.UInt32, value: a.maxResults ?? 0 },
    { dataType: DataType.UInt32, value: a.startIndex ?? 0 },
    { dataType: DataType.Int32, value: 0 },
  ];
  const { statusCode, out } = await call('GetResultListFiltered', inputArguments);
  expect(statusCode).toBe(StatusCodes.Good);
  const list = (out[3]?.value ?? []) as ExtensionObject[];
  return { isComplete: out[0]?.value as boolean, count: out[1]?.value as number, handle: out[2]?.value as number, list, error: out[4]?.value };
}

/** Fields of a ResultDataType as the client decoded it. */
function fields(r: ExtensionObject | undefined): Record<string, unknown> {
  expect(r).toBeDefined();
  return r as unknown as Record<string, unknown>;
}

function idOf(value: unknown): string | null {
  return typeof value === 'object' && value !== null && 'id' in value && typeof value.id === 'string' ? value.id : null;
}

function sequences(list: ExtensionObject[]): number[] {
  return list.map((r) => Number(idOf(fields(r).resultId)?.split('/')[1]));
}

const range = (pick: (i: number) => boolean) => Array.from({ length: COUNT }, (_, k) => k + 1).filter(pick);

describe('OPC 40100 ResultManagement', () => {
  it('GetResultById answers the stored result as a ResultDataType', async () => {
    const { statusCode, out } = await call('GetResultById', [await idArg(3021, `${STATION}/5`), { dataType: DataType.Int32, value: 10_000 }]);
    expect(statusCode).toBe(StatusCodes.Good);
    expect(out[0]?.value).toBeGreaterThan(0);
    expect(out[2]?.value).toBe(0);
    const r = fields(out[1]?.value as ExtensionObject);
    const s = stored[4]!;
    expect(idOf(r.resultId)).toBe(`${STATION}/5`);
    expect(r.resultState).toBe(4);
    expect(r.isPartial).toBe(false);
    expect(idOf(r.partId)).toBe(s.partId);
    expect(idOf(r.internalRecipeId)).toBe('housing-a');
    expect((r.creationTime as Date).toISOString()).toBe(s.decidedAt);
    expect((fields(r.processingTimes as ExtensionObject).startTime as Date).toISOString()).toBe(s.capturedAt);
    const content = r.resultContent as Variant[];
    expect(JSON.parse(content[0]!.value as string)).toEqual({ verdict: 'NOK', reasons: s.reasons, measurements: s.measurements, defects: s.defects });
  });

  it('GetResultById on an unknown or foreign id answers Error -1 and no Result', async () => {
    for (const id of [`${STATION}/999`, 'st-20/1', `${STATION}/abc`]) {
      const { statusCode, out } = await call('GetResultById', [await idArg(3021, id), { dataType: DataType.Int32, value: 0 }]);
      expect(statusCode, id).toBe(StatusCodes.Good);
      expect(out[2]?.value, id).toBe(-1);
      expect(out[1]?.value ?? null, id).toBeNull();
    }
  });

  it('GetResultListFiltered by PartId returns only that part, oldest first', async () => {
    const page = await listFiltered({ partId: 'P-7' });
    expect(sequences(page.list)).toEqual(range(isP7));
    expect(page.list.every((r) => idOf(fields(r).partId) === 'P-7')).toBe(true);
    expect(page).toMatchObject({ isComplete: true, count: range(isP7).length, error: 0 });
  });

  it('GetResultListFiltered by ResultState 4 returns the inspection errors, 1 the rest', async () => {
    const failed = await listFiltered({ resultState: 4 });
    expect(sequences(failed.list)).toEqual(range(isFailed));
    expect(failed.list.every((r) => fields(r).resultState === 4)).toBe(true);
    const completed = await listFiltered({ resultState: 1, maxResults: 100 });
    expect(sequences(completed.list)).toEqual(range((i) => !isFailed(i)));
    expect(completed.isComplete).toBe(true);
    expect((await listFiltered({ resultState: 3 })).list).toEqual([]);
    expect((await listFiltered({ resultState: 4, partId: 'P-7' })).list.length).toBe(range((i) => isFailed(i) && isP7(i)).length);
    expect((await listFiltered({ recipe: 'housing-b' })).count).toBe(0);
  });

  it('pages with MaxResults and StartIndex, IsComplete on the last page, capped without MaxResults', async () => {
    const second = await listFiltered({ maxResults: 10, startIndex: 10 });
    expect(sequences(second.list)).toEqual(range((i) => i > 10 && i <= 20));
    expect(second).toMatchObject({ isComplete: false, count: 10 });
    const last = await listFiltered({ maxResults: 10, startIndex: 20 });
    expect(sequences(last.list)).toEqual([21, 22, 23, 24, 25]);
    expect(last).toMatchObject({ isComplete: true, count: 5 });
    const capped = await listFiltered({});
    expect(capped).toMatchObject({ isComplete: false, count: 20 });
  });

  it('ReleaseResultHandle frees a handle once; an unknown handle answers Error -2', async () => {
    const a = await listFiltered({ maxResults: 1 });
    const b = await listFiltered({ maxResults: 1 });
    expect(a.handle).toBeGreaterThan(0);
    expect(b.handle).not.toBe(a.handle);
    const release = async (handle: number) => (await call('ReleaseResultHandle', [{ dataType: DataType.UInt32, value: handle }])).out[0]?.value;
    expect(await release(a.handle)).toBe(0);
    expect(await release(a.handle)).toBe(-2);
    expect(await release(123_456)).toBe(-2);
    expect(await release(b.handle)).toBe(0);
  });
});
