/**
 * How a stored InspectionResult becomes a ResultReadyEvent. ResultId is `<station>/<sequence>` (the store's
 * per-station gapless sequence); ResultState is Completed (1), or Failed (4) when the part was judged NOK because
 * the inspection itself failed (an INSPECTION_ERROR reason). ResultContent holds one String: the verdict record
 * as JSON (`{verdict, reasons, measurements, defects}`) — ResultContent is BaseDataType[] in the nodeset.
 */
import { INSPECTION_ERROR } from '../../../runtime/decision/rules.ts';
import type { InspectionResult } from '../../../runtime/results/result.ts';
import { RESULT_STATE, type ResultReadyFields } from './address-space.ts';

/** What the MES gave when it started the job, carried into the job's result. */
export interface JobContext {
  readonly jobId: string;
  readonly measId: string | null;
  readonly partId: string | null;
  readonly recipeId: string | null;
  readonly productId: string | null;
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

export function resultReadyFields(result: InspectionResult, job: JobContext): ResultReadyFields {
  return {
    resultId: resultIdOf(result),
    jobId: job.jobId,
    resultState: resultStateOf(result),
    creationTime: new Date(result.decidedAt),
    partId: result.partId ?? job.partId,
    measId: job.measId,
    productId: job.productId,
    internalRecipeId: result.recipe,
    content: [resultContentOf(result)],
  };
}

/** The trigger produced no inspected part (corrupt frame, dropped, station stopped): the job ends Aborted. */
export function abortedResultFields(station: string, job: JobContext): ResultReadyFields {
  return {
    resultId: `${station}/aborted/${job.jobId}`,
    jobId: job.jobId,
    resultState: RESULT_STATE.Aborted,
    creationTime: new Date(),
    partId: job.partId,
    measId: job.measId,
    productId: job.productId,
    content: [JSON.stringify({ verdict: null, detail: 'the trigger produced no inspected part' })],
  };
}
