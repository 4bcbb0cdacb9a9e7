/**
 * Anomaly-map decoder: image score (anomalib's min–max normalisation, threshold ↦ 0.5) and the map's
 * above-threshold regions as connected components with bounding box and area. All buffers are sized at
 * construction; decoding a frame allocates nothing.
 */
import { z } from 'zod';
import { defineDecoder, round4, upperSnake, type DecisionParts, type FrameGeometry } from './decoder.ts';

const AnomalyScoreNormalization = z
  .object({
    min: z.number().describe('Lowest raw image score seen in validation'),
    max: z.number().describe('Highest raw image score seen in validation'),
    imageThreshold: z.number().describe('Raw image score threshold (maps to 0.5 after normalisation)'),
    pixelThreshold: z.number().describe('Raw anomaly-map threshold (maps to 0.5 after normalisation)'),
  })
  .strict()
  .describe("anomalib's min-max normalisation: clamp((s − t)/(max − min) + 0.5, 0, 1)");

/** model.yaml `decoder:` of an anomaly-map model. */
export const AnomalyMapSpecSchema = z
  .object({
    kind: z.literal('anomaly-map'),
    mapOutput: z.string().describe('Output holding the anomaly map, shape [1,1,h,w]'),
    scoreOutput: z.string().optional().describe('Output holding the raw image score [1]; computed from the map when absent'),
    imageScore: z
      .object({ rule: z.enum(['max', 'topk-mean']), k: z.number().int().positive().default(16) })
      .strict()
      .default({ rule: 'max', k: 16 })
      .describe('How the image score is taken from the map when there is no score output'),
    normalization: AnomalyScoreNormalization,
    threshold: z.number().min(0).max(1).default(0.5).describe('Normalised image score at or above which the part is anomalous'),
    minRegionAreaPx: z.number().int().nonnegative().default(4).describe('Regions smaller than this (map pixels) are ignored'),
  })
  .strict();

/** The station's rule for an anomaly-map model (`anomaly:` on the station's model entry). */
export const AnomalyRuleSchema = z
  .object({
    threshold: z.number().min(0).max(1).optional().describe("Normalised image score threshold; default: the model's"),
    minDefectAreaMm2: z
      .number()
      .nonnegative()
      .optional()
      .describe('A region must be at least this large (needs station.scale) for the part to be NOK'),
    reason: z
      .string()
      .regex(/^[A-Z][A-Z0-9_]*$/)
      .optional()
      .describe('Reason code when the rule fires'),
  })
  .strict()
  .describe('Decision rule for an anomaly-map model');

export type AnomalyMapDecoderSpec = z.output<typeof AnomalyMapSpecSchema>;
export type AnomalyRule = z.output<typeof AnomalyRuleSchema>;

/** One region of the anomaly map, in map pixels. Preallocated and overwritten frame after frame. */
export class MapRegion {
  x0 = 0;
  y0 = 0;
  x1 = 0;
  y1 = 0;
  area = 0;
  /** Highest raw map value in the region. */
  peak = 0;
}

export class AnomalyMapDecoder {
  readonly spec: AnomalyMapDecoderSpec;
  readonly mapWidth: number;
  readonly mapHeight: number;
  /** Raw and normalised image score of the last decoded frame. */
  rawScore = 0;
  score = 0;
  regionCount = 0;
  readonly regions: MapRegion[];
  private readonly labels: Int32Array;
  private readonly stack: Int32Array;
  private readonly topk: Float32Array;
  /** Whether `labels` holds marks from the last frame; most good parts leave it clean, saving the clear. */
  private labelled = false;

  constructor(spec: AnomalyMapDecoderSpec, mapShape: readonly number[], maxRegions = 32) {
    this.spec = spec;
    this.mapHeight = mapShape[mapShape.length - 2]!;
    this.mapWidth = mapShape[mapShape.length - 1]!;
    const n = this.mapWidth * this.mapHeight;
    this.labels = new Int32Array(n);
    this.stack = new Int32Array(n);
    this.topk = new Float32Array(spec.imageScore.k);
    this.regions = [];
    for (let i = 0; i < maxRegions; i++) this.regions.push(new MapRegion());
  }

  /** anomalib's normalisation: clamp((s − t)/(max − min) + 0.5, 0, 1). */
  normalize(raw: number, threshold: number): number {
    const { min, max } = this.spec.normalization;
    const v = (raw - threshold) / (max - min) + 0.5;
    return v < 0 ? 0 : v > 1 ? 1 : v;
  }

  decode(map: Float32Array, scoreOutput: Float32Array | null): void {
    this.rawScore = scoreOutput ? scoreOutput[0]! : this.imageScore(map);
    this.score = this.normalize(this.rawScore, this.spec.normalization.imageThreshold);
    this.findRegions(map, this.spec.normalization.pixelThreshold);
  }

  private imageScore(map: Float32Array): number {
    if (this.spec.imageScore.rule === 'max') {
      let m = -Infinity;
      for (let i = 0; i < map.length; i++) if (map[i]! > m) m = map[i]!;
      return m;
    }
    // Top-k mean with a k-slot array kept sorted ascending: O(n·k) worst case, k is small (≈16).
    const top = this.topk;
    const k = top.length;
    top.fill(-Infinity);
    for (let i = 0; i < map.length; i++) {
      const v = map[i]!;
      if (v <= top[0]!) continue;
      let j = 0;
      while (j + 1 < k && top[j + 1]! < v) {
        top[j] = top[j + 1]!;
        j++;
      }
      top[j] = v;
    }
    let s = 0;
    for (let i = 0; i < k; i++) s += top[i]!;
    return s / k;
  }

  /** 8-connected components above the pixel threshold, by an explicit stack (no recursion, no allocation). */
  private findRegions(map: Float32Array, threshold: number): void {
    const w = this.mapWidth;
    const h = this.mapHeight;
    const labels = this.labels;
    const stack = this.stack;
    const minArea = this.spec.minRegionAreaPx;
    if (this.labelled) labels.fill(0);
    this.labelled = false;
    this.regionCount = 0;
    let next = 1;
    for (let start = 0; start < w * h; start++) {
      if (labels[start] !== 0 || !(map[start]! >= threshold)) continue;
      const label = next++;
      this.labelled = true;
      let sp = 0;
      stack[sp++] = start;
      labels[start] = label;
      let x0 = w,
        y0 = h,
        x1 = -1,
        y1 = -1,
        area = 0,
        peak = -Infinity;
      while (sp > 0) {
        const p = stack[--sp]!;
        const x = p % w;
        const y = (p - x) / w;
        area++;
        if (map[p]! > peak) peak = map[p]!;
        if (x < x0) x0 = x;
        if (x > x1) x1 = x;
        if (y < y0) y0 = y;
        if (y > y1) y1 = y;
        for (let dy = -1; dy <= 1; dy++) {
          const yy = y + dy;
          if (yy < 0 || yy >= h) continue;
          for (let dx = -1; dx <= 1; dx++) {
            const xx = x + dx;
            if (xx < 0 || xx >= w) continue;
            const q = yy * w + xx;
            if (labels[q] === 0 && map[q]! >= threshold) {
              labels[q] = label;
              stack[sp++] = q;
            }
          }
        }
      }
      if (area >= minArea) this.keep(x0, y0, x1, y1, area, peak);
    }
  }

  /** Keeps the largest regions when there are more than the preallocated slots. */
  private keep(x0: number, y0: number, x1: number, y1: number, area: number, peak: number): void {
    let r: MapRegion;
    if (this.regionCount < this.regions.length) r = this.regions[this.regionCount++]!;
    else {
      r = this.regions[0]!;
      for (const c of this.regions) if (c.area < r.area) r = c;
      if (r.area >= area) return;
    }
    r.x0 = x0;
    r.y0 = y0;
    r.x1 = x1;
    r.y1 = y1;
    r.area = area;
    r.peak = peak;
  }
}

/** The anomaly-map kind: score and regions; NOK when the score reaches the threshold and a region is big enough. */
export const anomalyMapDecoder = defineDecoder({
  kind: 'anomaly-map',
  spec: AnomalyMapSpecSchema,
  ruleKey: 'anomaly',
  rule: AnomalyRuleSchema,
  outputs: (spec) => (spec.scoreOutput ? [spec.mapOutput, spec.scoreOutput] : [spec.mapOutput]),
  bind({ model, spec, rule, outputs }) {
    const state = new AnomalyMapDecoder(spec, outputs.outputShape(spec.mapOutput));
    const map = outputs.output(spec.mapOutput);
    const score = spec.scoreOutput ? outputs.output(spec.scoreOutput) : null;
    const reason = rule?.reason ?? `${upperSnake(model)}_ANOMALY`;
    return {
      kind: 'anomaly-map',
      state,
      decode: () => state.decode(map, score),
      decide: (geometry, into) => decideAnomaly(model, state, rule, reason, geometry, into),
    };
  },
});

function decideAnomaly(
  model: string,
  dec: AnomalyMapDecoder,
  rule: AnomalyRule | undefined,
  reason: string,
  g: FrameGeometry,
  into: DecisionParts,
): void {
  const threshold = rule?.threshold ?? dec.spec.threshold;
  into.measurements[`${model}.score`] = round4(dec.score);
  into.measurements[`${model}.raw_score`] = round4(dec.rawScore);
  const sx = g.roi.width / dec.mapWidth;
  const sy = g.roi.height / dec.mapHeight;
  const mm2PerPx = g.mmPerPx === null ? null : g.mmPerPx * g.mmPerPx;
  let largestMm2 = 0;
  for (let i = 0; i < dec.regionCount; i++) {
    const r = dec.regions[i]!;
    const areaPx = Math.round(r.area * sx * sy);
    const areaMm2 = mm2PerPx === null ? null : round4(areaPx * mm2PerPx);
    if (areaMm2 !== null && areaMm2 > largestMm2) largestMm2 = areaMm2;
    into.defects.push({
      model,
      label: 'anomaly',
      score: round4(dec.normalize(r.peak, dec.spec.normalization.pixelThreshold)),
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
    into.reasons.push({ code: reason, source: model, detail: `score ${dec.score.toFixed(3)} ≥ ${threshold}` });
  }
}
