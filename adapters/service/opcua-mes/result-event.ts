/**
 * How a stored InspectionResult becomes a ResultReadyEvent. ResultId is `<station>/<sequence>` (the store's
 * per-station gapless sequence); ResultState is Completed (1), or Failed (4) when the part was judged NOK because
 * the inspection itself failed (an INSPECTION_ERROR reason). JobId, MeasId, ProductId and ExternalRecipeId come
 * from the MES job behind the part (empty JobId for a part no MES job started); InternalConfigurationId is the
 * line's configuration hash; IsSimulated follows SimulationMode. ResultContent (a Linesight field beside the
 * type's own, since ResultReadyEventType declares none) holds one String: the verdict record as JSON
 * (`{verdict, reasons, measurements, defects}`), as in ResultDataType's ResultContent.
 */
import { INSPECTION_ERROR } from '../../../runtime/decision/rules.ts';
import type { InspectionResult, JobRef } from '../../../runtime/results/result.ts';
import { RESULT_STATE, type ResultReadyFields } from './address-space.ts';

/** An MES job as StartSingleJob / StartContinuous received it: the JobRef plus the part id. */
export interface JobContext extends JobRef {
  readonly partId: string | null;
}

export function resultIdOf(result: Pick<InspectionResult, 'station' | 'sequence'>): string {
  return `${result.station}/${result.sequence}`;
}

export function resultStateOf(result: Pick<InspectionResult, 'reasons'>): number {
  return result.reasons.some((r) => r.code === INSPECTION_ERROR) ? RESULT_STATE.Failed : RESULT_STATE.Completed;
}

export function resultContentOf(result: InspectionResult): string {
  const { verdict, reasons, measurements, defects } = result;
  return JSON.stringify({ verdict, reasons, measurements, defects });
}

/** Capture to decision; acquisition; the rest of the frame path (ms). */
export function processingTimesOf(result: InspectionResult) {
  return {
    startTime: new Date(result.capturedAt),
    endTime: new Date(result.decidedAt),
    acquisitionDuration: result.timings.acquireMs,
    processingDuration: Math.max(0, result.timings.totalMs - result.timings.acquireMs),
  };
}

export function resultReadyFields(result: InspectionResult): ResultReadyFields {
  const job = result.job;
  return {
    resultId: resultIdOf(result),
    jobId: job?.jobId ?? '',
    resultState: resultStateOf(result),
    creationTime: new Date(result.decidedAt),
    isSimulated: result.simulated,
    partId: result.partId,
    measId: job?.measId ?? null,
    productId: job?.productId ?? null,
    externalRecipeId: job?.externalRecipeId ?? null,
    internalRecipeId: result.recipe,
    internalConfigurationId: result.configId,
    processingTimes: processingTimesOf(result),
    content: [resultContentOf(result)],
  };
}

/** The trigger produced no inspected part (corrupt frame, dropped, station stopped, aborted): the job ends Aborted. */
export function abortedResultFields(station: string, job: JobContext): ResultReadyFields {
  return {
    resultId: `${station}/aborted/${job.jobId}`,
    jobId: job.jobId,
    resultState: RESULT_STATE.Aborted,
    creationTime: new Date(),
    partId: job.partId,
    measId: job.measId,
    productId: job.productId,
    externalRecipeId: job.externalRecipeId,
    content: [JSON.stringify({ verdict: null, detail: 'the trigger produced no inspected part' })],
  };
}
