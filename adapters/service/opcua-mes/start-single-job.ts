/**
 * StartSingleJob (OPC 40100-1, 8.3.7.1) bound to a station's Trigger port: a call triggers one part with the
 * PartId's `Id` as part id (origin `mes`), answers a fresh JobId at once, and when the station decides the part
 * the VisionSystem raises a ResultReadyEvent for that job (see result-event.ts for the field mapping).
 *
 * Arguments (nodeset order): MeasId MeasIdDataType, PartId PartIdDataType, RecipeId RecipeIdExternalDataType,
 * ProductId ProductIdDataType, Parameters KeyValuePair[] → JobId JobIdDataType, Error Int32. A refused trigger
 * (station not running, max parts) is BadInvalidState with no outputs.
 */
import { randomUUID } from 'node:crypto';
import { DataType, StatusCodes, type CallMethodResultOptions, type ISessionContext, type Variant } from 'node-opcua';
import type { Logger } from 'pino';
import type { TriggerTarget } from '../../../runtime/pipeline/trigger.ts';
import { LinesightError } from '../../../runtime/errors.ts';
import type { VisionSystemHandle } from './address-space.ts';
import { abortedResultFields, resultReadyFields, type JobContext } from './result-event.ts';
import { structureId } from './method-arguments.ts';

export interface StartSingleJobOptions {
  readonly log?: Logger;
  /** JobId factory (default: `<station>/<uuid>`). */
  readonly newJobId?: () => string;
}

export function bindStartSingleJob(handle: VisionSystemHandle, target: TriggerTarget, options: StartSingleJobOptions = {}): void {
  const method = handle.automaticModeStateMachine.getMethodByName('StartSingleJob', handle.automaticModeStateMachine.browseName.namespaceIndex);
  if (!method)
    throw new LinesightError('LS_ERR_CONFIG_INVALID', 'AutomaticModeStateMachine has no StartSingleJob method', { station: handle.station });
  const newJobId = options.newJobId ?? (() => `${handle.station}/${randomUUID()}`);
  // node-opcua tells the async form from the callback form by the declared parameter count: keep exactly two.
  method.bindMethod(async function startSingleJob(inputArguments: Variant[], context: ISessionContext): Promise<CallMethodResultOptions> {
    void context;
    const job: JobContext = {
      jobId: newJobId(),
      measId: structureId(inputArguments[0]),
      partId: structureId(inputArguments[1]),
      recipeId: structureId(inputArguments[2]),
      productId: structureId(inputArguments[3]),
    };
    return startJob(handle, target, job, options.log);
  });
}

function startJob(handle: VisionSystemHandle, target: TriggerTarget, job: JobContext, log: Logger | undefined): CallMethodResultOptions {
  const fromReady = handle.automaticState() === 'Ready';
  const outcome = target.trigger({
    partId: job.partId,
    origin: 'mes',
    onDecided: (result) => {
      if (fromReady && handle.automaticState() === 'SingleExecution') handle.setAutomaticState('Ready', 'Auto');
      handle.emitResultReady(result ? resultReadyFields(result, job) : abortedResultFields(handle.station, job));
    },
  });
  if (!outcome.accepted) {
    log?.warn({ station: handle.station, job: job.jobId, part: job.partId, refusal: outcome.reason }, 'MES StartSingleJob refused by the station');
    return { statusCode: StatusCodes.BadInvalidState };
  }
  if (fromReady && handle.automaticState() === 'Ready') handle.setAutomaticState('SingleExecution');
  log?.info({ station: handle.station, job: job.jobId, part: job.partId, trigger: 'mes' }, 'MES StartSingleJob');
  return {
    statusCode: StatusCodes.Good,
    outputArguments: [
      { dataType: DataType.ExtensionObject, value: handle.idStructure('JobIdDataType', job.jobId) },
      { dataType: DataType.Int32, value: 0 },
    ],
  };
}
