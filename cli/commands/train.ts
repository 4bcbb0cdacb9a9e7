/**
 * `linesight train anomaly`: builds a deployable anomaly model folder from good parts on the edge box
 * (training/edge/padim.ts; TypeScript + onnxruntime only, no Python, no GPU). Progress goes to stderr.
 */
import { statSync } from 'node:fs';
import { listImages, trainAnomaly, type TrainMode } from '../../training/edge/padim.ts';
import { parseCommandArgs, usageError } from '../args.ts';
import { EXIT } from '../exit-codes.ts';
import { numberOption, THREADS } from '../option-values.ts';

export const HELP = `linesight train anomaly --good DIR [--bad DIR] --out DIR [--size N] [--mode fixtured|texture|auto]
                         [--name NAME] [--threads N] [--topk K]

Fits a PaDiM-style model (fixed multi-scale filter bank → Gaussian statistics → Mahalanobis anomaly map) from
the good images in --good (PNG/JPEG/TIFF/BMP, ideally 10–100) and writes --out/model.onnx, model.yaml (sha256,
top-k image score, min–max normalisation, threshold), golden-input.f32, golden-output.json and
train-report.json. Every 5th good image is held out to calibrate. Without --bad the threshold is the larger of
the highest held-out good score and mean + 2.576·sd; with --bad it is the F1-optimal threshold.
--mode fixtured: per-location statistics (parts in a fixture); texture: shared statistics with local contrast
normalisation (stationary textures); auto (default) decides from how well the good images align.
--size: model input (default 256, a multiple of 4 from 32 to 2048); --threads 1–64 (default 2); --topk: pixels
averaged into the image score (default 16). Exit 0 on success, 2 on a usage error.`;

export async function trainCommand(argv: string[]): Promise<number> {
  const [what, ...rest] = argv;
  if (what === undefined) {
    process.stdout.write(`${HELP}\n`);
    return EXIT.USAGE;
  }
  if (what !== 'anomaly') throw usageError(`train: unknown model kind '${what}' (only 'anomaly')`);
  const { values } = parseCommandArgs(
    rest,
    {
      good: { type: 'string' },
      bad: { type: 'string' },
      out: { type: 'string' },
      size: { type: 'string' },
      mode: { type: 'string' },
      name: { type: 'string' },
      threads: { type: 'string' },
      topk: { type: 'string' },
    },
    false,
  );
  if (!values.good || !values.out) throw usageError('train anomaly needs --good DIR and --out DIR');
  const size = numberOption('--size', values.size, { integer: true, min: 32, max: 2048 }, 256);
  if (size % 4 !== 0) throw usageError(`--size '${values.size}': must be a multiple of 4`);
  const threads = numberOption('--threads', values.threads, THREADS, 2);
  const topk = numberOption('--topk', values.topk, { integer: true, min: 1, max: 1_000_000 }, 16);
  const mode = (values.mode ?? 'auto') as TrainMode;
  if (!['fixtured', 'texture', 'auto'].includes(mode)) throw usageError('--mode must be fixtured, texture or auto');
  for (const [option, d] of [
    ['--good', values.good],
    ['--bad', values.bad],
  ] as const)
    if (d !== undefined && !isFolder(d)) throw usageError(`${option} ${d}: no such folder`);
  const n = listImages(values.good).length;
  if (n < 4) throw usageError(`--good ${values.good} holds ${n} images (PNG/JPEG/TIFF/BMP); at least 4 are needed, 10–100 recommended`);
  if (values.bad !== undefined && listImages(values.bad).length === 0)
    throw usageError(`no images in ${values.bad} (--bad needs PNG, JPEG, TIFF or BMP files)`);
  const report = await trainAnomaly({
    good: values.good,
    bad: values.bad,
    out: values.out,
    size,
    mode,
    name: values.name,
    threads,
    topk,
    log: (line) => process.stderr.write(`${line}\n`),
  });
  process.stdout.write(
    `${JSON.stringify({ out: values.out, mode: report.mode, sha256: report.sha256, normalization: report.normalization, seconds: report.seconds.total })}\n`,
  );
  return EXIT.OK;
}

function isFolder(dir: string): boolean {
  return statSync(dir, { throwIfNoEntry: false })?.isDirectory() ?? false;
}
