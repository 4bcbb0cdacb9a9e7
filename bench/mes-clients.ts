/**
 * OPC UA client helpers for the MES benchmark (bench/mes.bench.ts), on top of test/fakes/mes-client.ts: a
 * ResultReadyEvent probe on its own subscription that stamps each event as the monitored item hands it over, a
 * GetResultListFiltered call prepared once (ids resolved and argument structures built before timing), a bare
 * connect → createSession → close → disconnect cycle, and MES clients that read dashboard variables and list
 * results on a fixed cadence. bench/mes-client-process.ts runs them in a process of their own.
 */
import {
  AttributeIds,
  ClientMonitoredItem,
  DataType,
  MessageSecurityMode,
  NodeId,
  OPCUAClient,
  SecurityPolicy,
  StatusCodes,
  Subscription,
  TimestampsToReturn,
  UserTokenType,
  type ClientSubscription,
  type ReadValueIdOptions,
  type Variant,
  type VariantOptions,
} from 'node-opcua';
import { connectMesClient, eventFilter, idOf, type MesClient } from '../test/fakes/mes-client.ts';
import { withDeadline } from '../test/helpers/wait.ts';

/** ResultReadyEventType's id in the Machine Vision namespace. */
const RESULT_READY_EVENT = 1024;
/** ResultIdDataType's id in the Machine Vision namespace. */
const RESULT_ID_DATA_TYPE = 3021;

export interface ResultReadyProbe {
  readonly client: MesClient;
  readonly subscription: ClientSubscription;
  /** The publishing interval the server granted (ms). */
  readonly revisedPublishingMs: number;
  /** How long the session took to fetch the Machine Vision structure definitions (key 'resultId'), ms. */
  readonly discoveryMs: number | null;
  close(): Promise<void>;
}

export interface ProbeOptions {
  readonly requestedPublishingMs: number;
  /**
   * 'resultId': select ResultId (a Machine Vision structure) and key each event by it. The session first builds
   * one ResultIdDataType, timed as discoveryMs: node-opcua's client fetches the namespace's structure definitions
   * the first time it meets one (≈ 150 ms per fresh session here, seconds when many sessions do it at once), which
   * would otherwise land on the first event. 'order': select ResultState only (an Int32: no structure to decode)
   * and key events `#1`, `#2`, … in arrival order.
   */
  readonly key: 'resultId' | 'order';
}

/**
 * Connects a client, creates one subscription with one event monitored item on the station's VisionSystem, and
 * calls `onEvent(key, performance.now())` from the item's 'changed' handler for every ResultReadyEvent.
 */
export async function probeResultReady(
  endpoint: string,
  line: string,
  station: string,
  options: ProbeOptions,
  onEvent: (key: string, receivedAt: number) => void,
): Promise<ResultReadyProbe> {
  const client = await connectMesClient(endpoint, line);
  try {
    const t0 = performance.now();
    if (options.key === 'resultId') await client.id(RESULT_ID_DATA_TYPE, 'warm-up');
    const discoveryMs = options.key === 'resultId' ? performance.now() - t0 : null;
    const subscription = await createSubscription(client, options.requestedPublishingMs);
    await monitorResultReady(client, subscription, station, options.key, onEvent);
    return {
      client,
      subscription,
      revisedPublishingMs: subscription.publishingInterval,
      discoveryMs,
      async close() {
        await subscription.terminate().catch(() => {});
        await client.close();
      },
    };
  } catch (err) {
    await client.close();
    throw err;
  }
}

function createSubscription(client: MesClient, requestedPublishingMs: number): Promise<ClientSubscription> {
  const expected = Math.max(requestedPublishingMs, Subscription.minimumPublishingInterval, 1);
  return withDeadline(
    client.session.createSubscription2({
      requestedPublishingInterval: requestedPublishingMs,
      // A keep-alive about once a second whatever the interval; the server sizes the lifetime from it.
      requestedMaxKeepAliveCount: Math.min(12_000, Math.max(2, Math.ceil(1000 / expected))),
      requestedLifetimeCount: 0,
      maxNotificationsPerPublish: 0,
      publishingEnabled: true,
    }),
    5_000,
    'create subscription',
  );
}

async function monitorResultReady(
  client: MesClient,
  subscription: ClientSubscription,
  station: string,
  key: ProbeOptions['key'],
  onEvent: (key: string, receivedAt: number) => void,
): Promise<void> {
  const eventType = new NodeId(NodeId.NodeIdType.NUMERIC, RESULT_READY_EVENT, client.mvNs);
  const filter = eventFilter(client.mvNs, RESULT_READY_EVENT, ['EventType', key === 'resultId' ? 'ResultId' : 'ResultState']);
  const item = ClientMonitoredItem.create(
    subscription,
    { nodeId: await client.resolve(`/1:${station}`), attributeId: AttributeIds.EventNotifier },
    { samplingInterval: 0, queueSize: 1000, discardOldest: false, filter },
    TimestampsToReturn.Neither,
  );
  const wanted = eventType.toString();
  let arrived = 0;
  item.on('changed', (values: unknown) => {
    const receivedAt = performance.now();
    const v = values as Variant[];
    if (String(v[0]?.value) !== wanted) return;
    const id = key === 'resultId' ? idOf(v[1]?.value) : `#${++arrived}`;
    if (id !== null) onEvent(id, receivedAt);
  });
  await withDeadline(new Promise<void>((ok, fail) => (item.once('initialized', ok), item.once('err', fail))), 5_000, 'event monitored item');
}

export interface ListQuery {
  readonly resultState?: number;
  readonly partId?: string;
  readonly jobId?: string;
  readonly maxResults: number;
}

export interface ListCall {
  /** One call; answers ResultCount (a status other than Good throws). */
  (): Promise<number>;
  /** The arguments every call sends. */
  readonly inputArguments: readonly VariantOptions[];
}

/** GetResultListFiltered on the station's ResultManagement with every argument built once. */
export async function prepareListCall(client: MesClient, station: string, q: ListQuery): Promise<ListCall> {
  const objectPath = `/1:${station}/MV:ResultManagement`;
  const objectId = await client.resolve(objectPath);
  const methodId = await client.resolve(`${objectPath}/MV:GetResultListFiltered`);
  const inputArguments: VariantOptions[] = [
    { dataType: DataType.Int32, value: q.resultState ?? 0 },
    await client.id(3015, null), // MeasId
    await client.id(3004, q.partId ?? null),
    await client.id(3002, null), // ExternalRecipeId
    await client.id(3013, null), // InternalRecipeId
    await client.id(3008, null), // ExternalConfigurationId
    await client.id(3008, null), // InternalConfigurationId
    await client.id(3003, null), // ProductId
    await client.id(3016, q.jobId ?? null),
    { dataType: DataType.UInt32, value: q.maxResults },
    { dataType: DataType.UInt32, value: 0 }, // StartIndex
    { dataType: DataType.Int32, value: 0 }, // Timeout: handle kept until pushed out
  ];
  const call = async () => {
    const r = await withDeadline(client.session.call({ objectId, methodId, inputArguments }), 10_000, 'GetResultListFiltered');
    if (r.statusCode !== StatusCodes.Good) throw new Error(`GetResultListFiltered: ${r.statusCode.toString()}`);
    return r.outputArguments?.[1]?.value as number;
  };
  return Object.assign(call, { inputArguments });
}

/** One anonymous client life: connect, createSession, close the session, disconnect. */
export async function sessionCycle(endpoint: string): Promise<void> {
  const client = OPCUAClient.create({
    endpointMustExist: false,
    connectionStrategy: { maxRetry: 0 },
    securityMode: MessageSecurityMode.None,
    securityPolicy: SecurityPolicy.None,
  });
  await withDeadline(client.connect(endpoint), 10_000, 'connect');
  try {
    const session = await withDeadline(client.createSession({ type: UserTokenType.Anonymous }), 10_000, 'create session');
    await withDeadline(session.close(), 10_000, 'close session');
  } finally {
    await client.disconnect();
  }
}

/** The dashboard variables of one station (urn:linesight:dashboard), as one Read request. */
async function dashboardReads(client: MesClient, station: string): Promise<ReadValueIdOptions[]> {
  const ns = (await client.session.readNamespaceArray()).indexOf('urn:linesight:dashboard');
  const names = ['LastVerdict', 'LastPartId', 'LastResultId', 'Recipe', 'Inspected', 'Ok', 'Nok', 'Rejected', 'InspectionErrors', 'Yield'];
  names.push('Faults', 'Models', 'SinkBacklogs', 'AcquireP50Ms', 'AcquireP99Ms', 'InferP50Ms', 'InferP99Ms', 'TotalP50Ms', 'TotalP99Ms');
  const ids: ReadValueIdOptions[] = [];
  for (const name of names)
    ids.push({ nodeId: await client.resolve(`/${ns}:Dashboard/${ns}:${station}/${ns}:${name}`), attributeId: AttributeIds.Value });
  return ids;
}

interface Poller {
  /** Round trips (ms) of each poll: one Read of the dashboard variables + one GetResultListFiltered. */
  readonly pollMs: number[];
  stop(): Promise<void>;
}

/** Polls every `everyMs` (start to start) until stop(): a Read of `reads`, then `list()`. */
function startPoller(client: MesClient, reads: ReadValueIdOptions[], list: () => Promise<number>, everyMs: number, delayMs: number): Poller {
  const pollMs: number[] = [];
  let stopped = false;
  const loop = async () => {
    await new Promise((r) => setTimeout(r, delayMs));
    while (!stopped) {
      const t0 = performance.now();
      await withDeadline(client.session.read(reads), 10_000, 'read dashboard');
      await list();
      const t1 = performance.now();
      pollMs.push(t1 - t0);
      await new Promise((r) => setTimeout(r, Math.max(0, everyMs - (t1 - t0))));
    }
  };
  const running = loop();
  return {
    pollMs,
    async stop() {
      stopped = true;
      await running;
    },
  };
}

export interface PollingSpec {
  readonly endpoint: string;
  readonly line: string;
  /** Station whose dashboard variables each poll reads. */
  readonly dashboardStation: string;
  /** Station whose first page of 100 results each poll lists. */
  readonly listStation: string;
  readonly clients: number;
  readonly everyMs: number;
}

export interface PollingClients {
  /** Stops polling, closes the clients, answers every poll's round trip (ms). */
  close(): Promise<number[]>;
}

/**
 * Connects `clients` MES clients one after another (each fresh session fetches the structure definitions when
 * its first call is prepared), then polls from each, staggered over the period.
 */
export async function startPollingClients(spec: PollingSpec): Promise<PollingClients> {
  const clients: MesClient[] = [];
  const prepared: { reads: ReadValueIdOptions[]; list: () => Promise<number> }[] = [];
  for (let k = 0; k < spec.clients; k++) {
    const client = await connectMesClient(spec.endpoint, spec.line);
    clients.push(client);
    prepared.push({
      list: await prepareListCall(client, spec.listStation, { maxResults: 100 }),
      reads: await dashboardReads(client, spec.dashboardStation),
    });
  }
  const pollers = prepared.map((p, k) => startPoller(clients[k]!, p.reads, p.list, spec.everyMs, (k * spec.everyMs) / spec.clients));
  return {
    async close() {
      for (const p of pollers) await p.stop();
      for (const c of clients) await c.close();
      return pollers.flatMap((p) => p.pollMs);
    },
  };
}
