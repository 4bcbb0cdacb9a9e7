/**
 * A real node-opcua client session on the MES server, with the few things the MES tests do: resolve browse paths
 * under a station's VisionSystem, read state texts, call Machine Vision methods with structured ids, and collect
 * ResultReadyEvents (or any event type) from a VisionSystem's event notifier.
 */
import {
  AttributeIds,
  ClientMonitoredItem,
  DataType,
  EventFilter,
  makeBrowsePath,
  MessageSecurityMode,
  NodeId,
  OPCUAClient,
  SecurityPolicy,
  SimpleAttributeOperand,
  StatusCodes,
  TimestampsToReturn,
  UserTokenType,
  VariantArrayType,
  type ClientSession,
  type ClientSubscription,
  type ExtensionObject,
  type StatusCode,
  type UserIdentityInfo,
  type Variant,
  type VariantOptions,
} from 'node-opcua';
import { MACHINE_VISION_NS_URI } from '../../adapters/service/opcua-mes/address-space.ts';
import { withDeadline } from '../helpers/wait.ts';

export interface MesEvent {
  readonly fields: Readonly<Record<string, unknown>>;
}

export interface MesClient {
  readonly session: ClientSession;
  readonly mvNs: number;
  resolve(path: string): Promise<NodeId>;
  readText(path: string): Promise<string | null>;
  read(path: string): Promise<unknown>;
  /** Calls `method` on the object at `objectPath` (relative to the station's VisionSystem). */
  call(station: string, objectPath: string, method: string, args: VariantOptions[]): Promise<{ statusCode: StatusCode; outputs: Variant[] }>;
  /** A `{Id}` structure of the MachineVision namespace by data type id (3015 MeasId, 3004 PartId …); null: no Id (an empty filter). */
  id(dataTypeId: number, id: string | null): Promise<VariantOptions>;
  /** Collects the events of exactly `typeId` (MV namespace) raised on the station's VisionSystem, selecting `fields`. */
  collectEvents(station: string, typeId: number, fields: readonly string[]): Promise<MesEvent[]>;
  close(): Promise<void>;
}

export interface MesClientOptions {
  readonly user?: { readonly name: string; readonly password: string };
  readonly securityMode?: MessageSecurityMode;
  readonly securityPolicy?: SecurityPolicy;
}

export async function connectMesClient(endpoint: string, line: string, options: MesClientOptions = {}): Promise<MesClient> {
  const client = OPCUAClient.create({
    endpointMustExist: false,
    connectionStrategy: { maxRetry: 0 },
    securityMode: options.securityMode ?? MessageSecurityMode.None,
    securityPolicy: options.securityPolicy ?? SecurityPolicy.None,
  });
  await withDeadline(client.connect(endpoint), 10_000, `connect ${endpoint}`);
  const identity: UserIdentityInfo = options.user
    ? { type: UserTokenType.UserName, userName: options.user.name, password: options.user.password }
    : { type: UserTokenType.Anonymous };
  const session = await withDeadline(client.createSession(identity), 10_000, 'create session');
  const mvNs = (await withDeadline(session.readNamespaceArray(), 5_000, 'read NamespaceArray')).indexOf(MACHINE_VISION_NS_URI);
  let subscription: ClientSubscription | null = null;
  const resolve = async (path: string): Promise<NodeId> => {
    const full = path.replaceAll('MV:', `${mvNs}:`);
    const result = await withDeadline(session.translateBrowsePath(makeBrowsePath('RootFolder', `/Objects/1:${line}${full}`)), 5_000, full);
    if (result.statusCode !== StatusCodes.Good) throw new Error(`${full}: ${result.statusCode.toString()}`);
    return result.targets![0]!.targetId;
  };
  const read = async (path: string): Promise<unknown> => {
    const dv = await withDeadline(session.read({ nodeId: await resolve(path), attributeId: AttributeIds.Value }), 5_000, `read ${path}`);
    return dv.value.value as unknown;
  };
  return {
    session,
    mvNs,
    resolve,
    read,
    async readText(path) {
      const value = await read(path);
      return typeof value === 'object' && value !== null && 'text' in value ? (value.text as string | null) : null;
    },
    async call(station, objectPath, method, args) {
      const objectId = await resolve(`/1:${station}${objectPath}`);
      const methodId = await resolve(`/1:${station}${objectPath}/MV:${method}`);
      const r = await withDeadline(session.call({ objectId, methodId, inputArguments: args }), 10_000, `call ${method}`);
      return { statusCode: r.statusCode, outputs: r.outputArguments ?? [] };
    },
    async id(dataTypeId, id) {
      const dataType = new NodeId(NodeId.NodeIdType.NUMERIC, dataTypeId, mvNs);
      const value: ExtensionObject = await withDeadline(
        session.constructExtensionObject(dataType, id === null ? {} : { id }),
        5_000,
        `construct ${dataTypeId}`,
      );
      return { dataType: DataType.ExtensionObject, value };
    },
    async collectEvents(station, typeId, fields) {
      subscription ??= await withDeadline(
        session.createSubscription2({ requestedPublishingInterval: 20, requestedMaxKeepAliveCount: 20, publishingEnabled: true }),
        5_000,
        'create subscription',
      );
      const eventType = new NodeId(NodeId.NodeIdType.NUMERIC, typeId, mvNs);
      // No where clause: every event of the notifier arrives; the client keeps those of `typeId` (by EventType).
      const item = ClientMonitoredItem.create(
        subscription,
        { nodeId: await resolve(`/1:${station}`), attributeId: AttributeIds.EventNotifier },
        { samplingInterval: 0, queueSize: 1000, discardOldest: false, filter: eventFilter(mvNs, typeId, ['EventType', ...fields]) },
        TimestampsToReturn.Neither,
      );
      const events: MesEvent[] = [];
      item.on('changed', (values: unknown) => {
        const v = values as Variant[];
        if (String(v[0]?.value) !== eventType.toString()) return;
        events.push({ fields: Object.fromEntries(fields.map((f, i) => [f, v[i + 1]?.value as unknown])) });
      });
      await withDeadline(new Promise<void>((ok, fail) => (item.once('initialized', ok), item.once('err', fail))), 5_000, 'event monitored item');
      return events;
    },
    async close() {
      await subscription?.terminate().catch(() => {});
      await session.close().catch(() => {});
      await client.disconnect().catch(() => {});
    },
  };
}

/** Fields every event has (BaseEventType, namespace 0); any other field is selected on the event type `typeId`. */
const BASE_EVENT_FIELDS: ReadonlySet<string> = new Set(['EventType', 'Message', 'Severity', 'Time', 'SourceName']);

/**
 * An EventFilter selecting `fields` in order, without a where clause: base fields on BaseEventType (i=2041),
 * the others on the Machine Vision event type `typeId` of namespace `mvNs`.
 */
export function eventFilter(mvNs: number, typeId: number, fields: readonly string[]): EventFilter {
  const eventType = new NodeId(NodeId.NodeIdType.NUMERIC, typeId, mvNs);
  const baseEventType = new NodeId(NodeId.NodeIdType.NUMERIC, 2041, 0);
  const selectClauses = fields.map((name) => {
    const base = BASE_EVENT_FIELDS.has(name);
    return new SimpleAttributeOperand({
      typeDefinitionId: base ? baseEventType : eventType,
      browsePath: [{ namespaceIndex: base ? 0 : mvNs, name }],
      attributeId: AttributeIds.Value,
    });
  });
  return new EventFilter({ selectClauses });
}

/** The `Id` of a `{Id, …}` structure field, or null. */
export function idOf(value: unknown): string | null {
  return typeof value === 'object' && value !== null && 'id' in value && typeof value.id === 'string' ? value.id : null;
}

/** StartSingleJob / StartContinuous arguments: MeasId, PartId, RecipeId, ProductId, Parameters. */
export async function jobArguments(
  client: MesClient,
  ids: { meas: string; part: string; recipe?: string; product: string },
): Promise<VariantOptions[]> {
  return [
    await client.id(3015, ids.meas),
    await client.id(3004, ids.part),
    await client.id(3002, ids.recipe ?? 'panel-A'),
    await client.id(3003, ids.product),
    { dataType: DataType.ExtensionObject, arrayType: VariantArrayType.Array, value: [] },
  ];
}
