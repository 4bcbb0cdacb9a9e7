/**
 * The per-frame inspection itself, shared by the station loop and the one-shot `inspect` command:
 * for each model preprocess → infer → decode, then decide. Stage times accumulate into `t`.
 */
import type { FrameSlot } from '../frame/frame-slot.ts';
import type { StationModel } from '../inference/station-model.ts';
import { decide, type Decision, type FrameGeometry } from '../decision/rules.ts';
import type { StationConfig } from '../config/schema.ts';
import type { InspectionResult, JobRef, ModelRef, Reason, StageTimings } from '../results/result.ts';
import type { FrameGate } from './frame-gate.ts';
import type { MetrologyStage } from '../metrology/stage.ts';

export function emptyTimings(): StageTimings {
  return { acquireMs: 0, queueMs: 0, gateMs: 0, preprocessMs: 0, inferMs: 0, decodeMs: 0, decideMs: 0, measureMs: 0, totalMs: 0 };
}

export interface InspectStages {
  /** The frame-acceptance gate; null only in tools that inspect frames the gate has already judged. */
  readonly gate: FrameGate | null;
  readonly metrology?: MetrologyStage | null;
}

/**
 * Gate → for each model preprocess → (input check) → infer → decode → decide → metrology. A frame the gate
 * rejects goes no further: it is NOK with its FRAME_REJECTED reason and the statistics measured so far.
 */
export async function inspectFrame(
  models: readonly StationModel[],
  slot: FrameSlot,
  geometry: FrameGeometry,
  t: StageTimings,
  stages: InspectStages,
): Promise<Decision> {
  const { gate, metrology = null } = stages;
  const measurements: Record<string, number> = {};
  let t0 = performance.now();
  const frameRejected = gate?.checkFrame(slot, measurements) ?? null;
  let t1 = performance.now();
  t.gateMs = t1 - t0;
  if (frameRejected !== null) return rejectedDecision(frameRejected, measurements);
  t0 = t1;
  for (const m of models) {
    m.preprocess(slot);
    t1 = performance.now();
    t.preprocessMs += t1 - t0;
    const inputRejected = gate?.checkModelInput(m, measurements) ?? null;
    t0 = performance.now();
    t.gateMs += t0 - t1;
    if (inputRejected !== null) return rejectedDecision(inputRejected, measurements);
    await m.infer();
    t1 = performance.now();
    t.inferMs += t1 - t0;
    m.decode();
    t0 = performance.now();
    t.decodeMs += t0 - t1;
  }
  const decision = decide(models, geometry, measurements);
  t.decideMs = performance.now() - t0;
  if (metrology === null) return decision;
  // Hole metrology joins the models' decision: its HOLE_* reasons add to theirs.
  t0 = performance.now();
  const joined = metrology.apply(slot, decision);
  t.measureMs = performance.now() - t0;
  return joined;
}

function rejectedDecision(reason: Reason, measurements: Record<string, number>): Decision {
  return { verdict: 'NOK', reasons: [reason], measurements, defects: [] };
}

export function frameGeometry(config: StationConfig, slot: FrameSlot): FrameGeometry {
  return {
    roi: config.roi ?? { x: 0, y: 0, width: slot.width, height: slot.height },
    mmPerPx: config.scale?.mmPerPx ?? null,
  };
}

/** The traceability refs of a station's models, made once at boot and shared by every result it builds. */
export function modelRefs(models: readonly StationModel[]): readonly ModelRef[] {
  return Object.freeze(models.map((m) => Object.freeze({ name: m.name, sha256: m.onnx.sha256 })));
}

/** What a result records besides the decision: who judged the part, under which recipe, configuration and job. */
export interface ResultOrigin {
  readonly line: string;
  readonly station: string;
  /** The recipe in force when the part was inspected. */
  readonly recipe: string;
  readonly models: readonly ModelRef[];
  readonly configId: string;
  readonly simulated: boolean;
  readonly job: JobRef | null;
}

export function buildResult(origin: ResultOrigin, slot: FrameSlot, decision: Decision, t: StageTimings): InspectionResult {
  return {
    sequence: 0,
    line: origin.line,
    station: origin.station,
    recipe: origin.recipe,
    partId: slot.partId,
    job: origin.job,
    configId: origin.configId,
    simulated: origin.simulated,
    frameSequence: slot.sequence,
    verdict: decision.verdict,
    reasons: decision.reasons,
    measurements: decision.measurements,
    defects: decision.defects,
    models: origin.models,
    timings: t,
    capturedAt: new Date(slot.captureEpochMs).toISOString(),
    decidedAt: new Date().toISOString(),
  };
}
