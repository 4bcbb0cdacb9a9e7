/**
 * Writes the fixed evaluation sets as image folders in the export layout (good/, bad/, masks/), so the
 * numbers in the model cards and reports can be reproduced with `linesight eval`:
 *
 *   npx tsx training/eval/sets.ts OUT_DIR
 *
 * seg-held-out-seeds, seg-held-out-family (cfrp), seg-unseen-defect (crack): the surface segmenter's blocks
 * (training/lab/package.ts SEG_EVAL), 512² with extended nuisances.
 * edge-<family>-train (50 good) and edge-<family>-test (80, half defective, all five defect kinds), basic and
 * extended nuisances: the edge-training evaluation.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  renderSurface,
  SURFACE_DEFECTS_ALL,
  SURFACE_FAMILIES,
  SURFACE_GENERATOR_VERSION,
  type SurfaceDefectKind,
  type SurfaceFamily,
} from '../../sim/scenes/surface.ts';
import { writePng } from '../data/export.ts';
import { Prng } from '../../sim/scenes/prng.ts';
import { SEG_EVAL, segParts } from '../lab/package.ts';
import { scriptArgs, scriptUsageError } from '../script-args.ts';

const S = 512;
const buf = new Uint8Array(S * S);

async function writeSet(
  dir: string,
  parts: readonly { seed: number; family: SurfaceFamily; defect: SurfaceDefectKind | null }[],
  nuisances: 'basic' | 'extended',
): Promise<void> {
  for (const d of ['good', 'bad', 'masks']) mkdirSync(join(dir, d), { recursive: true });
  for (const p of parts) {
    const t = renderSurface({ seed: p.seed, width: S, height: S, family: p.family, defect: p.defect, nuisances }, buf);
    const sub = p.defect ? 'bad' : 'good';
    const stem = `surface-${p.seed}`;
    await writePng(join(dir, sub, `${stem}.png`), buf, S, S);
    if (t.mask)
      await writePng(
        join(dir, 'masks', `${stem}.png`),
        t.mask.map((v) => (v ? 255 : 0)),
        S,
        S,
      );
    const meta = {
      seed: p.seed,
      kind: 'surface',
      label: p.defect ? 'defective' : 'good',
      defects: t.defects,
      params: t.params,
      options: { ...p, nuisances },
      generatorVersion: SURFACE_GENERATOR_VERSION,
    };
    writeFileSync(join(dir, sub, `${stem}.json`), `${JSON.stringify(meta)}\n`);
  }
}

export function edgeParts(
  family: SurfaceFamily,
  start: number,
  count: number,
  defectRate: number,
): { seed: number; family: SurfaceFamily; defect: SurfaceDefectKind | null }[] {
  return Array.from({ length: count }, (_, i) => {
    const r = new Prng((start + i) ^ 0x5eed);
    const defect = r.next() < defectRate ? SURFACE_DEFECTS_ALL[Math.floor(r.next() * SURFACE_DEFECTS_ALL.length)]! : null;
    return { seed: start + i, family, defect };
  });
}

const USAGE = `usage: npx tsx training/eval/sets.ts [OUT_DIR [seg|edge]]

Writes the fixed evaluation sets as image folders (good/, bad/, masks/) under OUT_DIR (default var/eval-sets):
the surface segmenter's held-out blocks (seg) and the edge-training sets (edge); both unless one is named.
Exit 0 written, 2 usage error.`;

if (import.meta.url === `file://${process.argv[1]}`) {
  const { positionals } = scriptArgs(process.argv.slice(2), { usage: USAGE, positionals: { max: 2 } });
  const out = positionals[0] ?? 'var/eval-sets';
  const only = positionals[1];
  if (only !== undefined && only !== 'seg' && only !== 'edge') scriptUsageError(`unknown set '${only}' (seg or edge)`);
  if (!only || only === 'seg') {
    await writeSet(join(out, 'seg-held-out-seeds'), segParts(SEG_EVAL.heldOutSeeds), 'extended');
    await writeSet(join(out, 'seg-held-out-family'), segParts(SEG_EVAL.heldOutFamily), 'extended');
    await writeSet(join(out, 'seg-unseen-defect'), segParts(SEG_EVAL.unseenDefect), 'extended');
  }
  if (!only || only === 'edge') {
    for (const [k, family] of SURFACE_FAMILIES.entries()) {
      for (const nz of ['basic', 'extended'] as const) {
        await writeSet(join(out, `edge-${family}-${nz}-train`), edgeParts(family, 7_000_000 + k * 10_000, 50, 0), nz);
        await writeSet(join(out, `edge-${family}-${nz}-test`), edgeParts(family, 7_100_000 + k * 10_000, 80, 0.5), nz);
      }
    }
  }
  console.log(`wrote evaluation sets under ${out}`);
}
