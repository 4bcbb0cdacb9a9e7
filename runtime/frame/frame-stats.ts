/**
 * Image statistics that tell a picture of a part from a failed camera, a dead light, a lens cap or a broken
 * transfer: exposure (dark and saturated shares), contrast (1st–99th percentile spread), flatness (share of
 * 16×16 tiles with no texture at all) and focus (variance of the 4-neighbour Laplacian). One pass over a sampled
 * grid of the region, into buffers allocated once: the frame path allocates nothing here.
 *
 * Large frames are sampled on a grid of step s (about 16 k samples); the Laplacian always uses the
 * direct neighbours of each sampled pixel, so focus is measured at full resolution whatever the step.
 */
import { channelsOf, type FrameSlot } from './frame-slot.ts';

export interface FrameStats {
  /** Share of sampled pixels at or below the dark level. */
  dark: number;
  /** Share of sampled pixels at or above the saturated level. */
  saturated: number;
  /** 99th minus 1st percentile of grey levels (0–255). */
  contrast: number;
  /** Share of 16×16 tiles whose grey levels span at most `flatRange`. */
  flat: number;
  /** Variance of the 4-neighbour Laplacian, grey levels². */
  focus: number;
  /**
   * Share of sampled rows (below the first) equal to the row above them at every sampled pixel while not flat
   * themselves: a truncated or stalled transfer that repeats its last row. Sensor noise never repeats a row.
   */
  repeatedRows: number;
}

export interface FrameStatsLevels {
  readonly darkLevel: number;
  readonly saturatedLevel: number;
  readonly flatRange: number;
}

export interface Region {
  readonly x: number;
  readonly y: number;
  readonly width: number;
  readonly height: number;
}

const TILE_SHIFT = 4;
const TILE = 1 << TILE_SHIFT;
/** About 16 k samples: step 4 on a 512² frame, 18 on a 5 MP one. */
const MAX_SAMPLES = 1 << 14;

export class FrameStatistics {
  private readonly levels: FrameStatsLevels;
  private readonly histogram = new Uint32Array(256);
  private tileMin = new Uint8Array(0);
  private tileMax = new Uint8Array(0);
  readonly last: FrameStats = { dark: 0, saturated: 0, contrast: 0, flat: 0, focus: 0, repeatedRows: 0 };

  constructor(levels: FrameStatsLevels) {
    this.levels = levels;
  }

  /** Measures the region of the frame (the whole frame when null); the result is `last`, reused per call. */
  measure(slot: FrameSlot, region: Region | null): FrameStats {
    // The region's corners as numbers: no object per frame when measuring the whole frame.
    const rx = region?.x ?? 0;
    const ry = region?.y ?? 0;
    const rw = region?.width ?? slot.width;
    const rh = region?.height ?? slot.height;
    const step = Math.max(1, Math.floor(Math.sqrt((rw * rh) / MAX_SAMPLES) + 0.5));
    const channels = channelsOf(slot.pixelFormat);
    const stride = slot.width * channels;
    const tilesX = Math.ceil(rw / TILE);
    const tiles = tilesX * Math.ceil(rh / TILE);
    this.resetTiles(tiles);
    this.histogram.fill(0);
    const src = slot.data;
    let lapSum = 0;
    let lapSq = 0;
    let lapCount = 0;
    let repeated = 0;
    let rows = 0;
    for (let y = 0; y < rh; y += step) {
      const row = (ry + y) * stride;
      const inner = y > 0 && y < rh - 1;
      const tileRow = (y >> TILE_SHIFT) * tilesX;
      let same = y > 0;
      let rowMin = 255;
      let rowMax = 0;
      for (let x = 0; x < rw; x += step) {
        const p = row + (rx + x) * channels;
        const v = channels === 1 ? src[p]! : luma(src, p);
        if (same && v !== (channels === 1 ? src[p - stride]! : luma(src, p - stride))) same = false;
        if (v < rowMin) rowMin = v;
        if (v > rowMax) rowMax = v;
        this.histogram[v]!++;
        const t = tileRow + (x >> TILE_SHIFT);
        if (v < this.tileMin[t]!) this.tileMin[t] = v;
        if (v > this.tileMax[t]!) this.tileMax[t] = v;
        if (inner && x > 0 && x < rw - 1) {
          const lap = neighbourSum(src, p, stride, channels) - 4 * v;
          lapSum += lap;
          lapSq += lap * lap;
          lapCount++;
        }
      }
      if (y > 0) rows++;
      if (same && rowMax - rowMin > this.levels.flatRange) repeated++;
    }
    this.last.repeatedRows = rows > 0 ? repeated / rows : 0;
    this.summarise(tiles, lapCount, lapSum, lapSq);
    return this.last;
  }

  private resetTiles(tiles: number): void {
    if (this.tileMin.length !== tiles) {
      this.tileMin = new Uint8Array(tiles);
      this.tileMax = new Uint8Array(tiles);
    }
    this.tileMin.fill(255);
    this.tileMax.fill(0);
  }

  private summarise(tiles: number, lapCount: number, lapSum: number, lapSq: number): void {
    const h = this.histogram;
    let total = 0;
    for (let v = 0; v < 256; v++) total += h[v]!;
    let dark = 0;
    for (let v = 0; v <= this.levels.darkLevel; v++) dark += h[v]!;
    let saturated = 0;
    for (let v = this.levels.saturatedLevel; v < 256; v++) saturated += h[v]!;
    let flat = 0;
    for (let t = 0; t < tiles; t++) if (this.tileMax[t]! - this.tileMin[t]! <= this.levels.flatRange) flat++;
    const mean = lapCount > 0 ? lapSum / lapCount : 0;
    const s = this.last;
    s.dark = total > 0 ? dark / total : 1;
    s.saturated = total > 0 ? saturated / total : 0;
    s.contrast = percentile(h, total, 0.99) - percentile(h, total, 0.01);
    s.flat = tiles > 0 ? flat / tiles : 1;
    s.focus = lapCount > 0 ? lapSq / lapCount - mean * mean : 0;
  }
}

function luma(src: Uint8Array, p: number): number {
  return (77 * src[p]! + 150 * src[p + 1]! + 29 * src[p + 2]!) >> 8;
}

function neighbourSum(src: Uint8Array, p: number, stride: number, channels: number): number {
  if (channels === 1) return src[p - 1]! + src[p + 1]! + src[p - stride]! + src[p + stride]!;
  return luma(src, p - channels) + luma(src, p + channels) + luma(src, p - stride) + luma(src, p + stride);
}

/** Grey level below which `q` of the samples lie. */
function percentile(h: Uint32Array, total: number, q: number): number {
  const target = q * total;
  let seen = 0;
  for (let v = 0; v < 256; v++) {
    seen += h[v]!;
    if (seen >= target && seen > 0) return v;
  }
  return 255;
}
