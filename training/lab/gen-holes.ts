/**
 * Writes the hole-defect classifier's data as .npy for training/lab/train_holes.py:
 *   npx tsx training/lab/gen-holes.ts OUT_DIR
 * x_<split>.npy uint8 [N,128,128], y_<split>.npy uint8 [N,5] (HOLE_DEFECTS order), seeds_<split>.npy float32 [N].
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { HOLE_DEFECTS, renderHoleCrop } from '../../sim/scenes/hole-defects.ts';
import { writeNpy } from './npy.ts';
import { scriptArgs } from '../script-args.ts';

export const HOLE_SIZE = 128;
export const HOLE_SEEDS = {
  train: { start: 1_000_000, count: 3000 },
  val: { start: 2_000_000, count: 400 },
  test: { start: 3_000_000, count: 600 },
} as const;

export function holeBlock(start: number, count: number): { x: Uint8Array; y: Uint8Array; seeds: Float32Array } {
  const N = HOLE_SIZE;
  const x = new Uint8Array(count * N * N);
  const y = new Uint8Array(count * HOLE_DEFECTS.length);
  const seeds = new Float32Array(count);
  for (let i = 0; i < count; i++) {
    const t = renderHoleCrop({ seed: start + i, size: N }, x.subarray(i * N * N, (i + 1) * N * N));
    for (const d of t.defects) y[i * HOLE_DEFECTS.length + HOLE_DEFECTS.indexOf(d)] = 1;
    seeds[i] = start + i;
  }
  return { x, y, seeds };
}

const USAGE = `usage: npx tsx training/lab/gen-holes.ts [OUT_DIR]

Writes the hole-defect classifier's training data (x_, y_, seeds_<split>.npy for train, val, test) into OUT_DIR
(default var/training/holes), for training/lab/train_holes.py. Exit 0 written, 2 usage error.`;

if (import.meta.url === `file://${process.argv[1]}`) {
  const { positionals } = scriptArgs(process.argv.slice(2), { usage: USAGE, positionals: { max: 1 } });
  const out = positionals[0] ?? 'var/training/holes';
  mkdirSync(out, { recursive: true });
  for (const [split, b] of Object.entries(HOLE_SEEDS)) {
    const t0 = performance.now();
    const { x, y, seeds } = holeBlock(b.start, b.count);
    writeNpy(join(out, `x_${split}.npy`), x, [b.count, HOLE_SIZE, HOLE_SIZE]);
    writeNpy(join(out, `y_${split}.npy`), y, [b.count, HOLE_DEFECTS.length]);
    writeNpy(join(out, `seeds_${split}.npy`), seeds, [b.count]);
    console.log(`${split}: ${b.count} crops in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  }
}
