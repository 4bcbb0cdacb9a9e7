/**
 * Turns decoded model outputs into a verdict with reason codes. Each model's decoder applies its own rule (the
 * station YAML's `anomaly:` / `labels:`, see runtime/inference/decoders/); any rule that fires makes the part NOK.
 * An inspection that could not run is NOK too (fail safe: passing an uninspected part costs more than re-checking
 * a good one).
 */
import type { Defect, Reason, Verdict } from '../results/result.ts';
import type { StationModel } from '../inference/station-model.ts';
import type { FrameGeometry } from '../inference/decoders/decoder.ts';

export type { FrameGeometry } from '../inference/decoders/decoder.ts';

export const INSPECTION_ERROR = 'INSPECTION_ERROR';

export interface Decision {
  readonly verdict: Verdict;
  readonly reasons: Reason[];
  readonly measurements: Record<string, number>;
  readonly defects: Defect[];
}

export function decide(models: readonly StationModel[], geometry: FrameGeometry, measurements: Record<string, number> = {}): Decision {
  const parts = { reasons: [] as Reason[], measurements, defects: [] as Defect[] };
  for (const m of models) m.decide(geometry, parts);
  return { verdict: parts.reasons.length > 0 ? 'NOK' : 'OK', ...parts };
}

export function failedDecision(source: string, detail: string): Decision {
  return { verdict: 'NOK', reasons: [{ code: INSPECTION_ERROR, source, detail }], measurements: {}, defects: [] };
}
