/**
 * The line YAML, as zod schemas: the single place where defaults live. Adapter sections (source, sinks) are
 * discriminated unions built from the adapters' own schemas, which the composition root passes in, so
 * runtime/ never imports adapters/. Every object is .strict(): an unknown key is a mistake, not a comment.
 */
import { z } from 'zod';
import { MetrologySchema } from '../metrology/spec.ts';
import { decoderRuleShape } from '../inference/decoders/index.ts';
import { DEFAULT_RUN_TIMEOUT_MS } from '../inference/inference-worker.ts';
import { AcceptanceSchema, DEFAULT_ACCEPTANCE } from '../pipeline/frame-gate.ts';

const Roi = z
  .object({
    x: z.number().int().nonnegative().describe('Left edge in frame pixels'),
    y: z.number().int().nonnegative().describe('Top edge in frame pixels'),
    width: z.number().int().positive().describe('Width in frame pixels'),
    height: z.number().int().positive().describe('Height in frame pixels'),
  })
  .strict()
  .describe('Region of interest cropped from the frame before resizing to the model input');

const ContinuousFps = z
  .number()
  .positive()
  .max(1000)
  .optional()
  .describe('Rate at which an MES StartContinuous acquires (free-run) until Stop; absent: StartContinuous is refused on this station');

const Trigger = z
  .discriminatedUnion('mode', [
    z
      .object({
        mode: z.literal('free-run').describe('Acquire continuously at a fixed rate'),
        fps: z.number().positive().max(1000).describe('Parts (frames) per second'),
      })
      .strict(),
    z
      .object({
        mode: z
          .literal('software')
          .describe(
            'Acquire one frame per software trigger: POST /stations/NAME/trigger on the `http` listener (`linesight trigger`), or an MES job',
          ),
        continuousFps: ContinuousFps,
      })
      .strict(),
    z
      .object({
        mode: z.literal('plc').describe("Acquire one frame per PLC trigger edge, through the station's handshake sink"),
        via: z.string().min(1).describe('Name of the sink that runs the handshake (type modbus-server, or opcua with handshake)'),
        continuousFps: ContinuousFps,
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

const StationModel = z
  .object({
    manifest: z.string().min(1).describe('Path to the model.yaml, relative to the line YAML'),
    name: z.string().min(1).optional().describe('Name in results; default: the manifest name'),
    intraOpThreads: z.number().int().min(1).max(64).default(1).describe('onnxruntime intra-op threads'),
    runTimeoutMs: z
      .number()
      .int()
      .min(10)
      .max(600_000)
      .default(DEFAULT_RUN_TIMEOUT_MS)
      .describe('A run that takes longer is taken for a hung inference worker: the part is NOK (INSPECTION_ERROR) and the worker restarted'),
    // One optional rule key per registered decoder kind (anomaly:, labels:), each with its decoder's own schema.
    ...decoderRuleShape,
  })
  .strict();

const Scale = z
  .object({ mmPerPx: z.number().positive().describe('Millimetres per frame pixel at the part plane') })
  .strict()
  .describe('Calibrated scale; enables areas in mm²');

const Recipe = z
  .object({
    id: z.string().min(1).describe('Recipe id, recorded with every result inspected under it (also its OPC 40100 recipe id)'),
    description: z.string().optional().describe('Free text shown in recipe lists'),
    models: z.array(StationModel).min(1).describe('Models run on every frame while this recipe is in force, in order'),
    metrology: MetrologySchema.optional(),
  })
  .strict()
  .describe(
    "An alternative recipe of the station, loaded when it is prepared (MES PrepareRecipe); the station's own recipe/models/metrology stay the default",
  );

export function buildStationSchema<Src extends z.ZodType, Snk extends z.ZodType>(source: Src, sink: Snk) {
  return z
    .object({
      name: z
        .string()
        .regex(/^[a-z0-9][a-z0-9-]*$/)
        .describe('Station name (lower-case, digits, dashes)'),
      recipe: z.string().min(1).describe('Recipe (product variant) recorded with every result'),
      source: source.describe('Camera or replay feeding this station'),
      trigger: Trigger,
      poolSlots: z.number().int().min(2).max(256).default(4).describe('Preallocated frame buffers'),
      backpressure: Backpressure.default({ policy: 'every-trigger', queueDepth: 2 }),
      roi: Roi.optional(),
      scale: Scale.optional(),
      models: z.array(StationModel).min(1).describe('Models run on every frame, in order'),
      metrology: MetrologySchema.optional(),
      recipes: z
        .array(Recipe)
        .optional()
        .describe('Alternative recipes the station can switch to at run time (docs/recipes.md); the default recipe is always loaded'),
      acceptance: AcceptanceSchema.default(DEFAULT_ACCEPTANCE),
      sinks: z.array(sink).default([]).describe('Where results go besides the SQLite store'),
      maxParts: z.number().int().positive().optional().describe('Stop the station after this many parts (tests, demos)'),
    })
    .strict()
    .superRefine((station, ctx) => {
      checkRecipeIds(station, ctx);
      // Each sink has its own outbox rows keyed by its name: two sinks of one name would share them.
      const names = (station.sinks as readonly { name?: unknown }[]).map((s) => s.name);
      names.forEach((n, i) => {
        if (names.indexOf(n) !== i)
          ctx.addIssue({
            code: 'custom',
            path: ['sinks', i, 'name'],
            message: `sink name '${String(n)}' is used twice in this station (set name: to tell them apart)`,
          });
      });
      if (station.trigger.mode === 'plc' && !names.includes(station.trigger.via)) {
        ctx.addIssue({
          code: 'custom',
          path: ['trigger', 'via'],
          message: `'${station.trigger.via}' names no sink of this station (sinks: ${names.join(', ') || 'none'})`,
        });
      }
    });
}

/** Recipe ids are unique within the station, the default `recipe` included: they name what PrepareRecipe loads. */
function checkRecipeIds(station: { recipe: string; recipes?: readonly { id: string }[] | undefined }, ctx: z.RefinementCtx): void {
  const ids = [station.recipe];
  (station.recipes ?? []).forEach((r, i) => {
    if (ids.includes(r.id))
      ctx.addIssue({
        code: 'custom',
        path: ['recipes', i, 'id'],
        message:
          r.id === station.recipe
            ? `recipe id '${r.id}' is the station's default recipe: an alternative needs an id of its own`
            : `recipe id '${r.id}' is used twice in this station`,
      });
    ids.push(r.id);
  });
}

const FreeSpace = z
  .object({
    warnMB: z.number().positive().default(1024).describe("Warn once and mark the stations disk-low below this many MiB free on the database's disk"),
    minMB: z
      .number()
      .positive()
      .default(256)
      .describe('Below this many MiB free: disk-critical, archiving stops and retention (if configured) runs early'),
    everySeconds: z.number().positive().max(3600).default(10).describe('How often the free space is read (off the frame path)'),
  })
  .strict()
  .refine((f) => f.minMB < f.warnMB, { message: 'minMB must be below warnMB', path: ['minMB'] })
  .describe("Free-space guard of the database's disk; states recover 10 % above their threshold");

const Store = z
  .object({
    path: z.string().min(1).describe('SQLite file, relative to the line YAML unless absolute'),
    retention: z
      .object({
        maxAgeDays: z.number().positive().optional().describe('Remove results decided more than this many days ago'),
        maxResults: z.number().int().positive().optional().describe('Keep at most this many results, removing the oldest first'),
        maxSizeMB: z
          .number()
          .positive()
          .optional()
          .describe(
            'Keep the pages in use ((page_count − freelist_count) × page_size, WAL excluded) under this many MiB; the file itself does not shrink',
          ),
        everySeconds: z.number().positive().default(60).describe('How often retention runs, in seconds (off the frame path, in small batches)'),
      })
      .strict()
      .optional()
      .describe('Oldest results removed first; a result still owed to a sink, and the newest of each station, are never removed'),
    onFailure: z
      .enum(['stop-line', 'deliver-unstored'])
      .default('stop-line')
      .describe(
        'When an append fails (disk full, read-only, I/O error): stop-line = every part NOK STORE_FAILED and the PLC handshake shows error 3 with Trigger Ready low; deliver-unstored = the true verdict is delivered unstored. Either way the station is degraded until the store takes results again',
      ),
    retryEverySeconds: z
      .number()
      .positive()
      .max(3600)
      .default(5)
      .describe('While the store fails, retry it this often even when no part comes (every part retries too)'),
    freeSpace: FreeSpace.default(FreeSpace.parse({})),
  })
  .strict();

const SimulatedPlc = z
  .object({
    host: z.literal('127.0.0.1').default('127.0.0.1').describe('Loopback only: the simulated PLC is for demos and tests'),
    port: z.number().int().min(1).max(65535).describe('Modbus TCP port'),
  })
  .strict()
  .describe('An in-process Modbus TCP server standing in for the PLC (demo line)');

const Http = z
  .object({
    host: z.string().min(1).default('127.0.0.1').describe("Address to listen on; loopback unless the network is the plant's own (no authentication)"),
    port: z.number().int().min(0).max(65535).describe('TCP port (0: any free port)'),
  })
  .strict()
  .describe('HTTP control listener: software triggers (POST /stations/NAME/trigger, `linesight trigger`) and station states');

export function buildLineSchema<Src extends z.ZodType, Snk extends z.ZodType, Svc extends z.ZodType>(source: Src, sink: Snk, service: Svc) {
  return z
    .object({
      line: z
        .string()
        .regex(/^[a-z0-9][a-z0-9-]*$/)
        .describe('Production line id'),
      description: z.string().default('').describe('Free text'),
      logLevel: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace']).default('info').describe('Log level'),
      store: Store,
      simulatedPlc: SimulatedPlc.optional(),
      http: Http.optional(),
      services: z.array(service).default([]).describe('Line-wide services: the MES server (type opcua-mes)'),
      stations: z
        .array(buildStationSchema(source, sink))
        .min(1)
        .describe('Inspection stations of the line')
        .refine((s) => new Set(s.map((x) => x.name)).size === s.length, { message: 'station names must be unique' }),
    })
    .strict();
}

export type LineSchema = ReturnType<typeof buildLineSchema<z.ZodType, z.ZodType, z.ZodType>>;
export type StationSchema = ReturnType<typeof buildStationSchema<z.ZodType, z.ZodType>>;
export type StationModelConfig = z.output<typeof StationModel>;
/** One recipe of a station as the YAML gives it; the default is `{ id: recipe, models, metrology }` of the station. */
export type StationRecipeConfig = z.output<typeof Recipe>;
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

export interface LineConfig extends Omit<z.output<LineSchema>, 'stations' | 'services'> {
  readonly stations: readonly StationConfig[];
  readonly services: readonly AdapterOptions[];
  /** Absolute path of the YAML file, and its folder for relative paths. */
  readonly file: string;
  readonly dir: string;
}
