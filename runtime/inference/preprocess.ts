/**
 * ROI crop + bilinear resize + normalisation, written straight into a model's preallocated input tensor.
 *
 * Own kernel rather than sharp: sharp returns a new Buffer per call (one allocation per frame) and costs
 * ≈ 8–10 ms for 5 MP Mono8 → 224² (shared/reference.md); this loop touches only the output pixels and
 * allocates nothing per frame. bench/preprocess.bench.ts measures both.
 *
 * Sampling uses half-pixel centres (src = (dst + 0.5)·scale − 0.5), as OpenCV INTER_LINEAR and ONNX Resize
 * 'half_pixel' do, so models calibrated with sim/scenes/resize.ts see identical inputs.
 */
import { channelsOf, type FrameSlot, type PixelFormat } from '../frame/frame-slot.ts';
import { LinesightError } from '../errors.ts';
import type { ModelManifest } from './model-manifest.ts';

export interface PreprocessSpec {
  readonly width: number;
  readonly height: number;
  /** Channels the model wants: 1 (luma) or 3 (RGB). */
  readonly channels: 1 | 3;
  readonly layout: 'NCHW' | 'NHWC';
  readonly mean: readonly number[];
  readonly std: readonly number[];
}

export interface Rect {
  readonly x: number;
  readonly y: number;
  readonly width: number;
  readonly height: number;
}

export class Preprocessor {
  readonly spec: PreprocessSpec;
  private readonly roi: Rect | null;
  // Per output column/row: left/top source index, and the weight of the right/bottom neighbour.
  private readonly x0: Int32Array;
  private readonly x1: Int32Array;
  private readonly wx: Float32Array;
  private readonly y0: Int32Array;
  private readonly y1: Int32Array;
  private readonly wy: Float32Array;
  /** (v/255 − mean)/std for every byte value, per output channel: normalisation becomes a lookup. */
  private readonly lut: Float32Array;
  /** Normalised value of the mean of four bytes, indexed by their sum: exact 2:1 downscale in one lookup. */
  private readonly lut4: Float32Array;
  private halving = false;
  private frameWidth = -1;
  private frameHeight = -1;

  constructor(spec: PreprocessSpec, roi: Rect | null) {
    this.spec = spec;
    this.roi = roi;
    this.x0 = new Int32Array(spec.width);
    this.x1 = new Int32Array(spec.width);
    this.wx = new Float32Array(spec.width);
    this.y0 = new Int32Array(spec.height);
    this.y1 = new Int32Array(spec.height);
    this.wy = new Float32Array(spec.height);
    this.lut = new Float32Array(256 * spec.channels);
    this.lut4 = new Float32Array(1021);
    for (let sum = 0; sum <= 1020; sum++) this.lut4[sum] = (sum / 4 / 255 - spec.mean[0]!) / spec.std[0]!;
    for (let c = 0; c < spec.channels; c++) {
      const mean = spec.mean[c] ?? spec.mean[0]!;
      const std = spec.std[c] ?? spec.std[0]!;
      for (let v = 0; v < 256; v++) this.lut[c * 256 + v] = (v / 255 - mean) / std;
    }
  }

  /** Fills `dst` (length ≥ width·height·channels) from the frame in `slot`. */
  run(slot: FrameSlot, dst: Float32Array): void {
    if (slot.width !== this.frameWidth || slot.height !== this.frameHeight) this.plan(slot.width, slot.height);
    const src = slot.data;
    const srcChannels = channelsOf(slot.pixelFormat);
    if (srcChannels === 1 && this.spec.channels === 1) {
      if (this.halving) this.monoHalf(src, slot.width, dst);
      else this.mono(src, slot.width, dst);
    } else this.general(src, slot.width, slot.pixelFormat, dst);
  }

  /** Recomputes the sampling tables: only when the frame size changes, never per frame in steady state. */
  private plan(frameWidth: number, frameHeight: number): void {
    const roi = this.roi ?? { x: 0, y: 0, width: frameWidth, height: frameHeight };
    if (roi.x + roi.width > frameWidth || roi.y + roi.height > frameHeight) {
      throw new LinesightError('LS_ERR_FRAME_SIZE', `ROI ${roi.width}x${roi.height}+${roi.x}+${roi.y} exceeds frame ${frameWidth}x${frameHeight}`, {
        roi,
        frameWidth,
        frameHeight,
      });
    }
    axisTable(roi.x, roi.width, this.spec.width, this.x0, this.x1, this.wx);
    axisTable(roi.y, roi.height, this.spec.height, this.y0, this.y1, this.wy);
    // With half-pixel centres an exact 2:1 reduction samples each 2×2 block at weights ½: a box mean.
    this.halving = roi.width === 2 * this.spec.width && roi.height === 2 * this.spec.height;
    this.frameWidth = frameWidth;
    this.frameHeight = frameHeight;
  }

  /** Exact 2:1 reduction (e.g. 512² → 256²): ≈2× faster than the general bilinear loop (bench/preprocess). */
  private monoHalf(src: Uint8Array, stride: number, dst: Float32Array): void {
    const { width, height } = this.spec;
    const { x0, y0, lut4 } = this;
    let o = 0;
    for (let j = 0; j < height; j++) {
      const r0 = y0[j]! * stride;
      const r1 = r0 + stride;
      for (let i = 0; i < width; i++) {
        const a = x0[i]!;
        dst[o++] = lut4[src[r0 + a]! + src[r0 + a + 1]! + src[r1 + a]! + src[r1 + a + 1]!]!;
      }
    }
  }

  // The common case (Mono8 frame, one-channel model) gets its own tight loop.
  private mono(src: Uint8Array, stride: number, dst: Float32Array): void {
    const { width, height } = this.spec;
    const { x0, x1, wx, y0, y1, wy, lut } = this;
    let o = 0;
    for (let j = 0; j < height; j++) {
      const r0 = y0[j]! * stride;
      const r1 = y1[j]! * stride;
      const fy = wy[j]!;
      for (let i = 0; i < width; i++) {
        const a = x0[i]!;
        const b = x1[i]!;
        const fx = wx[i]!;
        const top = lut[src[r0 + a]!]! + (lut[src[r0 + b]!]! - lut[src[r0 + a]!]!) * fx;
        const bot = lut[src[r1 + a]!]! + (lut[src[r1 + b]!]! - lut[src[r1 + a]!]!) * fx;
        dst[o++] = top + (bot - top) * fy;
      }
    }
  }

  private general(src: Uint8Array, frameWidth: number, format: PixelFormat, dst: Float32Array): void {
    const { width, height, channels, layout } = this.spec;
    const { x0, x1, wx, y0, y1, wy, lut } = this;
    const sc = format === 'Mono8' ? 1 : 3;
    const stride = frameWidth * sc;
    const plane = width * height;
    for (let j = 0; j < height; j++) {
      const r0 = y0[j]! * stride;
      const r1 = y1[j]! * stride;
      const fy = wy[j]!;
      for (let i = 0; i < width; i++) {
        const a = x0[i]! * sc;
        const b = x1[i]! * sc;
        const fx = wx[i]!;
        for (let c = 0; c < channels; c++) {
          const v00 = sample(src, r0 + a, sc, channels, c);
          const v01 = sample(src, r0 + b, sc, channels, c);
          const v10 = sample(src, r1 + a, sc, channels, c);
          const v11 = sample(src, r1 + b, sc, channels, c);
          const top = v00 + (v01 - v00) * fx;
          const v = top + (v10 + (v11 - v10) * fx - top) * fy;
          // Interpolate in byte space here because luma is fractional; normalise the result.
          const base = c * 256;
          const n = (lut[base + 1]! - lut[base]!) * v + lut[base]!;
          dst[layout === 'NCHW' ? c * plane + j * width + i : (j * width + i) * channels + c] = n;
        }
      }
    }
  }
}

/** Byte value of output channel c at pixel offset p, converting Mono8↔RGB (ITU-R BT.601 luma). */
function sample(src: Uint8Array, p: number, srcChannels: number, dstChannels: number, c: number): number {
  if (srcChannels === 1) return src[p]!;
  if (dstChannels === 3) return src[p + c]!;
  return 0.299 * src[p]! + 0.587 * src[p + 1]! + 0.114 * src[p + 2]!;
}

function axisTable(start: number, length: number, out: number, i0: Int32Array, i1: Int32Array, w: Float32Array): void {
  const scale = length / out;
  for (let d = 0; d < out; d++) {
    let s = (d + 0.5) * scale - 0.5;
    if (s < 0) s = 0;
    if (s > length - 1) s = length - 1;
    const f = Math.floor(s);
    i0[d] = start + f;
    i1[d] = start + Math.min(f + 1, length - 1);
    w[d] = s - f;
  }
}

/** The preprocessing a model's input asks for: size and layout from its shape, channels from its pixel format. */
export function preprocessSpecOf(input: ModelManifest['input']): PreprocessSpec {
  const [, d1, d2, d3] = input.shape as [number, number, number, number];
  const nchw = input.layout === 'NCHW';
  return {
    channels: input.pixelFormat === 'Mono8' ? 1 : 3,
    height: nchw ? d2 : d1,
    width: nchw ? d3 : d2,
    layout: input.layout,
    mean: input.normalization.mean,
    std: input.normalization.std,
  };
}
