/**
 * The line YAML, as zod schemas: the single place where defaults live. Adapter sections (source, sinks) are
 * discriminated unions built from the adapters' own schemas, which the composition root passes in, so
 * runtime/ never imports adapters/. Every object is .strict(): an unknown key is a mistake, not a comment.
 */
import { z } from 'zod';
import { MetrologySchema } from '../metrology/spec.ts';

const Roi = z
  .object({
    x: z.number().int().nonnegative().describe('Left edge in frame pixels'),
    y: z.number().int().nonnegative().describe('Top edge in frame pixels'),
    width: z.number().int().positive().describe('Width in frame pixels'),
    height: z.number().int().positive().describe('Height in frame pixels'),
  })
  .strict()
  .describe('Region of interest cropped from the frame before resizing to the model input');

const Trigger = z
  .discriminatedUnion('mode', [
    z
      .object({
        mode: z.literal('free-run').describe('Acquire continuously at a fixed rate'),
        fps: z.number().positive().max(1000).describe('Parts (frames) per second'),
      })
      .strict(),
    z
      .object({ mode: z.literal('software').describe('Acquire one frame per software trigger (API, CLI, PLC)') })
      .strict(),
    z
      .object({
        mode: z.literal('plc').describe("Acquire one frame per PLC trigger edge, through the station's handshake sink"),
        via: z.string().min(1).describe('Name of the sink that runs the handshake (type modbus-server, or opcua with handshake)'),
      })
      .strict(),
  ])
  .describe('When the station acquires a frame');

const Backpressure = z
  .object({
    policy: z
      .enum(['every-trigger', 'latest-wins'])
      .describe(
        'every-trigger: never drop a triggered part, hold acquisition while the queue is full (counted); ' +
          'latest-wins: drop the oldest queued frame (counted) so inspection follows the newest part',
      ),
    queueDepth: z.number().int().min(1).max(64).default(2).describe('Frames waiting for inference at most'),
  })
  .strict()
  .describe('What happens when inference is slower than acquisition');

const AnomalyDecision = z
  .object({
    threshold: z.number().min(0).max(1).optional().describe("Normalised image score threshold; default: the model's"),
    minDefectAreaMm2: z
      .number()
      .nonnegative()
      .optional()
      .describe('A region must be at least this large (needs station.scale) for the part to be NOK'),
    reason: z.string().regex(/^[A-Z][A-Z0-9_]*$/).optional().describe('Reason code when the rule fires'),
  })
  .strict();

const LabelDecision = z
  .object({
    threshold: z.number().min(0).max(1).optional().describe("Probability at or above which the label is present; default: the model's"),
    reason: z.string().regex(/^[A-Z][A-Z0-9_]*$/).optional().describe('Reason code; default: the label in upper case'),
    nok: z.boolean().default(true).describe('Whether this label makes the part NOK (false: recorded only)'),
  })
  .strict();

const StationModel = z
  .object({
    manifest: z.string().min(1).describe('Path to the model.yaml, relative to the line YAML'),
    name: z.string().min(1).optional().describe('Name in results; default: the manifest name'),
    intraOpThreads: z.number().int().min(1).max(64).default(1).describe('onnxruntime intra-op threads'),
    anomaly: AnomalyDecision.optional().describe('Decision rule for an anomaly-map model'),
    labels: z.record(z.string(), LabelDecision).optional().describe('Decision rules per label of a classification model'),
  })
  .strict();

const Scale = z
  .object({ mmPerPx: z.number().positive().describe('Millimetres per frame pixel at the part plane') })
  .strict()
  .describe('Calibrated scale; enables areas in mm²');

export function buildStationSchema<Src extends z.ZodType, Snk extends z.ZodType>(source: Src, sink: Snk) {
  return z
    .object({
      name: z.string().regex(/^[a-z0-9][a-z0-9-]*$/).describe('Station name (lower-case, digits, dashes)'),
      recipe: z.string().min(1).describe('Recipe (product variant) recorded with every result'),
      source: source.describe('Camera or replay feeding this station'),
      trigger: Trigger,
      poolSlots: z.number().int().min(2).max(256).default(4).describe('Preallocated frame buffers'),
      backpressure: Backpressure.default({ policy: 'every-trigger', queueDepth: 2 }),
      roi: Roi.optional(),
      scale: Scale.optional(),
      models: z.array(StationModel).min(1).describe('Models run on every frame, in order'),
      metrology: MetrologySchema.optional(),
      sinks: z.array(sink).default([]).describe('Where results go besides the SQLite store'),
      maxParts: z.number().int().positive().optional().describe('Stop the station after this many parts (tests, demos)'),
    })
    .strict();
}

const Store = z
  .object({
    path: z.string().min(1).describe('SQLite file, relative to the line YAML unless absolute'),
  })
  .strict();

const SimulatedPlc = z
  .object({
    host: z.literal('127.0.0.1').default('127.0.0.1').describe('Loopback only: the simulated PLC is for demos and tests'),
    port: z.number().int().min(1).max(65535).describe('Modbus TCP port'),
  })
  .strict()
  .describe('An in-process Modbus TCP server standing in for the PLC (demo line)');

export function buildLineSchema<Src extends z.ZodType, Snk extends z.ZodType>(source: Src, sink: Snk) {
  return z
    .object({
      line: z.string().regex(/^[a-z0-9][a-z0-9-]*$/).describe('Production line id'),
      description: z.string().default('').describe('Free text'),
      logLevel: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace']).default('info').describe('Log level'),
      store: Store,
      simulatedPlc: SimulatedPlc.optional(),
      stations: z
        .array(buildStationSchema(source, sink))
        .min(1)
        .describe('Inspection stations of the line')
        .refine((s) => new Set(s.map((x) => x.name)).size === s.length, { message: 'station names must be unique' }),
    })
    .strict();
}

export type LineSchema = ReturnType<typeof buildLineSchema<z.ZodType, z.ZodType>>;
export type StationSchema = ReturnType<typeof buildStationSchema<z.ZodType, z.ZodType>>;
export type StationModelConfig = z.output<typeof StationModel>;
export type TriggerConfig = z.output<typeof Trigger>;
export type BackpressureConfig = z.output<typeof Backpressure>;
export type RoiConfig = z.output<typeof Roi>;

/** Source and sink options are typed by their adapters; the runtime sees only their `type`. */
export interface AdapterOptions {
  readonly type: string;
  readonly [key: string]: unknown;
}

export interface StationConfig extends Omit<z.output<StationSchema>, 'source' | 'sinks'> {
  readonly source: AdapterOptions;
  readonly sinks: readonly AdapterOptions[];
}

export interface LineConfig extends Omit<z.output<LineSchema>, 'stations'> {
  readonly stations: readonly StationConfig[];
  /** Absolute path of the YAML file, and its folder for relative paths. */
  readonly file: string;
  readonly dir: string;
}
