/**
 * The `metrology` section of a station: where the holes should be (nominal pattern relative to the part datum),
 * how large (nominal Ø with an explicit ± or an ISO 286 class), and the position, roundness, countersink and
 * delamination limits. runtime/config/schema.ts mounts it; defaults live here, beside their descriptions.
 */
import { z } from 'zod';
import { ISO286_CLASS } from './iso286.ts';

const Countersink = z
  .object({
    diameterMm: z.number().positive().describe('Nominal countersink outer diameter, mm'),
    plusMm: z.number().nonnegative().default(0.1).describe('Upper tolerance of the countersink diameter, mm'),
    minusMm: z.number().nonnegative().default(0.1).describe('Lower tolerance (magnitude) of the countersink diameter, mm'),
    angleDeg: z.number().min(30).max(150).default(100).describe('Included angle, degrees (depth = (Dcs − D) / 2 / tan(angle/2))'),
  })
  .strict()
  .describe('Countersink: measured as the outer edge of the cone ring around the bore');

const HoleLimits = {
  diameterMm: z.number().positive().describe('Nominal diameter, mm'),
  fit: z
    .string()
    .regex(ISO286_CLASS, 'an ISO 286 hole class E/F/G/H/JS with grade 5–13, e.g. H8')
    .optional()
    .describe('ISO 286 hole tolerance class (e.g. H8); alternative to plusMm/minusMm'),
  plusMm: z.number().optional().describe('Upper deviation from nominal, mm (e.g. 0.05)'),
  minusMm: z.number().optional().describe('Lower deviation magnitude below nominal, mm (e.g. 0.05 for −0.05)'),
  positionTolMm: z.number().positive().optional().describe('True-position tolerance: diameter of the zone around the nominal centre, mm'),
  roundnessMaxMm: z
    .number()
    .positive()
    .optional()
    .describe('Roundness limit (peak-to-valley from the least-squares circle, filtered at roundnessUpr), mm'),
  fdMax: z.number().min(1).optional().describe('Delamination factor limit Fd = Dmax / Dnom (CFRP); omit on metals'),
  countersink: Countersink.optional(),
};

const HoleDefaults = z.object(HoleLimits).strict().describe('Limits shared by every hole unless a hole overrides them');

const Hole = HoleDefaults.partial()
  .extend({
    id: z
      .string()
      .regex(/^[A-Za-z0-9_-]+$/)
      .describe('Hole id in results (letters, digits, _ and -)'),
    xMm: z.number().describe('Nominal centre x relative to the part datum, mm'),
    yMm: z.number().describe('Nominal centre y relative to the part datum, mm'),
  })
  .strict()
  .describe('One nominal hole; any limit given here overrides the defaults');

const Datum = z
  .object({
    type: z
      .enum(['fixture', 'best-fit'])
      .default('fixture')
      .describe(
        'fixture: the part datum sits at originMm/angleDeg in the calibrated frame; best-fit: the pattern is ' +
          'aligned to the measured holes (rotation + translation, least squares) before positions are judged',
      ),
    originMm: z.tuple([z.number(), z.number()]).default([0, 0]).describe('Datum origin in the calibrated frame, mm'),
    angleDeg: z.number().default(0).describe('Datum x axis angle in the calibrated frame, degrees'),
  })
  .strict();

export const MetrologySchema = z
  .object({
    calibration: z.string().min(1).optional().describe('Calibration YAML (calibration/…), relative to the line YAML; default: station scale.mmPerPx'),
    polarity: z.enum(['dark', 'bright']).default('dark').describe('dark: holes darker than the part (front light); bright: backlit'),
    datum: Datum.default({ type: 'fixture', originMm: [0, 0], angleDeg: 0 }),
    searchRadiusMm: z.number().positive().default(1).describe('A hole is matched to a nominal position within this distance, mm'),
    roundnessUpr: z.number().nonnegative().default(15).describe('ISO 12181-2 Gaussian filter cut-off for roundness, UPR (0: unfiltered)'),
    damageContrast: z.number().positive().default(30).describe('Grey-level difference from the surface that counts as damage (for Fd)'),
    flagUnexpected: z.boolean().default(true).describe('A hole found away from every nominal position makes the part NOK (HOLE_UNEXPECTED)'),
    defaults: HoleDefaults,
    holes: z.array(Hole).min(1).describe('Nominal hole pattern'),
  })
  .strict()
  .refine((m) => new Set(m.holes.map((h) => h.id)).size === m.holes.length, { message: 'hole ids must be unique' })
  .describe('Hole metrology: diameters, positions, roundness, countersink and Fd in mm, judged per hole');

export type MetrologyConfig = z.output<typeof MetrologySchema>;
export type CountersinkSpec = z.output<typeof Countersink>;

/** Reason codes raised by hole metrology, in PLC bit order. */
export const HOLE_REASONS = [
  'HOLE_MISSING',
  'HOLE_DIAMETER_HIGH',
  'HOLE_DIAMETER_LOW',
  'HOLE_POSITION',
  'HOLE_ROUNDNESS',
  'HOLE_DELAMINATION',
  'HOLE_COUNTERSINK',
  'HOLE_UNEXPECTED',
] as const;
export type HoleReason = (typeof HOLE_REASONS)[number];
