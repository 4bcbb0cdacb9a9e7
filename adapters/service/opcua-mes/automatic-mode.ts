/**
 * The AutomaticModeStateMachine's methods (OPC 40100-1, 8.3.7) on a station, through its Trigger port and controls:
 *
 * - StartSingleJob(MeasId, PartId, RecipeId, ProductId, Parameters → JobId, Error): triggers one part with the
 *   PartId's Id as part id (origin `mes`) and the job's ids recorded with its result; answers a fresh JobId at once.
 *   The result's ResultReadyEvent follows (result-publisher.ts); a trigger that produced no part ends in an Aborted
 *   ResultReadyEvent. A refused trigger (station halted, not running, max parts) is BadInvalidState.
 * - StartContinuous(same arguments): free-run at the station's continuous rate, every part carrying the JobId;
 *   BadInvalidState on a station that offers none (no `continuousFps`).
 * - Stop(Cause, CauseDescription → Error): back to waiting for triggers (Ready). Abort: the same, and the triggers
 *   still waiting for a frame are dropped (their jobs end Aborted).
 * - SimulationMode(Activate, Cause, CauseDescription → Error): results are marked IsSimulated while active.
 */
import { randomUUID } from 'node:crypto';
import { DataType, StatusCodes, type CallMethodResultOptions, type ISessionContext, type Variant } from 'node-opcua';
import type { Logger } from 'pino';
import type { VisionControl } from './vision-control.ts';
import { abortedResultFields, type JobContext } from './result-event.ts';
import { structureId, type MethodGuard } from './method-arguments.ts';

export interface AutomaticModeOptions {
  readonly log?: Logger;
  readonly guard?: MethodGuard;
  /** JobId factory (default: `<station>/<uuid>`). */
  readonly newJobId?: () => string;
}

type Run = (args: Variant[]) => CallMethodResultOptions;

export function bindAutomaticMode(control: VisionControl, options: AutomaticModeOptions = {}): void {
  const { handle, port } = control;
  const amsm = handle.automaticModeStateMachine;
  const ns = amsm.browseName.namespaceIndex;
  const newJobId = options.newJobId ?? (() => `${handle.station}/${randomUUID()}`);
  const bind = (name: string, run: Run) => {
    // node-opcua tells the async form from the callback form by the declared parameter count: keep exactly two.
    amsm.getMethodByName(name, ns)?.bindMethod(async (inputArguments: Variant[], context: ISessionContext) => {
      const denied = options.guard?.(context, name) ?? null;
      return denied !== null ? { statusCode: denied } : run(inputArguments);
    });
  };
  const jobOf = (args: Variant[]): JobContext => ({
    jobId: newJobId(),
    measId: structureId(args[0]),
    partId: structureId(args[1]),
    externalRecipeId: structureId(args[2]),
    productId: structureId(args[3]),
  });
  const log = options.log;
  bind('StartSingleJob', (args) => startSingleJob(control, jobOf(args), log));
  bind('StartContinuous', (args) => {
    if (port.continuousFps === null || port.station.halted || port.station.state !== 'running') return { statusCode: StatusCodes.BadInvalidState };
    const job = jobOf(args);
    port.station.setContinuous(port.continuousFps, job);
    log?.info({ station: handle.station, job: job.jobId, fps: port.continuousFps }, 'MES StartContinuous');
    return jobAnswer(control, job);
  });
  bind('Stop', () => {
    port.station.setContinuous(null);
    return errorAnswer(0);
  });
  bind('Abort', () => {
    port.station.setContinuous(null);
    port.station.abortPending();
    return errorAnswer(0);
  });
  bind('SimulationMode', (args) => {
    port.station.setSimulationMode(args[0]?.value === true);
    return errorAnswer(0);
  });
}

function startSingleJob(control: VisionControl, job: JobContext, log: Logger | undefined): CallMethodResultOptions {
  const { handle, port } = control;
  const outcome = port.station.trigger({
    partId: job.partId,
    origin: 'mes',
    job,
    onDecided: (result) => {
      control.jobEnded();
      if (result === null) handle.emitResultReady(abortedResultFields(handle.station, job));
    },
  });
  if (!outcome.accepted) {
    log?.warn({ station: handle.station, job: job.jobId, part: job.partId, refusal: outcome.reason }, 'MES StartSingleJob refused by the station');
    return { statusCode: StatusCodes.BadInvalidState };
  }
  control.jobStarted();
  log?.info({ station: handle.station, job: job.jobId, part: job.partId, trigger: 'mes' }, 'MES StartSingleJob');
  return jobAnswer(control, job);
}

function jobAnswer(control: VisionControl, job: JobContext): CallMethodResultOptions {
  return {
    statusCode: StatusCodes.Good,
    outputArguments: [
      { dataType: DataType.ExtensionObject, value: control.handle.idStructure('JobIdDataType', job.jobId) },
      { dataType: DataType.Int32, value: 0 },
    ],
  };
}

function errorAnswer(error: number): CallMethodResultOptions {
  return { statusCode: StatusCodes.Good, outputArguments: [{ dataType: DataType.Int32, value: error }] };
}
