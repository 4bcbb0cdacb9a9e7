/**
 * A built-in camera for demos and tests: renders seeded synthetic parts (sim/scenes) straight into the frame
 * slot. Part n of a run uses seed `seed + n`, and whether it is defective (and how) is drawn from that seed, so a
 * run is reproducible end to end and each frame carries its ground truth.
 *
 * Part ids are `SYN-<run>-<seed>`: `<run>` is the time of the source's open() in milliseconds since the epoch,
 * base 36 upper case (e.g. `MIQ0Z5K1`; strictly increasing within a process), `<seed>` the part's image seed. The
 * images repeat after a restart (same seeds); the ids do not, so the store and the PLC never see one id twice.
 */
import { z } from 'zod';
import { defineAdapter, type FrameSource } from '../../../runtime/adapter.ts';
import type { FrameSlot } from '../../../runtime/frame/frame-slot.ts';
import { LinesightError } from '../../../runtime/errors.ts';
import { Prng } from '../../../sim/scenes/prng.ts';
import { renderSurface, SURFACE_DEFECTS } from '../../../sim/scenes/surface.ts';
import { renderDrilledPlate, PLATE_DEFECTS } from '../../../sim/scenes/holes.ts';

export const SyntheticSourceSchema = z
  .object({
    type: z.literal('synthetic').describe('Render seeded synthetic parts (no camera needed)'),
    scene: z.enum(['surface', 'drilled-plate']).describe('surface: textured panel; drilled-plate: plate with a hole pattern'),
    width: z.number().int().min(64).max(4096).default(512).describe('Frame width in pixels'),
    height: z.number().int().min(64).max(4096).default(512).describe('Frame height in pixels'),
    seed: z.number().int().nonnegative().default(1).describe('Seed of the first part; part n uses seed + n'),
    defectRate: z.number().min(0).max(1).default(0.2).describe('Share of defective parts'),
    family: z.enum(['brushed', 'cast', 'painted', 'cfrp']).optional().describe('Surface texture family; default varies by part'),
    mmPerPx: z.number().positive().default(0.05).describe('Drilled plate: scale used to render the holes'),
    count: z.number().int().positive().optional().describe('End after this many parts (default: endless)'),
  })
  .strict();

export type SyntheticSourceOptions = z.output<typeof SyntheticSourceSchema>;

let lastRunMs = 0;

/** A run id from the clock, never the same twice in one process (two opens in one millisecond get two ids). */
function nextRunId(): string {
  lastRunMs = Math.max(Date.now(), lastRunMs + 1);
  return lastRunMs.toString(36).toUpperCase();
}

export class SyntheticSource implements FrameSource {
  readonly type = 'synthetic';
  readonly maxWidth: number;
  readonly maxHeight: number;
  readonly channels = 1;
  private readonly options: SyntheticSourceOptions;
  private sequence = 0;
  private runId = nextRunId();

  constructor(options: SyntheticSourceOptions) {
    this.options = options;
    this.maxWidth = options.width;
    this.maxHeight = options.height;
  }

  async open(): Promise<void> {
    this.sequence = 0;
    this.runId = nextRunId();
  }

  async grab(slot: FrameSlot): Promise<void> {
    const o = this.options;
    if (o.count !== undefined && this.sequence >= o.count) {
      throw new LinesightError('LS_ERR_SOURCE_EXHAUSTED', `synthetic source rendered its ${o.count} parts`, { count: o.count });
    }
    const seed = o.seed + this.sequence;
    slot.sequence = ++this.sequence;
    slot.width = o.width;
    slot.height = o.height;
    slot.pixelFormat = 'Mono8';
    slot.captureEpochMs = Date.now();
    const pick = new Prng(seed ^ 0x5eed);
    const defective = pick.next() < o.defectRate;
    if (o.scene === 'surface') {
      const defect = defective ? SURFACE_DEFECTS[Math.floor(pick.next() * SURFACE_DEFECTS.length)] : null;
      slot.truth = renderSurface({ seed, width: o.width, height: o.height, family: o.family, defect }, slot.data);
    } else {
      const defect = defective ? PLATE_DEFECTS[Math.floor(pick.next() * PLATE_DEFECTS.length)] : null;
      slot.truth = renderDrilledPlate({ seed, width: o.width, height: o.height, mmPerPx: o.mmPerPx, defect }, slot.data);
    }
    slot.partId ??= `SYN-${this.runId}-${seed}`;
  }

  async close(): Promise<void> {}
}

export default defineAdapter({
  kind: 'source',
  type: 'synthetic',
  schema: SyntheticSourceSchema,
  create: (options) => new SyntheticSource(options),
});
