/**
 * Turns decoded model outputs into a verdict with reason codes, following the station's YAML rules. Any rule
 * that fires makes the part NOK; an inspection that could not run is NOK too (fail safe: passing an
 * uninspected part costs more than re-checking a good one).
 */
import type { Defect, Reason, Verdict } from '../results/result.ts';
import type { StationModel } from '../inference/station-model.ts';
import type { RoiConfig } from '../config/schema.ts';

export const INSPECTION_ERROR = 'INSPECTION_ERROR';

export interface Decision {
  readonly verdict: Verdict;
  readonly reasons: Reason[];
  readonly measurements: Record<string, number>;
  readonly defects: Defect[];
}

export interface FrameGeometry {
  readonly roi: RoiConfig;
  readonly mmPerPx: number | null;
}

/** Reason code of an anomaly model: its rule's, else the model name in upper snake case + _ANOMALY. */
export function anomalyReason(model: StationModel): string {
  return model.config.anomaly?.reason ?? `${upperSnake(model.name)}_ANOMALY`;
}

export function labelReason(model: StationModel, label: string): string {
  return model.config.labels?.[label]?.reason ?? upperSnake(label);
}

/** Every reason code the station can raise, in a fixed order (bit order for PLC reason words). */
export function stationReasonCodes(models: readonly StationModel[]): string[] {
  const codes: string[] = [];
  for (const m of models) {
    if (m.anomaly) codes.push(anomalyReason(m));
    else if (m.classification) {
      const ok = m.classification.spec.okLabels;
      for (const label of m.classification.spec.labels) if (!ok.includes(label)) codes.push(labelReason(m, label));
    }
  }
  codes.push(INSPECTION_ERROR);
  return [...new Set(codes)];
}

export function decide(models: readonly StationModel[], geometry: FrameGeometry): Decision {
  const reasons: Reason[] = [];
  const measurements: Record<string, number> = {};
  const defects: Defect[] = [];
  for (const m of models) {
    if (m.anomaly) decideAnomaly(m, geometry, reasons, measurements, defects);
    else decideClassification(m, reasons, measurements);
  }
  return { verdict: reasons.length > 0 ? 'NOK' : 'OK', reasons, measurements, defects };
}

export function failedDecision(source: string, detail: string): Decision {
  return { verdict: 'NOK', reasons: [{ code: INSPECTION_ERROR, source, detail }], measurements: {}, defects: [] };
}

function decideAnomaly(m: StationModel, g: FrameGeometry, reasons: Reason[], measurements: Record<string, number>, defects: Defect[]): void {
  const dec = m.anomaly!;
  const rule = m.config.anomaly;
  const threshold = rule?.threshold ?? dec.spec.threshold;
  measurements[`${m.name}.score`] = round(dec.score);
  measurements[`${m.name}.raw_score`] = round(dec.rawScore);
  const sx = g.roi.width / dec.mapWidth;
  const sy = g.roi.height / dec.mapHeight;
  const mm2PerPx = g.mmPerPx === null ? null : g.mmPerPx * g.mmPerPx;
  let largestMm2 = 0;
  for (let i = 0; i < dec.regionCount; i++) {
    const r = dec.regions[i];
    const areaPx = Math.round(r.area * sx * sy);
    const areaMm2 = mm2PerPx === null ? null : round(areaPx * mm2PerPx);
    if (areaMm2 !== null && areaMm2 > largestMm2) largestMm2 = areaMm2;
    defects.push({
      model: m.name,
      label: 'anomaly',
      score: round(dec.normalize(r.peak, dec.spec.normalization.pixelThreshold)),
      bboxPx: [
        Math.round(g.roi.x + r.x0 * sx),
        Math.round(g.roi.y + r.y0 * sy),
        Math.round((r.x1 - r.x0 + 1) * sx),
        Math.round((r.y1 - r.y0 + 1) * sy),
      ],
      areaPx,
      areaMm2,
    });
  }
  const minArea = rule?.minDefectAreaMm2;
  const bigEnough = minArea === undefined || mm2PerPx === null || largestMm2 >= minArea;
  if (dec.score >= threshold && bigEnough) {
    reasons.push({ code: anomalyReason(m), source: m.name, detail: `score ${dec.score.toFixed(3)} ≥ ${threshold}` });
  }
}

function decideClassification(m: StationModel, reasons: Reason[], measurements: Record<string, number>): void {
  const dec = m.classification!;
  const labels = dec.spec.labels;
  for (let i = 0; i < labels.length; i++) {
    const label = labels[i];
    const p = dec.probabilities[i];
    measurements[`${m.name}.${label}`] = round(p);
    const rule = m.config.labels?.[label];
    const threshold = rule?.threshold ?? dec.thresholds[i];
    if (p >= threshold && !dec.spec.okLabels.includes(label) && (rule?.nok ?? true)) {
      reasons.push({ code: labelReason(m, label), source: m.name, detail: `p(${label}) ${p.toFixed(3)} ≥ ${threshold}` });
    }
  }
}

function upperSnake(s: string): string {
  return s.replace(/[^A-Za-z0-9]+/g, '_').replace(/^_|_$/g, '').toUpperCase();
}

function round(v: number): number {
  return Math.round(v * 1e4) / 1e4;
}
