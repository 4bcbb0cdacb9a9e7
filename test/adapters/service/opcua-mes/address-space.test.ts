/**
 * The OPC 40100 address space against a real node-opcua client on 127.0.0.1 (SecurityMode None): browse to a
 * station's VisionSystem, read its state machines, and receive a ResultReadyEvent built from a result stored in a
 * real SQLite store through an event subscription. The methods on a running line: mes-line.test.ts.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AttributeIds, ClientMonitoredItem, NodeId, TimestampsToReturn, type ClientSession, type ClientSubscription, type Variant } from 'node-opcua';
import { eventFilter } from '../../../fakes/mes-client.ts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { VisionSystemHandle } from '../../../../adapters/service/opcua-mes/address-space.ts';
import { resultReadyFields } from '../../../../adapters/service/opcua-mes/result-event.ts';
import { INSPECTION_ERROR } from '../../../../runtime/decision/rules.ts';
import { ResultStore } from '../../../../runtime/store/sqlite-store.ts';
import { makeResult } from '../../../fakes/make-result.ts';
import { waitUntil, withDeadline } from '../../../helpers/wait.ts';
import { startMachineVisionPeer, type MachineVisionPeer } from '../../../fakes/machine-vision-peer.ts';

const LINE = 'line-1';
const STATION = 'st-10';

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
let peer: MachineVisionPeer;
let handle: VisionSystemHandle;
let session: ClientSession;
let subscription: ClientSubscription;
let mvNs: number;
const events: ReceivedEvent[] = [];

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'ls-mes-'));
  store = new ResultStore(join(dir, 'results.db'));
  peer = await startMachineVisionPeer(LINE, [STATION], (space) => {
    handle = space.stations.get(STATION)!;
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
  const item = ClientMonitoredItem.create(
    subscription,
    { nodeId: visionSystem, attributeId: AttributeIds.EventNotifier },
    { samplingInterval: 0, queueSize: 100, discardOldest: false, filter: eventFilter(mvNs, 1024, FIELDS) },
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

  it('a ResultReadyEvent carries the stored result: ResultId, PartId, JobId, ResultState and the verdict', async () => {
    await subscribeResultReady(await resolve(stationPath()));
    const job = { jobId: 'st-10/job-1', measId: 'M-1', productId: 'PRD-1', externalRecipeId: 'housing-a' };
    const stored = store.append(makeResult({ station: STATION, line: LINE, partId: 'P-4711', job }), []);
    handle.emitResultReady(resultReadyFields(stored));
    const event = await waitUntil(() => events.find((e) => e.jobId === job.jobId), { what: 'ResultReadyEvent', timeoutMs: 5_000 });
    expect(event.eventType).toBe(new NodeId(NodeId.NodeIdType.NUMERIC, 1024, mvNs).toString());
    expect(event.partId).toBe('P-4711');
    expect(event.resultState).toBe(1);
    expect(event.resultId).toBe(`${STATION}/${stored.sequence}`);
    expect(JSON.parse(event.content[0]!)).toMatchObject({ verdict: 'OK', reasons: [] });
  });

  it('an inspection error is ResultState Failed (4)', async () => {
    const reasons = [{ code: INSPECTION_ERROR, source: 'surface-anomaly', detail: 'worker crashed' }];
    const job = { jobId: 'st-10/job-2', measId: null, productId: null, externalRecipeId: null };
    const stored = store.append(makeResult({ station: STATION, line: LINE, verdict: 'NOK', reasons, job }), []);
    handle.emitResultReady(resultReadyFields(stored));
    const event = await waitUntil(() => events.find((e) => e.jobId === job.jobId), { what: 'failed ResultReadyEvent', timeoutMs: 5_000 });
    expect(event.resultState).toBe(4);
    expect(JSON.parse(event.content[0]!)).toMatchObject({ verdict: 'NOK', reasons: [{ code: INSPECTION_ERROR }] });
  });
});
