/**
 * Writes a model folder's frame golden: `golden-frame.png` (a lossless 8-bit image of a good part at the
 * stations' frame size), `golden-frame-output.json` (every model output the runtime path produced for it:
 * runtime decoder → station Preprocessor without ROI → OnnxModel) and `golden.frame` in model.yaml.
 * runtime/inference/golden-frame.ts checks it; the tensor golden (golden-input.f32) is left as it is.
 *
 *   npx tsx training/golden/write-golden-frame.ts models/surface-anomaly            # the shipped preset
 *   npx tsx training/golden/write-golden-frame.ts MODEL_DIR --scene surface --seed 7 --width 512 --height 512
 *   npx tsx training/golden/write-golden-frame.ts MODEL_DIR --image good-part.png
 *
 * The model builders call writeShippedGoldenFrame / writeGoldenFrameFromFile so new models get one.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import sharp from 'sharp';
import { parse as parseYaml, stringify } from 'yaml';
import { LinesightError } from '../../runtime/errors.ts';
import { decodeImageFile, readFrameFile } from '../../runtime/frame/decode-image.ts';
import { channelsOf, type PixelFormat } from '../../runtime/frame/frame-slot.ts';
import { checkGoldenFrame, type GoldenFrameResult } from '../../runtime/inference/golden-frame.ts';
import { ModelManifestSchema } from '../../runtime/inference/model-manifest.ts';
import { OnnxModel, readManifest } from '../../runtime/inference/onnx-model.ts';
import { Preprocessor, preprocessSpecOf } from '../../runtime/inference/preprocess.ts';
import { renderHoleCrop } from '../../sim/scenes/hole-defects.ts';
import { renderDrilledPlate } from '../../sim/scenes/holes.ts';
import { renderSurface, SURFACE_FAMILIES, type SurfaceFamily } from '../../sim/scenes/surface.ts';

export const GOLDEN_FRAME_IMAGE = 'golden-frame.png';
export const GOLDEN_FRAME_OUTPUT = 'golden-frame-output.json';

/** 8-bit pixels, row-major, Mono8 (1 byte/pixel) or RGB8 (3). */
export interface GoldenFrameImage {
  readonly width: number;
  readonly height: number;
  readonly pixelFormat: PixelFormat;
  readonly data: Uint8Array;
}

export type GoldenScene = 'surface' | 'drilled-plate' | 'hole-crop';
export const GOLDEN_SCENES: readonly GoldenScene[] = ['surface', 'drilled-plate', 'hole-crop'];

/** A good part from a sim/scenes renderer. hole-crop is square: `width` is its size. */
export interface SceneFrame {
  readonly scene: GoldenScene;
  readonly seed: number;
  readonly width: number;
  readonly height: number;
  readonly family?: SurfaceFamily;
  readonly nuisances?: 'basic' | 'extended';
  readonly mmPerPx?: number;
}

/**
 * The shipped models' golden frames: good parts at the frame size their stations use. surface-anomaly and
 * drilling-defects: the demo line's stations (configs/demo-line.yaml: 512×512 synthetic frames, first seed of the
 * station, 0.05 mm/px); surface-segmenter: its card's 512×512 frame with the extended nuisances it was trained
 * on; hole-defects: its card's 128×128 hole-centred crop.
 */
export const SHIPPED_GOLDEN_FRAMES: Readonly<Record<string, SceneFrame>> = {
  'surface-anomaly': { scene: 'surface', seed: 1000, width: 512, height: 512, nuisances: 'basic' },
  'drilling-defects': { scene: 'drilled-plate', seed: 5000, width: 512, height: 512, mmPerPx: 0.05 },
  'surface-segmenter': { scene: 'surface', seed: 6_400_000, width: 512, height: 512, family: 'brushed', nuisances: 'extended' },
  'hole-defects': { scene: 'hole-crop', seed: 3_100_000, width: 128, height: 128 },
};

/** Renders a good part (no defect) with a sim/scenes renderer, as a Mono8 frame. */
export function renderGoldenFrame(f: SceneFrame): GoldenFrameImage {
  if (!(Number.isInteger(f.width) && Number.isInteger(f.height) && f.width > 0 && f.height > 0)) {
    throw new LinesightError('LS_ERR_USAGE', `frame size ${f.width}x${f.height} must be positive integers`, { frame: f });
  }
  if (f.scene === 'hole-crop' && f.width !== f.height) {
    throw new LinesightError('LS_ERR_USAGE', `hole-crop frames are square (got ${f.width}x${f.height})`, { frame: f });
  }
  const data = new Uint8Array(f.width * f.height);
  if (f.scene === 'surface') {
    renderSurface({ seed: f.seed, width: f.width, height: f.height, family: f.family, defect: null, nuisances: f.nuisances ?? 'basic' }, data);
  } else if (f.scene === 'drilled-plate') {
    renderDrilledPlate({ seed: f.seed, width: f.width, height: f.height, mmPerPx: f.mmPerPx ?? 0.05, defect: null }, data);
  } else {
    renderHoleCrop({ seed: f.seed, size: f.width, defects: [] }, data);
  }
  return { width: f.width, height: f.height, pixelFormat: 'Mono8', data };
}

export interface WriteGoldenFrameOptions {
  /** Largest allowed |Δ| per output value; default: golden.frame.tolerance, else golden.tolerance, in model.yaml. */
  readonly tolerance?: number;
}

export interface GoldenFrameWritten extends GoldenFrameResult {
  readonly dir: string;
  readonly pngBytes: number;
  readonly outputBytes: number;
}

/**
 * Writes golden-frame.png from `frame`, adds `golden.frame` to model.yaml, runs the runtime path (decoding the
 * PNG just written) and records every output; then runs checkGoldenFrame on it as the line will.
 */
export async function writeGoldenFrame(dir: string, frame: GoldenFrameImage, options: WriteGoldenFrameOptions = {}): Promise<GoldenFrameWritten> {
  const manifestPath = path.join(dir, 'model.yaml');
  const manifest = readManifest(manifestPath);
  if (!manifest.golden) {
    throw new LinesightError('LS_ERR_USAGE', `${manifestPath} has no golden tensor files: write those first (the frame golden sits next to them)`, {
      file: manifestPath,
    });
  }
  const channels = channelsOf(frame.pixelFormat);
  if (frame.data.length < frame.width * frame.height * channels) {
    throw new LinesightError(
      'LS_ERR_USAGE',
      `frame ${frame.width}x${frame.height} ${frame.pixelFormat} needs ${frame.width * frame.height * channels} bytes, got ${frame.data.length}`,
      {},
    );
  }
  const tolerance = options.tolerance ?? manifest.golden.frame?.tolerance ?? manifest.golden.tolerance;
  if (!(tolerance > 0)) throw new LinesightError('LS_ERR_USAGE', `tolerance must be > 0 (got ${tolerance})`, {});

  // 1. The image, lossless; it must decode back to the very same bytes.
  const pixels = frame.data.subarray(0, frame.width * frame.height * channels);
  const png = await sharp(pixels, { raw: { width: frame.width, height: frame.height, channels: channels as 1 | 3 } })
    .png({ compressionLevel: 9, palette: false })
    .toBuffer();
  const imageFile = path.join(dir, GOLDEN_FRAME_IMAGE);
  writeFileSync(imageFile, png);
  const back = await decodeImageFile(imageFile, frame.pixelFormat);
  if (back.width !== frame.width || back.height !== frame.height || !Buffer.from(back.data).equals(Buffer.from(pixels))) {
    throw new Error(`${imageFile} does not decode back to the frame it was written from`);
  }

  // 2. model.yaml: golden.frame, everything else as it was.
  const doc = parseYaml(readFileSync(manifestPath, 'utf8')) as { golden: Record<string, unknown> };
  doc.golden.frame = { image: GOLDEN_FRAME_IMAGE, output: GOLDEN_FRAME_OUTPUT, tolerance };
  ModelManifestSchema.parse(doc);
  writeFileSync(manifestPath, stringify(doc));

  // 3. The runtime path's outputs (one intra-op thread, as the line runs by default), then the check itself.
  const model = await OnnxModel.load(manifestPath, { intraOpThreads: 1 });
  try {
    const slot = await readFrameFile(imageFile, model.manifest.input.pixelFormat);
    new Preprocessor(preprocessSpecOf(model.manifest.input), null).run(slot, model.input);
    await model.run();
    model.input.fill(0);
    const json = Object.fromEntries([...model.outputs].map(([name, v]) => [name, Array.from(v, (x) => Math.fround(x))]));
    const text = `${JSON.stringify(json)}\n`;
    writeFileSync(path.join(dir, GOLDEN_FRAME_OUTPUT), text);
    const result = await checkGoldenFrame(model);
    if (!result) throw new Error(`${manifestPath}: golden.frame did not stick`);
    return { ...result, dir, pngBytes: png.length, outputBytes: Buffer.byteLength(text) };
  } finally {
    await model.close();
  }
}

/** The frame golden from an image file (e.g. one of the engineer's own good parts), decoded by the runtime. */
export async function writeGoldenFrameFromFile(dir: string, file: string, options: WriteGoldenFrameOptions = {}): Promise<GoldenFrameWritten> {
  const format = readManifest(path.join(dir, 'model.yaml')).input.pixelFormat;
  const img = await decodeImageFile(file, format);
  return writeGoldenFrame(dir, { width: img.width, height: img.height, pixelFormat: format, data: img.data }, options);
}

/** The frame golden of a shipped model (SHIPPED_GOLDEN_FRAMES, by the name in its model.yaml). */
export async function writeShippedGoldenFrame(dir: string, options: WriteGoldenFrameOptions = {}): Promise<GoldenFrameWritten> {
  const name = readManifest(path.join(dir, 'model.yaml')).name;
  const preset = SHIPPED_GOLDEN_FRAMES[name];
  if (!preset) {
    throw new LinesightError(
      'LS_ERR_USAGE',
      `no golden frame preset for model '${name}' (presets: ${Object.keys(SHIPPED_GOLDEN_FRAMES).join(', ')}); give --scene or --image`,
      { model: name },
    );
  }
  return writeGoldenFrame(dir, renderGoldenFrame(preset), options);
}

export const HELP = `usage: npx tsx training/golden/write-golden-frame.ts MODEL_DIR... [options]

Writes MODEL_DIR/${GOLDEN_FRAME_IMAGE} (a good part, lossless), MODEL_DIR/${GOLDEN_FRAME_OUTPUT} (every model output
the runtime path — decoder, the station's Preprocessor without ROI, onnxruntime — produced for it) and
golden.frame in MODEL_DIR/model.yaml. The tensor golden files are left as they are. Without --scene or --image a
shipped model (${Object.keys(SHIPPED_GOLDEN_FRAMES).join(', ')}) gets its preset.

  --scene S          render a good part with sim/scenes: ${GOLDEN_SCENES.join(', ')}
  --seed N           renderer seed (default 1)
  --width N          frame width in px (default 512; hole-crop: the crop size, default 128)
  --height N         frame height in px (default: --width)
  --family F         surface family: ${SURFACE_FAMILIES.join(', ')} (default: from the seed)
  --nuisances N      surface nuisances: basic or extended (default basic)
  --mm-per-px X      drilled-plate scale (default 0.05)
  --image FILE       use this image of a good part instead of rendering one (decoded by the runtime)
  --tolerance T      largest allowed |Δ| (default: golden.frame.tolerance, else golden.tolerance, in model.yaml)
  -h, --help         this text

Exit 0 on success, 2 on a usage error, 1 on any other failure.`;

function usage(message: string, cause?: unknown): LinesightError {
  return new LinesightError('LS_ERR_USAGE', message, {}, cause === undefined ? undefined : { cause });
}

function number(name: string, v: string | undefined, integer: boolean): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (v.trim() === '' || !Number.isFinite(n) || (integer && !Number.isInteger(n)))
    throw usage(`--${name} must be ${integer ? 'an integer' : 'a number'} (got '${v}')`);
  return n;
}

/** The command line; returns the exit code. */
export async function main(argv: string[], out: (line: string) => void = (l) => process.stdout.write(`${l}\n`)): Promise<number> {
  let parsed: ReturnType<typeof parseCli>;
  try {
    parsed = parseCli(argv);
  } catch (err) {
    if (err instanceof LinesightError && err.code === 'LS_ERR_USAGE') {
      process.stderr.write(`${err.message}\nrun with --help for usage\n`);
      return 2;
    }
    throw err;
  }
  if (parsed === 'help') {
    out(HELP);
    return 0;
  }
  for (const dir of parsed.dirs) {
    let r: GoldenFrameWritten;
    try {
      r = parsed.image
        ? await writeGoldenFrameFromFile(dir, parsed.image, parsed.options)
        : parsed.scene
          ? await writeGoldenFrame(dir, renderGoldenFrame(parsed.scene), parsed.options)
          : await writeShippedGoldenFrame(dir, parsed.options);
    } catch (err) {
      if (!(err instanceof LinesightError)) throw err;
      process.stderr.write(`${dir}: ${err.message}\n`);
      return err.code === 'LS_ERR_USAGE' ? 2 : 1;
    }
    out(
      JSON.stringify({
        dir,
        image: path.relative(dir, r.image),
        frame: `${r.width}x${r.height}`,
        tolerance: r.tolerance,
        pngBytes: r.pngBytes,
        outputBytes: r.outputBytes,
        outputs: r.outputs,
      }),
    );
  }
  return 0;
}

function parseCli(argv: string[]): 'help' | { dirs: string[]; image?: string; scene?: SceneFrame; options: WriteGoldenFrameOptions } {
  let values: Record<string, string | boolean | undefined>;
  let positionals: string[];
  try {
    ({ values, positionals } = parseArgs({
      args: argv,
      allowPositionals: true,
      strict: true,
      options: {
        help: { type: 'boolean', short: 'h' },
        scene: { type: 'string' },
        seed: { type: 'string' },
        width: { type: 'string' },
        height: { type: 'string' },
        family: { type: 'string' },
        nuisances: { type: 'string' },
        'mm-per-px': { type: 'string' },
        image: { type: 'string' },
        tolerance: { type: 'string' },
      },
    }));
  } catch (err) {
    throw usage((err as Error).message, err);
  }
  if (values.help) return 'help';
  if (positionals.length === 0) throw usage('give at least one MODEL_DIR (a folder with model.yaml)');
  const str = (k: string): string | undefined => values[k] as string | undefined;
  const tolerance = number('tolerance', str('tolerance'), false);
  if (tolerance !== undefined && !(tolerance > 0)) throw usage('--tolerance must be > 0');
  const options: WriteGoldenFrameOptions = tolerance === undefined ? {} : { tolerance };
  const sceneFlags = ['seed', 'width', 'height', 'family', 'nuisances', 'mm-per-px'].filter((k) => values[k] !== undefined);
  const image = str('image');
  const sceneName = str('scene');
  if (image && sceneName) throw usage('give --scene or --image, not both');
  if (!sceneName && sceneFlags.length > 0) throw usage(`--${sceneFlags[0]} needs --scene`);
  let scene: SceneFrame | undefined;
  if (sceneName) {
    if (!GOLDEN_SCENES.includes(sceneName as GoldenScene)) throw usage(`--scene must be one of ${GOLDEN_SCENES.join(', ')} (got '${sceneName}')`);
    const s = sceneName as GoldenScene;
    const width = number('width', str('width'), true) ?? (s === 'hole-crop' ? 128 : 512);
    const height = number('height', str('height'), true) ?? width;
    if (width <= 0 || height <= 0) throw usage('--width and --height must be > 0');
    const family = str('family');
    if (family !== undefined && !SURFACE_FAMILIES.includes(family as SurfaceFamily))
      throw usage(`--family must be one of ${SURFACE_FAMILIES.join(', ')}`);
    const nuisances = str('nuisances');
    if (nuisances !== undefined && nuisances !== 'basic' && nuisances !== 'extended') throw usage('--nuisances must be basic or extended');
    const mmPerPx = number('mm-per-px', str('mm-per-px'), false);
    if (mmPerPx !== undefined && !(mmPerPx > 0)) throw usage('--mm-per-px must be > 0');
    scene = {
      scene: s,
      seed: number('seed', str('seed'), true) ?? 1,
      width,
      height,
      family: family as SurfaceFamily | undefined,
      nuisances,
      mmPerPx,
    };
  }
  return { dirs: positionals, image, scene, options };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  process.exitCode = await main(process.argv.slice(2));
}
