/**
 * `linesight eval`: scores a model folder on folders of good and bad images through the runtime's own model
 * path (training/eval/evaluate.ts) and prints image AUROC, pixel AUROC and AUPRO (with --masks), F1 at the
 * model's threshold, the miss rate at 1% false rejects, and (with --json) every image's score.
 */
import { existsSync } from 'node:fs';
import { evaluateModel } from '../../training/eval/evaluate.ts';
import { parseCommandArgs, usageError } from '../args.ts';
import { EXIT } from '../exit-codes.ts';

export const HELP = `linesight eval --model DIR --good DIR --bad DIR [--masks DIR] [--threads N] [--json]

Runs the model in DIR (its model.yaml; sha256 and golden output are checked as at line start) on every image
in --good (label 0) and --bad (label 1). --masks DIR holds 0/255 defect masks named like the bad images
(STEM.png or STEM_mask.png); good images count as all-clear. Prints image_auroc, pixel_auroc, aupro_30
(AUPRO up to 30% FPR, normalised), f1/precision/recall at the model's own threshold, the miss rate when the
threshold is set for 1% false rejects, and with --json one JSON object including
per_image: [{file, score, normalized, label, predicted}] (score = raw image score). Exit 0, 2 on a usage
error, 3 if the model is refused.`;

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
  for (const d of [values.model, values.good, values.bad, values.masks]) if (d && !existsSync(d)) throw usageError(`no such path: ${d}`);
  const r = await evaluateModel({
    model: values.model,
    good: values.good,
    bad: values.bad,
    masks: values.masks,
    threads: values.threads ? Number(values.threads) : 1,
    onImage: values.json ? undefined : (i, n) => process.stderr.write(`\r${i + 1}/${n} images`),
  });
  if (values.json) {
    process.stdout.write(`${JSON.stringify(r)}\n`);
    return EXIT.OK;
  }
  process.stderr.write('\n');
  const { per_image: _per, ...summary } = r;
  for (const [k, v] of Object.entries(summary)) process.stdout.write(`${k.padEnd(32)} ${typeof v === 'object' ? JSON.stringify(v) : v}\n`);
  return EXIT.OK;
}
