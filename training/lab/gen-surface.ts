/**
 * Writes the surface segmenter's data as .npy for training/lab/train_segmenter.py:
 *   npx tsx training/lab/gen-surface.ts OUT_DIR
 * Parts are rendered at 512² with extended nuisances and reduced 2:1 exactly as the runtime does for a 256²
 * model input (box mean of 2×2): x_<split>.npy uint16 [N,256,256] holds the 2×2 sums (0..1020, so the runtime's
 * input is (sum/1020 − 0.5)/0.25 bit for bit); m_<split>.npy uint8 [N,128,128] the number of defect pixels
 * (0..16) in each 4×4 block of the 512² mask, i.e. the target at the 128² logit resolution.
 * Held out of training: the cfrp texture family and the crack defect (evaluation only).
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { Prng } from '../../sim/scenes/prng.ts';
import { renderSurface, type SurfaceDefectKind, type SurfaceFamily } from '../../sim/scenes/surface.ts';
import { writeNpy } from './npy.ts';
import { scriptArgs } from '../script-args.ts';

export const SEG_RENDER = 512;
export const SEG_INPUT = 256;
export const SEG_MAP = 128;
export const SEG_TRAIN_FAMILIES: readonly SurfaceFamily[] = ['brushed', 'cast', 'painted'];
export const SEG_TRAIN_DEFECTS: readonly SurfaceDefectKind[] = ['texture', 'scratch', 'dent', 'stain'];
export const SEG_SEEDS = {
  train: { start: 4_000_000, count: 1400 },
  val: { start: 5_000_000, count: 240 },
} as const;
/** Share of defective parts in the generated training data (DRAEM trains on about half simulated anomalies). */
export const SEG_DEFECT_RATE = 0.6;

export interface SegPart {
  seed: number;
  family: SurfaceFamily;
  defect: SurfaceDefectKind | null;
}

/** The part drawn for a seed: family and defect from the seed; texture anomalies twice as often as the others. */
export function segPart(seed: number, families = SEG_TRAIN_FAMILIES, defects = SEG_TRAIN_DEFECTS, rate = SEG_DEFECT_RATE): SegPart {
  const r = new Prng(seed ^ 0x2f6b1a3d);
  const family = r.pick(families);
  const weighted = defects.includes('texture') ? [...defects, 'texture' as const] : [...defects];
  const defect = r.next() < rate ? r.pick(weighted) : null;
  return { seed, family, defect };
}

const img = new Uint8Array(SEG_RENDER * SEG_RENDER);

export function renderSegPart(p: SegPart, x: Uint16Array, m: Uint8Array): void {
  const t = renderSurface({ seed: p.seed, width: SEG_RENDER, height: SEG_RENDER, family: p.family, defect: p.defect, nuisances: 'extended' }, img);
  const R = SEG_RENDER;
  for (let y = 0; y < SEG_INPUT; y++)
    for (let xx = 0; xx < SEG_INPUT; xx++) {
      const i = 2 * y * R + 2 * xx;
      x[y * SEG_INPUT + xx] = img[i]! + img[i + 1]! + img[i + R]! + img[i + R + 1]!;
    }
  m.fill(0);
  if (t.mask) for (let y = 0; y < R; y++) for (let xx = 0; xx < R; xx++) if (t.mask[y * R + xx]) m[(y >> 2) * SEG_MAP + (xx >> 2)]!++;
}

const USAGE = `usage: npx tsx training/lab/gen-surface.ts [OUT_DIR]

Writes the surface segmenter's training data (x_, m_, label_<split>.npy) into OUT_DIR (default
var/training/surface), for training/lab/train_segmenter.py. Exit 0 written, 2 usage error.`;

if (import.meta.url === `file://${process.argv[1]}`) {
  const { positionals } = scriptArgs(process.argv.slice(2), { usage: USAGE, positionals: { max: 1 } });
  const out = positionals[0] ?? 'var/training/surface';
  mkdirSync(out, { recursive: true });
  for (const [split, b] of Object.entries(SEG_SEEDS)) {
    const t0 = performance.now();
    const x = new Uint16Array(b.count * SEG_INPUT * SEG_INPUT);
    const m = new Uint8Array(b.count * SEG_MAP * SEG_MAP);
    const lab = new Uint8Array(b.count);
    for (let i = 0; i < b.count; i++) {
      const p = segPart(b.start + i);
      renderSegPart(
        p,
        x.subarray(i * SEG_INPUT * SEG_INPUT, (i + 1) * SEG_INPUT * SEG_INPUT),
        m.subarray(i * SEG_MAP * SEG_MAP, (i + 1) * SEG_MAP * SEG_MAP),
      );
      lab[i] = p.defect ? 1 : 0;
      if ((i + 1) % 100 === 0) console.log(`${split}: ${i + 1}/${b.count} (${((performance.now() - t0) / 1000).toFixed(0)} s)`);
    }
    writeNpy(join(out, `x_${split}.npy`), x, [b.count, SEG_INPUT, SEG_INPUT]);
    writeNpy(join(out, `m_${split}.npy`), m, [b.count, SEG_MAP, SEG_MAP]);
    writeNpy(join(out, `label_${split}.npy`), lab, [b.count]);
  }
}
