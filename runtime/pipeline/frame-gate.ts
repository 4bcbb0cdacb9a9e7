/**
 * The frame-acceptance gate, on every station by default: before any model sees a frame, it must be the size
 * the station expects and look like a picture of a part — exposed (not mostly dark or saturated), with contrast,
 * texture (not flat tiles) and focus; then each model's input must be near what that model was trained on
 * (runtime/inference/input-stats.ts). A frame that fails is NOK with reason FRAME_REJECTED, the failed check as
 * the reason's source (`frame.dark`, `frame.focus`, `<model>.input` …): a lens cap, a dead light, a failed
 * camera or a broken transfer never ships a part as OK.
 */
import { z } from 'zod';
import { FrameStatistics, type FrameStats, type Region } from '../frame/frame-stats.ts';
import type { FrameSlot } from '../frame/frame-slot.ts';
import type { Reason } from '../results/result.ts';
import type { InputCheck } from '../inference/input-stats.ts';

export const FRAME_REJECTED = 'FRAME_REJECTED';

export const AcceptanceSchema = z
  .object({
    enabled: z.boolean().default(true).describe('Turn the gate off only while commissioning: every frame then reaches the models'),
    frameSize: z.boolean().default(true).describe("Reject a frame whose size differs from the source's configured width × height"),
    darkLevel: z.number().int().min(0).max(254).default(10).describe('Grey level at or below which a pixel counts as dark'),
    maxDarkShare: z.number().min(0).max(1).default(0.8).describe('Reject when more than this share of the region is dark (lens cap, dead light)'),
    saturatedLevel: z.number().int().min(1).max(255).default(250).describe('Grey level at or above which a pixel counts as saturated'),
    maxSaturatedShare: z.number().min(0).max(1).default(0.5).describe('Reject when more than this share of the region is saturated (overexposed)'),
    minContrast: z.number().min(0).max(255).default(12).describe('Reject when the 1st–99th percentile spread of grey levels is below this'),
    flatRange: z.number().int().min(0).max(255).default(2).describe('A 16×16 tile whose grey levels span at most this is flat'),
    maxFlatShare: z
      .number()
      .min(0)
      .max(1)
      .default(0.3)
      .describe('Reject when more than this share of tiles is flat (blank, grey-filled or truncated transfer)'),
    minFocus: z
      .number()
      .min(0)
      .default(10)
      .describe('Reject when the variance of the Laplacian (grey levels²) is below this (out of focus, smeared)'),
    maxRepeatedRowShare: z
      .number()
      .min(0)
      .max(1)
      .default(0.05)
      .describe('Reject when more than this share of rows repeats the row above exactly (a truncated or stalled transfer)'),
    inDistribution: z
      .boolean()
      .default(true)
      .describe("Check each model's input against the statistics in its model.yaml `inputStats` (a model without them is reported at boot)"),
    maxInputZ: z
      .number()
      .positive()
      .default(7)
      .describe("Reject when a feature of a model's input lies more than this many standard deviations from its training mean"),
  })
  .strict()
  .describe('Frame-acceptance gate (runtime/pipeline/frame-gate.ts): a frame that fails is NOK with reason FRAME_REJECTED');

export type AcceptanceConfig = z.output<typeof AcceptanceSchema>;

export const DEFAULT_ACCEPTANCE: AcceptanceConfig = Object.freeze(AcceptanceSchema.parse({}));

export interface ExpectedSize {
  readonly width: number;
  readonly height: number;
}

/** A model as the gate sees it (a StationModel): its name and the check of its last preprocessed input. */
export interface InputCheckedModel {
  readonly name: string;
  checkInput(): InputCheck | null;
}

/** The gate's verdict on one frame: null when accepted, else the reason that makes the part NOK. */
export type GateRejection = Reason | null;

export class FrameGate {
  readonly config: AcceptanceConfig;
  private readonly expected: ExpectedSize | null;
  private readonly region: Region | null;
  private readonly stats: FrameStatistics;

  constructor(config: AcceptanceConfig, expected: ExpectedSize | null, region: Region | null) {
    this.config = config;
    this.expected = config.frameSize ? expected : null;
    this.region = region;
    this.stats = new FrameStatistics({ darkLevel: config.darkLevel, saturatedLevel: config.saturatedLevel, flatRange: config.flatRange });
  }

  /** Frame-level checks; writes the frame statistics into `measurements` (frame.dark, frame.focus …). */
  checkFrame(slot: FrameSlot, measurements: Record<string, number>): GateRejection {
    if (!this.config.enabled) return null;
    const size = this.checkSize(slot);
    if (size !== null) return size;
    const region = this.region !== null && fits(this.region, slot) ? this.region : null;
    const s = this.stats.measure(slot, region);
    measurements['frame.dark'] = round4(s.dark);
    measurements['frame.saturated'] = round4(s.saturated);
    measurements['frame.contrast'] = s.contrast;
    measurements['frame.flat'] = round4(s.flat);
    measurements['frame.focus'] = round2(s.focus);
    measurements['frame.repeatedRows'] = round4(s.repeatedRows);
    return this.checkStats(s);
  }

  /** After a model's preprocessing: its input against the model's training statistics. */
  checkModelInput(model: InputCheckedModel, measurements: Record<string, number>): GateRejection {
    if (!this.config.enabled || !this.config.inDistribution) return null;
    const check = model.checkInput();
    if (check === null) return null;
    measurements[`${model.name}.inputZ`] = round2(check.z);
    if (check.z <= this.config.maxInputZ) return null;
    return rejection(
      `${model.name}.input`,
      `input ${check.feature} ${round2(check.value)} is ${round2(check.z)} σ from the model's training mean (limit ${this.config.maxInputZ}): not like the parts it was trained on`,
    );
  }

  private checkSize(slot: FrameSlot): GateRejection {
    const e = this.expected;
    if (slot.width > 0 && slot.height > 0 && (e === null || (slot.width === e.width && slot.height === e.height))) return null;
    const want = e === null ? 'a non-empty frame' : `${e.width}x${e.height}`;
    return rejection('frame.size', `frame is ${slot.width}x${slot.height}, the station expects ${want}`);
  }

  private checkStats(s: FrameStats): GateRejection {
    const c = this.config;
    if (s.dark > c.maxDarkShare)
      return rejection('frame.dark', `${pct(s.dark)} of pixels at or below grey ${c.darkLevel} (limit ${pct(c.maxDarkShare)})`);
    if (s.saturated > c.maxSaturatedShare)
      return rejection('frame.saturated', `${pct(s.saturated)} of pixels at or above grey ${c.saturatedLevel} (limit ${pct(c.maxSaturatedShare)})`);
    if (s.contrast < c.minContrast) return rejection('frame.contrast', `contrast ${s.contrast} grey levels (p99 − p1), below ${c.minContrast}`);
    if (s.flat > c.maxFlatShare) return rejection('frame.flat', `${pct(s.flat)} of 16×16 tiles are flat (limit ${pct(c.maxFlatShare)})`);
    if (s.focus < c.minFocus) return rejection('frame.focus', `focus (Laplacian variance) ${round2(s.focus)}, below ${c.minFocus}`);
    if (s.repeatedRows > c.maxRepeatedRowShare)
      return rejection(
        'frame.rows',
        `${pct(s.repeatedRows)} of rows repeat the row above (limit ${pct(c.maxRepeatedRowShare)}): a truncated transfer`,
      );
    return null;
  }
}

/** The part's check name from a FRAME_REJECTED reason's source: `frame.dark` → `dark`, `m.input` → `m.input`. */
export function rejectionCheck(reason: Reason): string {
  return reason.source.startsWith('frame.') ? reason.source.slice('frame.'.length) : reason.source;
}

/** A reason as a terminal line shows it: its code, and for a frame rejection the check (`FRAME_REJECTED:dark`). */
export function reasonLabel(reason: Reason): string {
  return reason.code === FRAME_REJECTED ? `${reason.code}:${rejectionCheck(reason)}` : reason.code;
}

function rejection(source: string, detail: string): Reason {
  return { code: FRAME_REJECTED, source, detail };
}

function fits(r: Region, slot: FrameSlot): boolean {
  return r.x + r.width <= slot.width && r.y + r.height <= slot.height;
}

function pct(v: number): string {
  return `${(v * 100).toFixed(1)}%`;
}

function round2(v: number): number {
  return Math.round(v * 100) / 100;
}

function round4(v: number): number {
  return Math.round(v * 1e4) / 1e4;
}
