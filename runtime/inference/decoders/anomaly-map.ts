/**
 * Anomaly-map decoder: image score (anomalib's min–max normalisation, threshold ↦ 0.5) and the map's
 * above-threshold regions as connected components with bounding box and area. All buffers are sized at
 * construction; decoding a frame allocates nothing.
 */
import type { AnomalyMapDecoderSpec } from '../model-manifest.ts';

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
    this.mapHeight = mapShape[mapShape.length - 2];
    this.mapWidth = mapShape[mapShape.length - 1];
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
    this.rawScore = scoreOutput ? scoreOutput[0] : this.imageScore(map);
    this.score = this.normalize(this.rawScore, this.spec.normalization.imageThreshold);
    this.findRegions(map, this.spec.normalization.pixelThreshold);
  }

  private imageScore(map: Float32Array): number {
    if (this.spec.imageScore.rule === 'max') {
      let m = -Infinity;
      for (let i = 0; i < map.length; i++) if (map[i] > m) m = map[i];
      return m;
    }
    // Top-k mean with a k-slot array kept sorted ascending: O(n·k) worst case, k is small (≈16).
    const top = this.topk;
    const k = top.length;
    top.fill(-Infinity);
    for (let i = 0; i < map.length; i++) {
      const v = map[i];
      if (v <= top[0]) continue;
      let j = 0;
      while (j + 1 < k && top[j + 1] < v) {
        top[j] = top[j + 1];
        j++;
      }
      top[j] = v;
    }
    let s = 0;
    for (let i = 0; i < k; i++) s += top[i];
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
      if (labels[start] !== 0 || !(map[start] >= threshold)) continue;
      const label = next++;
      this.labelled = true;
      let sp = 0;
      stack[sp++] = start;
      labels[start] = label;
      let x0 = w, y0 = h, x1 = -1, y1 = -1, area = 0, peak = -Infinity;
      while (sp > 0) {
        const p = stack[--sp];
        const x = p % w;
        const y = (p - x) / w;
        area++;
        if (map[p] > peak) peak = map[p];
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
            if (labels[q] === 0 && map[q] >= threshold) {
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
    if (this.regionCount < this.regions.length) r = this.regions[this.regionCount++];
    else {
      r = this.regions[0];
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
