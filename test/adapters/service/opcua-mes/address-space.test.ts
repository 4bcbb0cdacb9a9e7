/**
 * The OPC 40100 address space against a real node-opcua client on 127.0.0.1 (SecurityMode None in this slice):
 * browse to a station's VisionSystem, read its state machines, call StartSingleJob against a TriggerTarget that
 * stores a result in a real SQLite store, and receive the ResultReadyEvent through an event subscription.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  AttributeIds,
  ClientMonitoredItem,
  DataType,
  EventFilter,
  NodeId,
  SimpleAttributeOperand,
  StatusCodes,
  TimestampsToReturn,
  type ClientSession,
  type ClientSubscription,
  type ExtensionObject,
  type Variant,
  VariantArrayType,
} from 'node-opcua';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { VisionSystemHandle } from '../../../../adapters/service/opcua-mes/address-space.ts';
import { bindStartSingleJob } from '../../../../adapters/service/opcua-mes/start-single-job.ts';
import { INSPECTION_ERROR } from '../../../../runtime/decision/rules.ts';
import type { TriggerRequest, TriggerTarget } from '../../../../runtime/pipeline/trigger.ts';
import { ResultStore } from '../../../../runtime/store/sqlite-store.ts';
import { makeResult } from '../../../fakes/make-result.ts';
import { waitUntil, withDeadline } from '../../../helpers/wait.ts';
import { startMachineVisionPeer, type MachineVisionPeer } from '../../../fakes/machine-vision-peer.ts';

const LINE = 'line-1';
const STATION = 'st-10';

/** A station stand-in: each accepted trigger becomes a stored result, decided on the next turn. */
class StoringTarget implements TriggerTarget {
  readonly name = STATION;
  readonly requests: TriggerRequest[] = [];
  running = true;
  failNext = false;
  private readonly store: ResultStore;
  constructor(store: ResultStore) {
    this.store = store;
  }
  trigger(request: TriggerRequest) {
    if (!this.running) return { accepted: false as const, reason: 'not-running' as const };
    this.requests.push(request);
    const reasons = this.failNext ? [{ code: INSPECTION_ERROR, source: 'surface-anomaly', detail: 'worker crashed' }] : undefined;
    const verdict = this.failNext ? ('NOK' as const) : ('OK' as const);
    this.failNext = false;
    setImmediate(() =>
      request.onDecided?.(this.store.append(makeResult({ station: STATION, line: LINE, partId: request.partId, verdict, reasons }), [])),
    );
    return { accepted: true as const };
  }
}

interface ReceivedEvent {
  readonly eventType: string;
  readonly resultId: string | null;
  readonly partId: string | null;
  readonly jobId: string | null;
  readonly resultState: number;
  readonly content: string[];
}

const FIELDS = ['EventType', 'ResultId', 'PartId', 'JobId', 'ResultState', 'CreationTime', 'ResultContent'] as const;

let dir: string;
let store: ResultStore;
let target: StoringTarget;
let peer: MachineVisionPeer;
let handle: VisionSystemHandle;
let session: ClientSession;
let subscription: ClientSubscription;
let mvNs: number;
const events: ReceivedEvent[] = [];

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'ls-mes-'));
  store = new ResultStore(join(dir, 'results.db'));
  target = new StoringTarget(store);
  peer = await startMachineVisionPeer(LINE, [STATION], (space) => {
    handle = space.stations.get(STATION)!;
    bindStartSingleJob(handle, target);
  });
  ({ session, mvNs } = peer);
  subscription = await withDeadline(
    session.createSubscription2({ requestedPublishingInterval: 20, requestedMaxKeepAliveCount: 20, publishingEnabled: true }),
    5_000,
    'create subscription',
  );
}, 60_000);

afterAll(async () => {
  await subscription?.terminate().catch(() => {});
  await peer?.close();
  store?.close();
  rmSync(dir, { recursive: true, force: true });
});

function resolve(path: string): Promise<NodeId> {
  return peer.resolve(path);
}

function stationPath(rest = ''): string {
  return `/Objects/1:${LINE}/1:${STATION}${rest}`;
}

async function readText(nodeId: NodeId): Promise<string | null> {
  const dv = await withDeadline(session.read({ nodeId, attributeId: AttributeIds.Value }), 5_000, 'read');
  const value: unknown = dv.value.value;
  return typeof value === 'object' && value !== null && 'text' in value ? (value.text as string | null) : null;
}

function idOf(field: Variant | undefined): string | null {
  const value: unknown = field?.value;
  return typeof value === 'object' && value !== null && 'id' in value && typeof value.id === 'string' ? value.id : null;
}

/** A ResultReadyEvent subscription on the station's VisionSystem, selecting FIELDS of ResultReadyEventType. */
async function subscribeResultReady(visionSystem: NodeId): Promise<void> {
  const resultReadyType = new NodeId(NodeId.NodeIdType.NUMERIC, 1024, mvNs);
  const selectClauses = FIELDS.map(
    (name) =>
      new SimpleAttributeOperand({
        typeDefinitionId: name === 'EventType' ? new NodeId(NodeId.NodeIdType.NUMERIC, 2041, 0) : resultReadyType,
        browsePath: [{ namespaceIndex: name === 'EventType' ? 0 : mvNs, name }],
        attributeId: AttributeIds.Value,
      }),
  );
  const item = ClientMonitoredItem.create(
    subscription,
    { nodeId: visionSystem, attributeId: AttributeIds.EventNotifier },
    { samplingInterval: 0, queueSize: 100, discardOldest: false, filter: new EventFilter({ selectClauses }) },
    TimestampsToReturn.Neither,
  );
  item.on('changed', (fields: unknown) => {
    const f = fields as Variant[];
    events.push({
      eventType: String(f[0]?.value),
      resultId: idOf(f[1]),
      partId: idOf(f[2]),
      jobId: idOf(f[3]),
      resultState: Number(f[4]?.value),
      content: Array.isArray(f[6]?.value) ? (f[6].value as string[]) : [],
    });
  });
  await withDeadline(new Promise<void>((ok, fail) => (item.once('initialized', ok), item.once('err', fail))), 5_000, 'event monitored item');
}

async function startSingleJob(partId: string): Promise<{ statusCode: unknown; jobId: string | null; error: unknown }> {
  const methodId = await resolve(stationPath(`/${mvNs}:VisionStateMachine/${mvNs}:AutomaticModeStateMachine/${mvNs}:StartSingleJob`));
  const objectId = await resolve(stationPath(`/${mvNs}:VisionStateMachine/${mvNs}:AutomaticModeStateMachine`));
  const dt = (i: number) => new NodeId(NodeId.NodeIdType.NUMERIC, i, mvNs);
  const ext = (i: number, options: Record<string, unknown>): Promise<ExtensionObject> =>
    withDeadline(session.constructExtensionObject(dt(i), options), 5_000, `construct ${i}`);
  const inputArguments = [
    { dataType: DataType.ExtensionObject, value: await ext(3015, { id: 'meas-1' }) },
    { dataType: DataType.ExtensionObject, value: await ext(3004, { id: partId }) },
    { dataType: DataType.ExtensionObject, value: await ext(3002, { id: 'housing-a' }) },
    { dataType: DataType.ExtensionObject, value: await ext(3003, { id: 'product-7' }) },
    { dataType: DataType.ExtensionObject, arrayType: VariantArrayType.Array, value: [] },
  ];
  const result = await withDeadline(session.call({ objectId, methodId, inputArguments }), 5_000, 'call StartSingleJob');
  return { statusCode: result.statusCode, jobId: idOf(result.outputArguments?.[0]), error: result.outputArguments?.[1]?.value };
}

describe('OPC 40100 address space', () => {
  it('serves one VisionSystem per station under the line folder', async () => {
    const visionSystem = await resolve(stationPath());
    const typeDef = await withDeadline(session.read({ nodeId: visionSystem, attributeId: AttributeIds.BrowseName }), 5_000, 'read');
    expect(String(typeDef.value.value)).toBe(`1:${STATION}`);
    const refs = await withDeadline(session.browse({ nodeId: visionSystem, browseDirection: 0, resultMask: 63 }), 5_000, 'browse VisionSystem');
    const names = refs.references!.map((r) => r.browseName.name);
    expect(names).toEqual(expect.arrayContaining(['VisionStateMachine', 'ResultManagement', 'RecipeManagement']));
    const typeRef = refs.references!.find((r) => r.referenceTypeId.value === 40);
    expect(typeRef?.nodeId.toString()).toBe(new NodeId(NodeId.NodeIdType.NUMERIC, 1003, mvNs).toString());
  });

  it('shows the VisionStateMachine state set by the station', async () => {
    const currentState = await resolve(stationPath(`/${mvNs}:VisionStateMachine/CurrentState`));
    expect(await readText(currentState)).toBe('Preoperational');
    handle.setVisionState('Operational');
    expect(await readText(currentState)).toBe('Operational');
    handle.setVisionState('Error');
    expect(await readText(currentState)).toBe('Error');
    handle.setVisionState('Operational');
  });

  it('browses the AutomaticModeStateMachine states the type leaves out of the instance, and its CurrentState', async () => {
    const amsm = await resolve(stationPath(`/${mvNs}:VisionStateMachine/${mvNs}:AutomaticModeStateMachine`));
    const refs = await withDeadline(session.browse({ nodeId: amsm, browseDirection: 0, resultMask: 63 }), 5_000, 'browse AMSM');
    const names = refs.references!.map((r) => r.browseName.name);
    expect(names).toEqual(expect.arrayContaining(['Initialized', 'Ready', 'SingleExecution', 'ContinuousExecution', 'StartSingleJob']));
    const currentState = await resolve(stationPath(`/${mvNs}:VisionStateMachine/${mvNs}:AutomaticModeStateMachine/CurrentState`));
    expect(await readText(currentState)).toBe('Initialized');
    handle.setAutomaticState('Ready');
    expect(await readText(currentState)).toBe('Ready');
  });

  it('StartSingleJob triggers one part and a ResultReadyEvent carries its PartId, JobId and verdict', async () => {
    await subscribeResultReady(await resolve(stationPath()));
    handle.setAutomaticState('Ready');
    const call = await startSingleJob('P-4711');
    expect(call.statusCode).toBe(StatusCodes.Good);
    expect(call.jobId).toMatch(/^st-10\//);
    expect(call.error).toBe(0);
    expect(target.requests.at(-1)).toMatchObject({ partId: 'P-4711', origin: 'mes' });
    const event = await waitUntil(() => events.find((e) => e.jobId === call.jobId), { what: 'ResultReadyEvent for the job', timeoutMs: 5_000 });
    expect(event.eventType).toBe(new NodeId(NodeId.NodeIdType.NUMERIC, 1024, mvNs).toString());
    expect(event.partId).toBe('P-4711');
    expect(event.resultState).toBe(1);
    const sequence = store.lastSequence(LINE, STATION);
    expect(event.resultId).toBe(`${STATION}/${sequence}`);
    expect(JSON.parse(event.content[0]!)).toMatchObject({ verdict: 'OK', reasons: [] });
    expect(store.getBySequence(LINE, STATION, sequence)?.result.partId).toBe('P-4711');
    expect(handle.automaticState()).toBe('Ready');
  });

  it('an inspection error is ResultState Failed (4), a refused trigger BadInvalidState', async () => {
    target.failNext = true;
    const call = await startSingleJob('P-4712');
    expect(call.statusCode).toBe(StatusCodes.Good);
    const event = await waitUntil(() => events.find((e) => e.jobId === call.jobId), {
      what: 'ResultReadyEvent for the failed job',
      timeoutMs: 5_000,
    });
    expect(event.resultState).toBe(4);
    expect(JSON.parse(event.content[0]!)).toMatchObject({ verdict: 'NOK', reasons: [{ code: INSPECTION_ERROR }] });
    target.running = false;
    const refused = await startSingleJob('P-4713');
    target.running = true;
    expect(refused.statusCode).toBe(StatusCodes.BadInvalidState);
    expect(target.requests.some((r) => r.partId === 'P-4713')).toBe(false);
  });
});
