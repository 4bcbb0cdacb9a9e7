/**
 * The OPC 40100 (Machine Vision) address space of the MES server: per station one `VisionSystemType` object,
 * grouped in a folder per line under Objects, with ResultManagement, RecipeManagement and the VisionStateMachine
 * with its AutomaticModeStateMachine. The server must have been created with `machineVisionNodesets()` loaded.
 *
 * States: node-opcua resolves a state machine's states on its TYPE (Part 16: the states are the type's objects,
 * CurrentState/Id points at them), which is also what keeps TransitionEvents and LastTransition working. The
 * nodeset gives the VisionStateMachine instance copies of its four states but the AutomaticModeStateMachine
 * instance none; `addMissingStates` adds Initialized, Ready, SingleExecution and ContinuousExecution (StateType,
 * StateNumber as on the type) so a client browsing the instance sees them too.
 *
 * This module imports node-opcua at load: the service adapter's entry must import it lazily (as the OPC UA sink
 * does) so that CLI commands do not pay node-opcua's start-up.
 */
import {
  DataType,
  EventNotifierFlags,
  NodeClass,
  nodesets,
  promoteToStateMachine,
  Variant,
  VariantArrayType,
  type ExtensionObject,
  type TransitionSelector,
  type Namespace,
  type OPCUAServer,
  type UAObject,
  type UAObjectType,
  type UAStateMachineEx,
} from 'node-opcua';
import { LinesightError } from '../../../runtime/errors.ts';

export const MACHINE_VISION_NS_URI = 'http://opcfoundation.org/UA/MachineVision';

/** The nodesets to pass as `nodeset_filename` when creating the OPCUAServer. */
export function machineVisionNodesets(): string[] {
  return [nodesets.standard, nodesets.machineVision];
}

export const VISION_STATES = ['Preoperational', 'Operational', 'Error', 'Halted'] as const;
export type VisionState = (typeof VISION_STATES)[number];
export const AUTOMATIC_STATES = ['Initialized', 'Ready', 'SingleExecution', 'ContinuousExecution'] as const;
export type AutomaticState = (typeof AUTOMATIC_STATES)[number];

/** ResultStateDataType (OPC 40100-1, 12.19): a processing status, not OK/NOK. */
export const RESULT_STATE = { Undefined: 0, Completed: 1, Processing: 2, Aborted: 3, Failed: 4 } as const;

/** The fields of one ResultReadyEvent; ids are the `Id` of the spec's `{Id, Description?}` structures. */
export interface ResultReadyFields {
  readonly resultId: string;
  readonly jobId: string;
  readonly resultState: number;
  readonly creationTime: Date;
  readonly isPartial?: boolean;
  readonly isSimulated?: boolean;
  readonly partId?: string | null;
  readonly measId?: string | null;
  readonly productId?: string | null;
  readonly internalRecipeId?: string | null;
  readonly externalRecipeId?: string | null;
  readonly internalConfigurationId?: string | null;
  readonly processingTimes?: { startTime: Date; endTime: Date; acquisitionDuration: number; processingDuration: number };
  /** ResultContent: one String element, the verdict record as JSON. */
  readonly content?: readonly string[];
}

/** One station's VisionSystem, as the MES service drives it. */
/**
 * Several transitions of the spec join the same two states (e.g. ReadyToSingleExecution, caused by the method, and
 * ReadyToSingleExecutionAuto): `via` is the suffix of the one taken ('' the plain one, 'Auto', 'Stop', 'Abort').
 */
export interface VisionSystemHandle {
  readonly station: string;
  readonly visionSystem: UAObject;
  readonly visionStateMachine: UAObject;
  readonly automaticModeStateMachine: UAObject;
  setVisionState(state: VisionState, via?: string): void;
  setAutomaticState(state: AutomaticState, via?: string): void;
  emitResultReady(fields: ResultReadyFields): void;
  /** ErrorEventType (`active`) or ErrorResolvedEventType for a station fault, with the fault as message. */
  emitError(fault: string, detail: string, active: boolean): void;
  /** A `{Id}` structure of the MachineVision namespace (e.g. 'JobIdDataType'), for method outputs. */
  idStructure(dataTypeName: string, id: string): ExtensionObject;
  /** Any structure of the MachineVision namespace, by data type name. */
  construct(dataTypeName: string, fields: Record<string, unknown>): ExtensionObject;
}

export interface MachineVisionSpace {
  readonly line: string;
  /** Objects/<line>: the stations' VisionSystems, and the dashboard folder beside them. */
  readonly folder: UAObject;
  readonly namespaceIndex: number;
  readonly stations: ReadonlyMap<string, VisionSystemHandle>;
}

const OPTIONALS = [
  'ResultManagement',
  'ResultManagement.ReleaseResultHandle',
  'RecipeManagement',
  'SystemState',
  'VisionStateMachine.ConfirmAll',
  'VisionStateMachine.SelectModeAutomatic',
  'VisionStateMachine.AutomaticModeStateMachine',
  'VisionStateMachine.AutomaticModeStateMachine.SimulationMode',
];

/** Builds the line folder and one VisionSystem per station; call after `server.initialize()`. */
export function buildMachineVisionSpace(server: OPCUAServer, line: string, stations: readonly string[]): MachineVisionSpace {
  const addressSpace = server.engine.addressSpace;
  if (!addressSpace) throw new LinesightError('LS_ERR_CONFIG_INVALID', 'the OPC UA server has no address space (call initialize() first)', { line });
  const mvIndex = addressSpace.getNamespaceIndex(MACHINE_VISION_NS_URI);
  const visionSystemType = mvIndex < 0 ? null : addressSpace.findObjectType('VisionSystemType', mvIndex);
  if (!visionSystemType) {
    throw new LinesightError('LS_ERR_CONFIG_INVALID', 'the OPC UA server was created without the Machine Vision nodeset', {
      line,
      namespace: MACHINE_VISION_NS_URI,
    });
  }
  const own = addressSpace.getOwnNamespace();
  const folder = own.addFolder(addressSpace.rootFolder.objects, { browseName: line });
  const handles = new Map<string, VisionSystemHandle>();
  for (const station of stations) handles.set(station, buildStation(own, folder, visionSystemType, mvIndex, station));
  return { line, folder, namespaceIndex: mvIndex, stations: handles };
}

function buildStation(own: Namespace, folder: UAObject, type: UAObjectType, mvIndex: number, station: string): VisionSystemHandle {
  const addressSpace = type.addressSpace;
  const visionSystem = type.instantiate({
    browseName: station,
    organizedBy: folder,
    optionals: OPTIONALS,
    eventNotifier: EventNotifierFlags.SubscribeToEvents,
    notifierOf: addressSpace.rootFolder.objects.server,
  });
  const vsmNode = child(visionSystem, 'VisionStateMachine', mvIndex, station);
  const amsmNode = child(vsmNode, 'AutomaticModeStateMachine', mvIndex, station);
  const vsm = promoteToStateMachine(vsmNode);
  const amsm = promoteToStateMachine(amsmNode);
  addMissingStates(own, amsm);
  const eventType = (name: string) => {
    const t = addressSpace.findEventType(name, mvIndex);
    if (!t) throw new LinesightError('LS_ERR_CONFIG_INVALID', `${name} missing from the Machine Vision nodeset`, { station });
    return t;
  };
  const resultReadyType = eventType('ResultReadyEventType');
  const errorType = eventType('ErrorEventType');
  const errorResolvedType = eventType('ErrorResolvedEventType');
  const construct = (dataTypeName: string, fields: Record<string, unknown>): ExtensionObject => {
    const dataType = addressSpace.findDataType(dataTypeName, mvIndex);
    if (!dataType)
      throw new LinesightError('LS_ERR_CONFIG_INVALID', `data type ${dataTypeName} missing from the Machine Vision nodeset`, { station });
    return addressSpace.constructExtensionObject(dataType, fields);
  };
  const idStructure = (dataTypeName: string, id: string): ExtensionObject => construct(dataTypeName, { id });
  vsm.setState('Preoperational');
  amsm.setState('Initialized');
  return {
    station,
    visionSystem,
    visionStateMachine: vsmNode,
    automaticModeStateMachine: amsmNode,
    setVisionState: (state, via = '') => vsm.setState(state, transitionVia(via)),
    setAutomaticState: (state, via = '') => amsm.setState(state, transitionVia(via)),
    emitResultReady: (fields) => visionSystem.raiseEvent(resultReadyType, resultReadyEventData(fields, idStructure, construct)),
    emitError: (fault, detail, active) =>
      visionSystem.raiseEvent(active ? errorType : errorResolvedType, {
        message: new Variant({ dataType: DataType.LocalizedText, value: { text: `${station}: ${fault}: ${detail}` } }),
        severity: new Variant({ dataType: DataType.UInt16, value: active ? 800 : 200 }),
      }),
    idStructure,
    construct,
  };
}

/** Picks `<From>To<To><via>` among parallel transitions, else the first (instead of node-opcua's warning dump). */
function transitionVia(via: string): TransitionSelector {
  return (transitions, from, to) => {
    const name = `${from.browseName.name ?? ''}To${to.browseName.name ?? ''}${via}`;
    return transitions.find((t) => t.browseName.name === name) ?? transitions[0] ?? null;
  };
}

function child(parent: UAObject, name: string, ns: number, station: string): UAObject {
  const node = parent.getComponentByName(name, ns);
  if (!node || node.nodeClass !== NodeClass.Object) {
    throw new LinesightError('LS_ERR_CONFIG_INVALID', `VisionSystemType instance has no ${name}`, { station, parent: parent.browseName.toString() });
  }
  return node;
}

/** Adds under the instance a StateType object for every state of its type that the instance lacks. */
function addMissingStates(own: Namespace, machine: UAStateMachineEx): void {
  const stateType = machine.addressSpace.findObjectType('StateType');
  if (!stateType) throw new LinesightError('LS_ERR_CONFIG_INVALID', 'StateType missing from the standard nodeset', {});
  for (const state of machine.getStates()) {
    if (machine.getComponentByName(state.browseName.name ?? '', state.browseName.namespaceIndex)) continue;
    const copy = own.addObject({ componentOf: machine, browseName: state.browseName, typeDefinition: stateType, displayName: state.displayName });
    const number = state.stateNumber?.readValue().value.value as unknown;
    own.addVariable({
      propertyOf: copy,
      browseName: 'StateNumber',
      dataType: 'UInt32',
      value: { dataType: DataType.UInt32, value: typeof number === 'number' ? number : 0 },
    });
  }
}

type IdStructure = (dataTypeName: string, id: string) => ExtensionObject;

type Construct = (dataTypeName: string, fields: Record<string, unknown>) => ExtensionObject;

function resultReadyEventData(f: ResultReadyFields, idStructure: IdStructure, construct: Construct): Record<string, Variant> {
  const ext = (name: string, id: string | null | undefined): Variant | null =>
    id === null || id === undefined ? null : new Variant({ dataType: DataType.ExtensionObject, value: idStructure(name, id) });
  const data: Record<string, Variant | null> = {
    resultId: ext('ResultIdDataType', f.resultId),
    jobId: ext('JobIdDataType', f.jobId),
    partId: ext('PartIdDataType', f.partId),
    measId: ext('MeasIdDataType', f.measId),
    productId: ext('ProductIdDataType', f.productId),
    internalRecipeId: ext('RecipeIdInternalDataType', f.internalRecipeId),
    externalRecipeId: ext('RecipeIdExternalDataType', f.externalRecipeId),
    internalConfigurationId: ext('ConfigurationIdDataType', f.internalConfigurationId),
    processingTimes:
      f.processingTimes === undefined
        ? null
        : new Variant({ dataType: DataType.ExtensionObject, value: construct('ProcessingTimesDataType', f.processingTimes) }),
    resultState: new Variant({ dataType: DataType.Int32, value: f.resultState }),
    creationTime: new Variant({ dataType: DataType.DateTime, value: f.creationTime }),
    isPartial: new Variant({ dataType: DataType.Boolean, value: f.isPartial ?? false }),
    isSimulated: new Variant({ dataType: DataType.Boolean, value: f.isSimulated ?? false }),
    resultContent:
      f.content === undefined ? null : new Variant({ dataType: DataType.String, arrayType: VariantArrayType.Array, value: [...f.content] }),
  };
  return Object.fromEntries(Object.entries(data).filter((e): e is [string, Variant] => e[1] !== null));
}
