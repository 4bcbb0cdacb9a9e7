/** The record of one inspected part: what the PLC, MES, store and logs all receive. */

export type Verdict = 'OK' | 'NOK';

/** Why a part is NOK (or what was noticed): a stable code, the feature/model behind it and a readable detail. */
export interface Reason {
  readonly code: string;
  readonly source: string;
  readonly detail: string;
}

/** A located defect, from an anomaly map's regions or a detector. Coordinates are in frame pixels. */
export interface Defect {
  readonly model: string;
  readonly label: string;
  readonly score: number;
  /** [x, y, width, height] in frame pixels. */
  readonly bboxPx: readonly [number, number, number, number];
  readonly areaPx: number;
  /** Present when the station has a calibrated scale. */
  readonly areaMm2: number | null;
}

/**
 * Milliseconds spent in each stage of the frame path for this part, trigger to decision. The store write and
 * the sinks come after the record is made; their latencies are kept by the station's recorders and metrics.
 */
export interface StageTimings {
  acquireMs: number;
  queueMs: number;
  /** Frame-acceptance gate (runtime/pipeline/frame-gate.ts): frame statistics and each model's input check. */
  gateMs: number;
  preprocessMs: number;
  inferMs: number;
  decodeMs: number;
  decideMs: number;
  /** Hole metrology (locate, edges, fits, verdicts); 0 on stations without a `metrology` section. */
  measureMs: number;
  totalMs: number;
}

export interface ModelRef {
  readonly name: string;
  readonly sha256: string;
}

/**
 * What the MES gave when it started the part's job (OPC 40100 StartSingleJob), carried into the result so the
 * MES can find it again by JobId, MeasId or ProductId; null for parts no MES job started.
 */
export interface JobRef {
  readonly jobId: string;
  readonly measId: string | null;
  readonly productId: string | null;
  /** The MES's own recipe id (RecipeIdExternal), as given in the call. */
  readonly externalRecipeId: string | null;
}

export interface InspectionResult {
  /** Per-station monotonic sequence without gaps, assigned by the store; 0 until stored. */
  sequence: number;
  readonly line: string;
  readonly station: string;
  readonly recipe: string;
  readonly partId: string | null;
  /** The MES job behind the part, or null. */
  readonly job: JobRef | null;
  /** Hash of the effective line configuration the part was judged under (OPC 40100 InternalConfigurationId). */
  readonly configId: string;
  /** True while the station runs in simulation mode (OPC 40100 SimulationMode): not a production verdict. */
  readonly simulated: boolean;
  /** Sequence of the frame at the source, which may skip when frames are dropped. */
  readonly frameSequence: number;
  readonly verdict: Verdict;
  readonly reasons: readonly Reason[];
  /** Named scalar measurements, e.g. "surface-anomaly.score" or "drilling.burr". */
  readonly measurements: Readonly<Record<string, number>>;
  readonly defects: readonly Defect[];
  readonly models: readonly ModelRef[];
  readonly timings: StageTimings;
  /** Wall-clock capture time, ISO 8601. */
  readonly capturedAt: string;
  readonly decidedAt: string;
}
