/**
 * Writes generated parts as image files with their ground truth, for `linesight train` / `linesight eval`
 * and for people who want to look at them:
 *
 *   npx tsx training/data/export.ts --kind surface|holes|hole-crops --count N --seed S --out DIR
 *       [--defect-rate r] [--size PX] [--family brushed|cast|painted|cfrp] [--defects scratch,dent,...]
 *       [--nuisances basic|extended]
 *
 * Part i uses seed S+i. Layout: DIR/good/<stem>.png, DIR/bad/<stem>.png, each with <stem>.json next to it
 * ({seed, kind, label, defects: [{kind, bboxPx}], params, options, generatorVersion}); DIR/masks/<stem>.png
 * (0/255) for every defective part that has a pixel mask. Whether part i is defective, and which defect it
 * gets, is drawn from its seed (the same rule as the synthetic camera), so an export is reproducible.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import { Prng } from '../../sim/scenes/prng.ts';
import {
  renderSurface,
  SURFACE_DEFECTS_ALL,
  SURFACE_FAMILIES,
  SURFACE_GENERATOR_VERSION,
  type SurfaceDefectKind,
  type SurfaceFamily,
} from '../../sim/scenes/surface.ts';
import { PLATE_DEFECTS, renderDrilledPlate, type PlateDefectKind } from '../../sim/scenes/holes.ts';
import {
  HOLE_CROP_GENERATOR_VERSION,
  HOLE_DEFECTS,
  holeCropMaterialForSeed,
  renderHoleCrop,
  type HoleDefectKind,
} from '../../sim/scenes/hole-defects.ts';
import { intArg, numberArg, scriptArgs, scriptUsageError } from '../script-args.ts';

export type ExportKind = 'surface' | 'holes' | 'hole-crops';

export interface ExportOptions {
  kind: ExportKind;
  count: number;
  seed: number;
  out: string;
  defectRate: number;
  size?: number;
  family?: SurfaceFamily;
  /** Defect kinds to draw from (default: all the generator has). */
  defects?: readonly string[];
  nuisances?: 'basic' | 'extended';
}

export interface ExportedPart {
  stem: string;
  file: string;
  mask: string | null;
  defective: boolean;
}

export async function writePng(file: string, data: Uint8Array, width: number, height: number): Promise<void> {
  await sharp(data.subarray(0, width * height), { raw: { width, height, channels: 1 } })
    .png({ compressionLevel: 6 })
    .toFile(file);
}

export async function exportParts(o: ExportOptions, onPart?: (i: number) => void): Promise<ExportedPart[]> {
  for (const d of ['good', 'bad', 'masks']) mkdirSync(join(o.out, d), { recursive: true });
  const size = o.size ?? (o.kind === 'hole-crops' ? 128 : 512);
  const buf = new Uint8Array(size * size);
  const parts: ExportedPart[] = [];
  for (let i = 0; i < o.count; i++) {
    const seed = o.seed + i;
    const pick = new Prng(seed ^ 0x5eed);
    const defective = pick.next() < o.defectRate;
    const stem = `${o.kind}-${seed}`;
    let truth: { defects: unknown; params: Record<string, unknown>; mask?: Uint8Array };
    let version: number;
    let options: Record<string, unknown>;
    if (o.kind === 'surface') {
      const kinds = (o.defects ?? SURFACE_DEFECTS_ALL) as readonly SurfaceDefectKind[];
      const defect = defective ? kinds[Math.floor(pick.next() * kinds.length)]! : null;
      options = { seed, width: size, height: size, family: o.family, defect, nuisances: o.nuisances ?? 'basic' };
      truth = renderSurface(options as unknown as Parameters<typeof renderSurface>[0], buf);
      version = SURFACE_GENERATOR_VERSION;
    } else if (o.kind === 'holes') {
      const kinds = (o.defects ?? PLATE_DEFECTS) as readonly PlateDefectKind[];
      const defect = defective ? kinds[Math.floor(pick.next() * kinds.length)]! : null;
      // the default hole pattern spans a 25.6 mm field: keep it in view at any size
      options = { seed, width: size, height: size, mmPerPx: 25.6 / size, defect };
      truth = renderDrilledPlate(options as unknown as Parameters<typeof renderDrilledPlate>[0], buf);
      version = 1;
    } else {
      // as the generator's own default: burr only on metal, delamination only on CFRP
      const material = holeCropMaterialForSeed(seed);
      const kinds = ((o.defects ?? HOLE_DEFECTS) as readonly HoleDefectKind[]).filter((k) => k !== (material === 'cfrp' ? 'burr' : 'delamination'));
      const defects = defective && kinds.length ? [kinds[Math.floor(pick.next() * kinds.length)]!] : [];
      options = { seed, size, defects, material };
      const t = renderHoleCrop({ seed, size, defects, material }, buf);
      truth = { defects: t.defects.map((kind) => ({ kind })), params: { ...t.params, fd: t.fd, centrePx: t.centrePx } };
      version = HOLE_CROP_GENERATOR_VERSION;
    }
    const sub = defective ? 'bad' : 'good';
    const file = join(o.out, sub, `${stem}.png`);
    await writePng(file, buf, size, size);
    let maskFile: string | null = null;
    if (defective && truth.mask) {
      maskFile = join(o.out, 'masks', `${stem}.png`);
      await writePng(
        maskFile,
        truth.mask.map((v) => (v ? 255 : 0)),
        size,
        size,
      );
    }
    const meta = {
      seed,
      kind: o.kind,
      label: defective ? 'defective' : 'good',
      defects: truth.defects,
      params: truth.params,
      options,
      generatorVersion: version,
    };
    writeFileSync(join(o.out, sub, `${stem}.json`), `${JSON.stringify(meta)}\n`);
    parts.push({ stem, file, mask: maskFile, defective });
    onPart?.(i);
  }
  return parts;
}

const USAGE = `usage: npx tsx training/data/export.ts --kind surface|holes|hole-crops --count N --out DIR [--seed S]
         [--defect-rate R] [--size PX] [--family ${SURFACE_FAMILIES.join('|')}] [--defects a,b,...] [--nuisances basic|extended]

Writes N generated parts (part i uses seed S+i, default S = 1) as PNG files with their ground truth under DIR:
DIR/good/, DIR/bad/ (STEM.png + STEM.json) and DIR/masks/ for defective parts with a pixel mask.
--defect-rate: share of defective parts, 0 to 1 (default 0.5); --size: frame side in pixels (default 512,
128 for hole-crops). Exit 0 written, 2 usage error.`;

if (import.meta.url === `file://${process.argv[1]}`) {
  const { values } = scriptArgs(process.argv.slice(2), {
    usage: USAGE,
    options: {
      kind: { type: 'string' },
      count: { type: 'string' },
      seed: { type: 'string' },
      out: { type: 'string' },
      'defect-rate': { type: 'string' },
      size: { type: 'string' },
      family: { type: 'string' },
      defects: { type: 'string' },
      nuisances: { type: 'string' },
    },
  });
  const kind = values.kind as ExportKind;
  if (!['surface', 'holes', 'hole-crops'].includes(kind))
    scriptUsageError(`--kind must be surface, holes or hole-crops (got '${values.kind ?? ''}')`);
  if (!values.out) scriptUsageError('--out DIR is required');
  if (values.count === undefined) scriptUsageError('--count N is required');
  if (values.family && !SURFACE_FAMILIES.includes(values.family as SurfaceFamily)) scriptUsageError(`unknown --family '${values.family}'`);
  if (values.nuisances !== undefined && values.nuisances !== 'basic' && values.nuisances !== 'extended')
    scriptUsageError('--nuisances must be basic or extended');
  const count = intArg('--count', values.count, 1, 1_000_000, 0);
  const seed = intArg('--seed', values.seed, 0, 2 ** 31, 1);
  const defectRate = numberArg('--defect-rate', values['defect-rate'], 0, 1, 0.5);
  const size = values.size === undefined ? undefined : intArg('--size', values.size, 16, 8192, 0);
  const t0 = performance.now();
  const parts = await exportParts(
    {
      kind,
      count,
      seed,
      out: values.out,
      defectRate,
      size,
      family: values.family as SurfaceFamily | undefined,
      defects: values.defects ? values.defects.split(',') : undefined,
      nuisances: values.nuisances,
    },
    (i) => {
      if ((i + 1) % 10 === 0 || i + 1 === count) process.stderr.write(`\r${i + 1}/${count} parts`);
    },
  );
  const bad = parts.filter((p) => p.defective).length;
  process.stderr.write(
    `\nwrote ${parts.length - bad} good + ${bad} defective parts to ${values.out} in ${((performance.now() - t0) / 1000).toFixed(1)} s\n`,
  );
}
