/**
 * `linesight eval`: scores a model folder on folders of good and bad images through the runtime's own model
 * path (training/eval/evaluate.ts) and prints image AUROC, pixel AUROC and AUPRO (with --masks), F1 at the
 * model's threshold, the miss rate at 1% false rejects, and (with --json) every image's score.
 */
import { existsSync, statSync } from 'node:fs';
import { LinesightError, reasonOf } from '../../runtime/errors.ts';
import { listImages } from '../../training/edge/padim.ts';
import { evaluateModel } from '../../training/eval/evaluate.ts';
import { parseCommandArgs, usageError } from '../args.ts';
import { EXIT } from '../exit-codes.ts';
import { numberOption, THREADS } from '../option-values.ts';

export const HELP = `linesight eval --model DIR --good DIR --bad DIR [--masks DIR] [--threads N] [--json]

Runs the model in DIR (its model.yaml; sha256 and golden output are checked as at line start) on every image
in --good (label 0) and --bad (label 1). --masks DIR holds 0/255 defect masks named like the bad images
(STEM.png or STEM_mask.png); good images count as all-clear. Prints image_auroc, pixel_auroc, aupro_30
(AUPRO up to 30% FPR, normalised), f1/precision/recall at the model's own threshold, the miss rate when the
threshold is set for 1% false rejects, and with --json one JSON object including
per_image: [{file, score, normalized, label, predicted}] (score = raw image score). A metric that cannot be
computed (e.g. pixel AUROC when no mask matches a bad image) is printed as n/a with the reason (JSON: null, the
reason under "unavailable"). --threads: 1 to 64 (default 1). Exit 0, 2 on a usage error (including a folder
without images), 3 if the model is refused.`;

export async function evalCommand(argv: string[]): Promise<number> {
  const { values } = parseCommandArgs(
    argv,
    {
      model: { type: 'string' },
      good: { type: 'string' },
      bad: { type: 'string' },
      masks: { type: 'string' },
      threads: { type: 'string' },
      json: { type: 'boolean' },
    },
    false,
  );
  if (!values.model || !values.good || !values.bad) throw usageError('eval needs --model DIR, --good DIR and --bad DIR');
  if (!existsSync(values.model)) throw usageError(`--model ${values.model}: no such path`);
  const threads = numberOption('--threads', values.threads, THREADS, 1);
  imageFolder('--good', values.good);
  imageFolder('--bad', values.bad);
  if (values.masks !== undefined) folder('--masks', values.masks);
  const r = await evaluateModel({
    model: values.model,
    good: values.good,
    bad: values.bad,
    masks: values.masks,
    threads,
    onImage: values.json ? undefined : (i, n) => process.stderr.write(`\r${i + 1}/${n} images`),
  });
  if (values.json) {
    process.stdout.write(`${JSON.stringify(r)}\n`);
    return EXIT.OK;
  }
  process.stderr.write('\n');
  const { per_image: _per, unavailable, ...summary } = r;
  for (const [k, v] of Object.entries(summary)) process.stdout.write(`${k.padEnd(32)} ${shown(v, unavailable[k])}\n`);
  return EXIT.OK;
}

/** A metric as printed: a value, or `n/a (why)` for one that could not be computed — never NaN. */
function shown(v: unknown, whyNot: string | undefined): string {
  if (v === null || (typeof v === 'number' && !Number.isFinite(v))) return `n/a (${whyNot ?? 'cannot be computed'})`;
  return typeof v === 'number' || typeof v === 'string' ? String(v) : JSON.stringify(v);
}

function folder(option: string, dir: string): void {
  let st;
  try {
    st = statSync(dir);
  } catch (err) {
    throw new LinesightError('LS_ERR_USAGE', `${option} ${dir} cannot be read: ${reasonOf(err)}`, { [option]: dir }, { cause: err });
  }
  if (!st.isDirectory()) throw usageError(`${option} ${dir} is not a folder`);
}

/** A folder with at least one image: a metric over no image would be NaN. */
function imageFolder(option: string, dir: string): void {
  folder(option, dir);
  if (listImages(dir).length === 0) throw usageError(`no images in ${dir} (${option} needs PNG, JPEG, TIFF or BMP files)`);
}
