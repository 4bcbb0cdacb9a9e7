/**
 * One station's OPC 40100 state, driven by the real station: the VisionStateMachine, the AutomaticModeStateMachine's
 * state, SystemState (SEMI E10) and Error / ErrorResolved events, recomputed on every change the station or its
 * health reports (never per part). The VisionStateMachine methods are bound here:
 *
 *   Preoperational  the station has not started (source opening, models loading) or has stopped
 *   Operational     inspecting; the AutomaticModeStateMachine is Ready, SingleExecution (an MES job pending) or
 *                   ContinuousExecution (free-run)
 *   Error           a fault that stops good verdicts: camera lost, inspections failing, result store failed
 *   Halted          Halt was called; Reset resumes (Halted → Preoperational → Operational, or Error while a
 *                   fault lasts)
 *
 * SystemState: PRD while acquiring continuously or a job runs, SBY when Ready, ENG in simulation mode, SDT when
 * Halted, UDT in Error, NST otherwise (not scheduled: booting, stopped).
 */
import { DataType, StatusCodes, Variant, type CallMethodResultOptions, type ISessionContext, type UAVariable } from 'node-opcua';
import type { Logger } from 'pino';
import type { StationPort } from '../../../runtime/adapter.ts';
import { ERROR_FAULTS, type ActiveFault, type StationFault } from '../../../runtime/pipeline/station-health.ts';
import type { AutomaticState, VisionState, VisionSystemHandle } from './address-space.ts';
import type { MethodGuard } from './method-arguments.ts';

/** SystemStateDataType values (OPC 40100-1, 12.21). */
export const SYSTEM_STATE = { PRD: 1, SBY: 2, ENG: 3, SDT: 4, UDT: 5, NST: 6 } as const;
export type SystemStateName = keyof typeof SYSTEM_STATE;

export interface VisionControlOptions {
  readonly log?: Logger;
  readonly guard?: MethodGuard;
}

export class VisionControl {
  readonly handle: VisionSystemHandle;
  readonly port: StationPort;
  private readonly log: Logger | undefined;
  private readonly guard: MethodGuard | undefined;
  private readonly systemState: UAVariable | null;
  private vision: VisionState = 'Preoperational';
  private automatic: AutomaticState = 'Initialized';
  /** The SystemState last written to the node; null until the first refresh writes one. */
  private system: SystemStateName | null = null;
  private pendingJobs = 0;
  private errorsShown = new Set<StationFault>();
  private closed = false;

  constructor(handle: VisionSystemHandle, port: StationPort, options: VisionControlOptions = {}) {
    this.handle = handle;
    this.port = port;
    this.log = options.log;
    this.guard = options.guard;
    const ns = handle.visionStateMachine.browseName.namespaceIndex; // the Machine Vision namespace
    this.systemState = (handle.visionSystem.getComponentByName('SystemState', ns) as UAVariable | null) ?? null;
    this.bindMethods();
    port.station.onChange(() => this.refresh());
    port.onHealth(() => this.refresh());
    this.refresh();
  }

  /** An MES single job was accepted (SingleExecution until it ends). */
  jobStarted(): void {
    this.pendingJobs++;
    this.refresh();
  }

  jobEnded(): void {
    this.pendingJobs = Math.max(0, this.pendingJobs - 1);
    this.refresh();
  }

  /** Stops following the station (the server is shutting down; the station's listeners stay registered). */
  close(): void {
    this.closed = true;
  }

  /** Recomputes every state from the station and its health; emits only what changed. */
  refresh(via = 'Auto'): void {
    if (this.closed) return;
    const errors = this.errorFaults();
    this.setVision(this.visionState(errors.length > 0), via);
    this.setAutomatic(this.automaticState());
    this.setSystem(this.systemStateName());
    this.showErrors(errors);
  }

  private visionState(faulted: boolean): VisionState {
    const { station } = this.port;
    if (station.halted) return 'Halted';
    if (station.state !== 'running') return 'Preoperational';
    return faulted ? 'Error' : 'Operational';
  }

  private automaticState(): AutomaticState {
    if (this.vision !== 'Operational') return this.automatic === 'Initialized' ? 'Initialized' : 'Ready';
    if (this.port.station.continuous) return 'ContinuousExecution';
    return this.pendingJobs > 0 ? 'SingleExecution' : 'Ready';
  }

  private systemStateName(): SystemStateName {
    if (this.vision === 'Error') return 'UDT';
    if (this.vision === 'Halted') return 'SDT';
    if (this.vision === 'Preoperational') return 'NST';
    if (this.port.station.simulated) return 'ENG';
    return this.automatic === 'Ready' ? 'SBY' : 'PRD';
  }

  private setVision(state: VisionState, via: string): void {
    if (state === this.vision) return;
    const from = this.vision;
    this.vision = state;
    this.handle.setVisionState(state, via);
    this.log?.info({ station: this.handle.station, from, to: state }, 'MES VisionStateMachine');
  }

  private setAutomatic(state: AutomaticState): void {
    if (state === this.automatic) return;
    const from = this.automatic;
    this.automatic = state;
    const via = from === 'SingleExecution' && state === 'Ready' ? 'Auto' : '';
    this.handle.setAutomaticState(state, via);
  }

  private setSystem(state: SystemStateName): void {
    if (state === this.system) return;
    this.system = state;
    const value = this.handle.construct('SystemStateDescriptionDataType', { state: SYSTEM_STATE[state], stateDescription: state });
    this.systemState?.setValueFromSource(new Variant({ dataType: DataType.ExtensionObject, value }));
  }

  private errorFaults(): ActiveFault[] {
    return this.port.health().faults.filter((f) => ERROR_FAULTS.includes(f.fault));
  }

  /** ErrorEventType when a fault is raised, ErrorResolvedEventType when it clears. */
  private showErrors(errors: readonly ActiveFault[]): void {
    const now = new Set(errors.map((f) => f.fault));
    for (const f of errors) if (!this.errorsShown.has(f.fault)) this.handle.emitError(f.fault, f.detail, true);
    for (const f of this.errorsShown) if (!now.has(f)) this.handle.emitError(f, 'cleared', false);
    this.errorsShown = now;
  }

  private bindMethods(): void {
    const vsm = this.handle.visionStateMachine;
    const ns = vsm.browseName.namespaceIndex;
    const bind = (name: string, run: (args: Variant[]) => CallMethodResultOptions) => {
      const method = vsm.getMethodByName(name, ns);
      // node-opcua tells the async form from the callback form by the declared parameter count: keep exactly two.
      method?.bindMethod(async (inputArguments: Variant[], context: ISessionContext) => {
        const denied = this.guard?.(context, name) ?? null;
        if (denied !== null) return { statusCode: denied };
        this.log?.info({ station: this.handle.station, method: name }, 'MES method');
        return run(inputArguments);
      });
    };
    const ok = (): CallMethodResultOptions => ({ statusCode: StatusCodes.Good, outputArguments: [{ dataType: DataType.Int32, value: 0 }] });
    bind('Halt', () => {
      this.port.station.halt();
      this.refresh('');
      return ok();
    });
    bind('Reset', () => {
      if (this.vision !== 'Halted' && this.vision !== 'Error') return { statusCode: StatusCodes.BadInvalidState };
      this.setVision('Preoperational', '');
      this.port.station.resume();
      this.refresh();
      return ok();
    });
    bind('SelectModeAutomatic', () => ok()); // automatic is Linesight's only mode
    bind('ConfirmAll', () => ({ statusCode: StatusCodes.Good, outputArguments: [] })); // nothing awaits confirmation
  }
}
