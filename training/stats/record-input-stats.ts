/**
 * Records model.yaml `inputStats` (the runtime's in-distribution check, runtime/inference/input-stats.ts) for
 * the shipped models, from the very parts each was trained on, rendered at the stations' 512² frame size and
 * preprocessed by the runtime's own Preprocessor:
 *
 *   npx tsx training/stats/record-input-stats.ts [MODEL...]      (default: every model below)
 *
 * Only the `inputStats` key of model.yaml changes; the ONNX file, its sha256 and the golden files stay as they
 * are. `linesight train anomaly` records the same statistics from the engineer's good images
 * (training/edge/padim.ts). Deterministic: the same seeds give the same numbers.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse as parseYaml, parseDocument, stringify } from 'yaml';
import { FrameSlot } from '../../runtime/frame/frame-slot.ts';
import { ModelManifestSchema } from '../../runtime/inference/model-manifest.ts';
import { Preprocessor, preprocessSpecOf } from '../../runtime/inference/preprocess.ts';
import {
  measureInputFeatures,
  summariseInputFeatures,
  type InputFeatures,
  type InputStats,
  emptyInputFeatures,
} from '../../runtime/inference/input-stats.ts';
import { renderSurface } from '../../sim/scenes/surface.ts';
import { renderDrilledPlate } from '../../sim/scenes/holes.ts';
import { SEEDS as SURFACE_SEEDS, surfacePart } from '../demo/surface-anomaly/build.ts';
import { SEEDS as PLATE_SEEDS, platePart } from '../demo/drilling-defects/build.ts';
import { SEG_SEEDS, segPart } from '../lab/gen-surface.ts';

const FRAME = 512;

/** Per model: its training frames, rendered into the slot one by one. */
const TRAINING_FRAMES: Record<string, { count: number; render: (i: number, into: Uint8Array) => void; what: string }> = {
  'surface-anomaly': {
    count: SURFACE_SEEDS.trainGood.count,
    what: `the ${SURFACE_SEEDS.trainGood.count} good training parts (seeds ${SURFACE_SEEDS.trainGood.start}…)`,
    render: (i, into) => {
      const p = surfacePart(SURFACE_SEEDS.trainGood.start, i, false);
      renderSurface({ seed: p.seed, width: FRAME, height: FRAME, family: p.family, defect: p.defect }, into);
    },
  },
  'drilling-defects': {
    count: PLATE_SEEDS.train.count,
    what: `the ${PLATE_SEEDS.train.count} training plates (seeds ${PLATE_SEEDS.train.start}…, good and defective)`,
    render: (i, into) => {
      const p = platePart(PLATE_SEEDS.train.start, i);
      renderDrilledPlate({ seed: p.seed, width: FRAME, height: FRAME, defect: p.defect }, into);
    },
  },
  'surface-segmenter': {
    count: 200,
    what: `the first 200 training parts (seeds ${SEG_SEEDS.train.start}…)`,
    render: (i, into) => {
      const p = segPart(SEG_SEEDS.train.start + i);
      renderSurface({ seed: p.seed, width: FRAME, height: FRAME, family: p.family, defect: p.defect, nuisances: 'extended' }, into);
    },
  },
};

const HELP = `npx tsx training/stats/record-input-stats.ts [MODEL...]

Writes model.yaml inputStats for the shipped models (${Object.keys(TRAINING_FRAMES).join(', ')}) from their training parts.`;

export function measureTrainingInputs(manifestPath: string, model: string): InputStats {
  const frames = TRAINING_FRAMES[model];
  if (frames === undefined) throw new RangeError(`no training frames known for model '${model}'`);
  const manifest = ModelManifestSchema.parse(parseDocument(readFileSync(manifestPath, 'utf8')).toJS());
  const spec = preprocessSpecOf(manifest.input);
  const pre = new Preprocessor(spec, null);
  const slot = new FrameSlot(0, FRAME * FRAME);
  slot.width = FRAME;
  slot.height = FRAME;
  const input = new Float32Array(spec.width * spec.height * spec.channels);
  const samples: InputFeatures[] = [];
  for (let i = 0; i < frames.count; i++) {
    frames.render(i, slot.data);
    pre.run(slot, input);
    samples.push(measureInputFeatures(input, spec, emptyInputFeatures()));
  }
  return summariseInputFeatures(samples);
}

/** Sets `inputStats` in the model.yaml text, leaving every other key and its order as it was. */
export function withInputStats(yamlText: string, stats: InputStats): string {
  // parse + stringify, as the golden writer (training/golden/write-golden-frame.ts) does: both give the same text
  const doc = parseYaml(yamlText) as Record<string, unknown>;
  const text = stringify({ ...doc, inputStats: stats });
  ModelManifestSchema.parse(parseDocument(text).toJS());
  return text;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const args = process.argv.slice(2);
  if (args.includes('--help') || args.includes('-h')) {
    console.log(HELP);
    process.exit(0);
  }
  const unknown = args.filter((a) => !(a in TRAINING_FRAMES));
  if (unknown.length > 0) {
    console.error(`unknown model(s) ${unknown.join(', ')}\n\n${HELP}`);
    process.exit(2);
  }
  const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'models');
  for (const model of args.length > 0 ? args : Object.keys(TRAINING_FRAMES)) {
    const file = join(root, model, 'model.yaml');
    const stats = measureTrainingInputs(file, model);
    writeFileSync(file, withInputStats(readFileSync(file, 'utf8'), stats));
    console.log(`${model}: inputStats from ${TRAINING_FRAMES[model]!.what}: ${JSON.stringify(stats.features)}`);
  }
}
