/**
 * ResultManagement (OPC 40100-1, 7.10) of every station's VisionSystem, answered from the result store:
 *
 * - GetResultById(ResultId, Timeout → ResultHandle, Result, Error): ResultId is `<station>/<sequence>` as in
 *   the ResultReadyEvent; an id that is not one of this station's stored results answers Error -1, no Result.
 * - GetResultListFiltered(ResultState, MeasId, PartId, ExternalRecipeId, InternalRecipeId, ExternalConfigurationId,
 *   InternalConfigurationId, ProductId, JobId, MaxResults, StartIndex, Timeout → IsComplete, ResultCount,
 *   ResultHandle, ResultList, Error): oldest first by sequence; every filter given must match (an empty id is no
 *   filter): MeasId, PartId, ExternalRecipeId, InternalRecipeId (the recipe), InternalConfigurationId (the
 *   configuration hash), ProductId, JobId, and ResultState (1 Completed: no INSPECTION_ERROR reason, 4 Failed:
 *   one; 0 all; any other state: none stored). Linesight has no external configuration ids: a non-empty
 *   ExternalConfigurationId matches nothing.
 *   MaxResults 0 (no limit) or above `maxResultsPerCall` is capped; IsComplete is false while more follow.
 * - ReleaseResultHandle(ResultHandle → Error): frees a handle; one not held answers Error -2.
 *
 * Result handles are unique across the server's stations, kept until released, until their Timeout (ms, when
 * > 0) passes, or until `maxHandles` newer ones push them out. The results themselves stay in the store, so a
 * handle holds nothing but its number. Errors < 0 are Linesight's (the spec reserves > 0 for itself).
 */
import {
  DataType,
  StatusCodes,
  Variant,
  VariantArrayType,
  type CallMethodResultOptions,
  type ExtensionObject,
  type ISessionContext,
  type UAObject,
} from 'node-opcua';
import type { Logger } from 'pino';
import { INSPECTION_ERROR } from '../../../runtime/decision/rules.ts';
import { LinesightError } from '../../../runtime/errors.ts';
import type { InspectionResult } from '../../../runtime/results/result.ts';
import type { ResultFilter, ResultStore, StoredResult } from '../../../runtime/store/sqlite-store.ts';
import { RESULT_STATE, type MachineVisionSpace, type VisionSystemHandle } from './address-space.ts';
import { processingTimesOf, resultContentOf, resultIdOf, resultStateOf } from './result-event.ts';
import { numberArg, structureId, type MethodGuard } from './method-arguments.ts';

export const RESULT_MANAGEMENT_ERROR = { ok: 0, unknownResult: -1, unknownHandle: -2 } as const;

type ResultReader = Pick<ResultStore, 'listResults' | 'getBySequence'>;

export interface ResultManagementOptions {
  readonly log?: Logger | undefined;
  /** Most results one GetResultListFiltered returns (default 100). */
  readonly maxResultsPerCall?: number;
  /** Most result handles held at once; the oldest goes first beyond it (default 1,000). */
  readonly maxHandles?: number;
  /** Clock for handle timeouts (default Date.now). */
  readonly now?: () => number;
  readonly guard?: MethodGuard;
}

/** Binds the three methods on each station's ResultManagement; one handle table serves them all. */
export function bindResultManagement(space: MachineVisionSpace, store: ResultReader, options: ResultManagementOptions = {}): void {
  const handles = new ResultHandles(options.maxHandles ?? 1000, options.now ?? Date.now);
  for (const station of space.stations.values()) bindStation(space, station, store, handles, options);
}

interface Bound {
  readonly space: MachineVisionSpace;
  readonly station: VisionSystemHandle;
  readonly store: ResultReader;
  readonly handles: ResultHandles;
  readonly options: ResultManagementOptions;
}

function bindStation(
  space: MachineVisionSpace,
  station: VisionSystemHandle,
  store: ResultReader,
  handles: ResultHandles,
  options: ResultManagementOptions,
) {
  const ns = space.namespaceIndex;
  const management = station.visionSystem.getComponentByName('ResultManagement', ns) as UAObject | null;
  const method = (name: string) => {
    const m = management?.getMethodByName(name, ns);
    if (!m) throw new LinesightError('LS_ERR_CONFIG_INVALID', `ResultManagement has no ${name} method`, { station: station.station });
    return m;
  };
  const b: Bound = { space, station, store, handles, options };
  // node-opcua tells the async form from the callback form by the declared parameter count: keep exactly two.
  const denied = (context: ISessionContext, name: string) => options.guard?.(context, name) ?? null;
  method('GetResultById').bindMethod(async function getResultById(inputArguments: Variant[], context: ISessionContext) {
    const statusCode = denied(context, 'GetResultById');
    return statusCode ? { statusCode } : answer(b, 'GetResultById', () => getById(b, inputArguments));
  });
  method('GetResultListFiltered').bindMethod(async function getResultListFiltered(inputArguments: Variant[], context: ISessionContext) {
    const statusCode = denied(context, 'GetResultListFiltered');
    return statusCode ? { statusCode } : answer(b, 'GetResultListFiltered', () => listFiltered(b, inputArguments));
  });
  method('ReleaseResultHandle').bindMethod(async function releaseResultHandle(inputArguments: Variant[], context: ISessionContext) {
    const statusCode = denied(context, 'ReleaseResultHandle');
    if (statusCode) return { statusCode };
    const released = b.handles.release(numberArg(inputArguments[0]));
    const error = released ? RESULT_MANAGEMENT_ERROR.ok : RESULT_MANAGEMENT_ERROR.unknownHandle;
    return { statusCode: StatusCodes.Good, outputArguments: [{ dataType: DataType.Int32, value: error }] };
  });
}

/** Runs a store-backed method; a failing store answers BadResourceUnavailable and is logged. */
function answer(b: Bound, name: string, fn: () => CallMethodResultOptions): CallMethodResultOptions {
  try {
    return fn();
  } catch (err) {
    b.options.log?.error({ err, station: b.station.station, method: name }, 'MES result query failed');
    return { statusCode: StatusCodes.BadResourceUnavailable };
  }
}

function getById(b: Bound, args: Variant[]): CallMethodResultOptions {
  const sequence = sequenceOf(b.station.station, structureId(args[0]));
  const stored = sequence === null ? null : b.store.getBySequence(b.space.line, b.station.station, sequence);
  const handle = stored === null ? 0 : b.handles.issue(numberArg(args[1]));
  return {
    statusCode: StatusCodes.Good,
    outputArguments: [
      { dataType: DataType.UInt32, value: handle },
      { dataType: DataType.ExtensionObject, value: stored === null ? null : resultData(b, stored.result) },
      { dataType: DataType.Int32, value: stored === null ? RESULT_MANAGEMENT_ERROR.unknownResult : RESULT_MANAGEMENT_ERROR.ok },
    ],
  };
}

function listFiltered(b: Bound, args: Variant[]): CallMethodResultOptions {
  const cap = b.options.maxResultsPerCall ?? 100;
  const maxResults = numberArg(args[9]);
  const limit = maxResults > 0 ? Math.min(maxResults, cap) : cap;
  const filter = listFilter(b, args, limit);
  const rows: StoredResult[] = filter === null ? [] : b.store.listResults(filter);
  const page = rows.slice(0, limit);
  return {
    statusCode: StatusCodes.Good,
    outputArguments: [
      { dataType: DataType.Boolean, value: rows.length <= limit },
      { dataType: DataType.UInt32, value: page.length },
      { dataType: DataType.UInt32, value: b.handles.issue(numberArg(args[11])) },
      { dataType: DataType.ExtensionObject, arrayType: VariantArrayType.Array, value: page.map((s) => resultData(b, s.result)) },
      { dataType: DataType.Int32, value: RESULT_MANAGEMENT_ERROR.ok },
    ],
  };
}

/** The store query for the arguments (one row more than the page, to tell IsComplete); null when none can match. */
function listFilter(b: Bound, args: Variant[], limit: number): ResultFilter | null {
  const state = numberArg(args[0]);
  if (state !== RESULT_STATE.Undefined && state !== RESULT_STATE.Completed && state !== RESULT_STATE.Failed) return null;
  if (structureId(args[5]) !== null) return null;
  return {
    line: b.space.line,
    station: b.station.station,
    measId: structureId(args[1]) ?? undefined,
    partId: structureId(args[2]) ?? undefined,
    externalRecipeId: structureId(args[3]) ?? undefined,
    recipe: structureId(args[4]) ?? undefined,
    configId: structureId(args[6]) ?? undefined,
    productId: structureId(args[7]) ?? undefined,
    jobId: structureId(args[8]) ?? undefined,
    reason: state === RESULT_STATE.Undefined ? undefined : { code: INSPECTION_ERROR, present: state === RESULT_STATE.Failed },
    offset: numberArg(args[10]),
    limit: limit + 1,
  };
}

/** ResultDataType of a stored result (see result-event.ts for the field mapping, the same as the event's). */
function resultData(b: Bound, r: InspectionResult): ExtensionObject {
  const id = (dataTypeName: string, value: string) => b.station.idStructure(dataTypeName, value);
  const optionalId = (name: string, dataTypeName: string, value: string | null | undefined) =>
    value === null || value === undefined ? {} : { [name]: id(dataTypeName, value) };
  const job = r.job;
  return construct(b, 'ResultDataType', {
    resultId: id('ResultIdDataType', resultIdOf(r)),
    isPartial: false,
    isSimulated: r.simulated,
    resultState: resultStateOf(r),
    ...optionalId('measId', 'MeasIdDataType', job?.measId),
    ...optionalId('partId', 'PartIdDataType', r.partId),
    ...optionalId('externalRecipeId', 'RecipeIdExternalDataType', job?.externalRecipeId),
    internalRecipeId: id('RecipeIdInternalDataType', r.recipe),
    ...optionalId('productId', 'ProductIdDataType', job?.productId),
    internalConfigurationId: id('ConfigurationIdDataType', r.configId),
    jobId: id('JobIdDataType', job?.jobId ?? ''),
    creationTime: new Date(r.decidedAt),
    processingTimes: construct(b, 'ProcessingTimesDataType', processingTimesOf(r)),
    resultContent: [new Variant({ dataType: DataType.String, value: resultContentOf(r) })],
  });
}

function construct(b: Bound, dataTypeName: string, fields: Record<string, unknown>): ExtensionObject {
  const addressSpace = b.station.visionSystem.addressSpace;
  const dataType = addressSpace.findDataType(dataTypeName, b.space.namespaceIndex);
  if (!dataType) throw new LinesightError('LS_ERR_CONFIG_INVALID', `data type ${dataTypeName} missing from the Machine Vision nodeset`, {});
  return addressSpace.constructExtensionObject(dataType, fields);
}

/** The sequence in `<station>/<sequence>` when the id names this station, else null. */
function sequenceOf(station: string, resultId: string | null): number | null {
  if (resultId === null || !resultId.startsWith(`${station}/`)) return null;
  const text = resultId.slice(station.length + 1);
  return /^[1-9][0-9]{0,14}$/.test(text) ? Number(text) : null;
}

/** Result handles: UInt32 numbers from 1, held until released, timed out or pushed out by newer ones. */
class ResultHandles {
  private next = 1;
  /** handle → expiry time (ms since epoch) or Infinity; insertion order is age order. */
  private readonly held = new Map<number, number>();
  private readonly max: number;
  private readonly now: () => number;

  constructor(max: number, now: () => number) {
    this.max = Math.max(1, max);
    this.now = now;
  }

  issue(timeoutMs: number): number {
    const now = this.now();
    for (const [handle, expiry] of this.held) if (expiry <= now) this.held.delete(handle);
    while (this.held.size >= this.max) this.held.delete(this.held.keys().next().value as number); // size ≥ 1
    const handle = this.next;
    this.next = this.next >= 0xffffffff ? 1 : this.next + 1;
    this.held.set(handle, timeoutMs > 0 ? now + timeoutMs : Infinity);
    return handle;
  }

  release(handle: number): boolean {
    const expiry = this.held.get(handle);
    this.held.delete(handle);
    return expiry !== undefined && expiry > this.now();
  }
}
