/**
 * `linesight measure holes IMAGE... --mm-per-px S [--calibration FILE] [--nominal-mm D] [--fit H8] --json`:
 * finds every hole in each image and measures it in mm (edge points undistorted/scaled before fitting), without
 * a line YAML. One JSON object per image: {file, width, height, scale, holes: [{center_px, center_mm,
 * diameter_mm, roundness_mm, ovality, residual_px, points, …}]}.
 */
import path from 'node:path';
import { PixelToMm, readCalibration } from '../../runtime/metrology/calibration.ts';
import { isLinesightError } from '../../runtime/errors.ts';
import { decodeImageFile } from '../../runtime/frame/decode-image.ts';
import { checkSize, explicitLimits, holeLimits, ISO286_CLASS, type SizeLimits } from '../../runtime/metrology/iso286.ts';
import { HoleLocator } from '../../runtime/metrology/locate.ts';
import { HoleMeasurement, HoleMeasurer } from '../../runtime/metrology/measure-hole.ts';
import { parseCommandArgs, usageError } from '../args.ts';
import { EXIT } from '../exit-codes.ts';
import { numberOption, optionalNumberOption, POSITIVE } from '../option-values.ts';

export const HELP = `linesight measure holes IMAGE... --mm-per-px S [--calibration FILE] [--nominal-mm D]
                       [--fit CLASS | --tol-mm T] [--polarity dark|bright] [--countersink-deg A] [--upr N] [--json]

Finds every hole in each image and measures it: centre, diameter, roundness (peak-to-valley from the
least-squares circle, ISO 12181-2 Gaussian filter at --upr undulations/rev, default 15; 0 = unfiltered),
ovality and tilt (ellipse fit), fit residual, countersink (with --countersink-deg) and delamination factor
Fd = Dmax / Dnom. Millimetres come from --calibration (a calibration/*.yaml: telecentric affine, or pinhole
with a part-plane homography) or from --mm-per-px (after undistortion when the calibration is intrinsics only).
--nominal-mm sets Dnom, the expected size range, and adds deviation_mm; --fit (ISO 286, e.g. H8) or --tol-mm
(±T) adds a per-hole size verdict. Pixel centres use OpenCV's convention (pixel (i, j) centred at (i, j));
mm from a plain scale are measured from the image's top-left corner.

Exit: 0 all measured (and in tolerance), 4 a hole out of tolerance, 5 an unreadable image, 6 an image without
any hole (its JSON has "holes": [] and a "message"), 2 usage.`;

export async function measureCommand(argv: string[]): Promise<number> {
  const [sub, ...rest] = argv;
  if (sub === undefined) {
    process.stdout.write(`${HELP}\n`);
    return EXIT.USAGE;
  }
  if (sub !== 'holes') throw usageError(`measure: unknown subject '${sub}' (measure holes IMAGE...)`);
  const { values, positionals } = parseCommandArgs(
    rest,
    {
      'mm-per-px': { type: 'string' },
      calibration: { type: 'string' },
      'nominal-mm': { type: 'string' },
      fit: { type: 'string' },
      'tol-mm': { type: 'string' },
      polarity: { type: 'string' },
      'countersink-deg': { type: 'string' },
      upr: { type: 'string' },
      json: { type: 'boolean' },
    },
    true,
  );
  if (positionals.length === 0) throw usageError('measure holes needs at least one IMAGE');
  const scale = optionalNumberOption('--mm-per-px', values['mm-per-px'], POSITIVE);
  const nominal = optionalNumberOption('--nominal-mm', values['nominal-mm'], POSITIVE);
  const csDeg = optionalNumberOption('--countersink-deg', values['countersink-deg'], { above: 0, max: 179 });
  const upr = numberOption('--upr', values.upr, { integer: true, min: 0, max: 10_000 }, 15);
  const tol = optionalNumberOption('--tol-mm', values['tol-mm'], POSITIVE);
  const polarity = values.polarity ?? 'dark';
  if (polarity !== 'dark' && polarity !== 'bright') throw usageError('--polarity is dark or bright');
  let limits: SizeLimits | null = null;
  if (values.fit !== undefined || tol !== null) {
    if (nominal === null) throw usageError('--fit/--tol-mm need --nominal-mm');
    if (values.fit !== undefined) {
      if (!ISO286_CLASS.test(values.fit)) throw usageError(`--fit '${values.fit}': an ISO 286 hole class such as H7, H8, H9, G7, F8, JS9`);
      limits = holeLimits(nominal, values.fit);
    } else if (tol !== null) limits = explicitLimits(-tol, tol);
  }
  const cal = values.calibration ? readCalibration(values.calibration) : null;
  const mapper = new PixelToMm(cal, scale);
  const measurer = new HoleMeasurer(mapper, { polarity, countersinkDeg: csDeg, nominalMm: nominal, roundnessUpr: upr });
  const locator = new HoleLocator();
  const out = new HoleMeasurement();
  let code: number = EXIT.OK;
  for (const file of positionals) {
    const r = await measureFile(file);
    process.stdout.write(values.json ? `${JSON.stringify(r)}\n` : `${human(r)}\n`);
  }
  return code;

  async function measureFile(file: string): Promise<Record<string, unknown>> {
    let image;
    try {
      image = await decodeImageFile(file, 'Mono8');
    } catch (err) {
      if (!isLinesightError(err)) throw err;
      code = EXIT.UNREADABLE;
      return { file, error: { code: err.code, message: err.message } };
    }
    const { width: W, height: H, data } = image;
    const minD = nominal !== null ? (0.5 * nominal) / mapper.mmPerPx : 8;
    const maxD = nominal !== null ? (1.6 * nominal) / mapper.mmPerPx : Math.min(W, H) / 1.5;
    const t0 = performance.now();
    const n = locator.locate(data, W, H, {
      polarity: polarity as 'dark' | 'bright',
      step: minD >= 16 ? 2 : 1,
      minDiameterPx: minD,
      maxDiameterPx: maxD,
    });
    const holes: Record<string, unknown>[] = [];
    const failures: string[] = [];
    for (let i = 0; i < n; i++) {
      const c = locator.candidates[i]!;
      if (!measurer.measure(data, W, H, c.cx, c.cy, c.r, out)) {
        failures.push(`candidate at (${c.cx.toFixed(1)}, ${c.cy.toFixed(1)}) px: ${out.failure}`);
        continue;
      }
      const h = holeJson(out);
      if (nominal !== null) h.deviation_mm = r6(out.diameterMm - nominal);
      if (limits !== null && nominal !== null) {
        const v = checkSize(nominal, limits, out.diameterMm);
        h.size = v === 'ok' ? 'OK' : v === 'high' ? 'HIGH' : 'LOW';
        h.limits_mm = [r6(nominal + limits.lowerMm), r6(nominal + limits.upperMm)];
        if (v !== 'ok' && code === EXIT.OK) code = EXIT.NOK;
      }
      holes.push(h);
    }
    // Reading order: rows (centres within half a diameter in y), then left to right.
    holes.sort((a, b) => {
      const pa = a.center_px as number[],
        pb = b.center_px as number[];
      const dy = pa[1]! - pb[1]!;
      return Math.abs(dy) > (a.diameter_px as number) / 2 ? dy : pa[0]! - pb[0]!;
    });
    const ms = performance.now() - t0;
    const res: Record<string, unknown> = {
      file,
      width: W,
      height: H,
      scale: mapper.description,
      mm_per_px: r6(mapper.mmPerPx),
      count: holes.length,
      holes,
      ms: Math.round(ms * 1000) / 1000,
    };
    if (limits) res.tolerance = { nominal_mm: nominal, class: limits.label, lower_mm: limits.lowerMm, upper_mm: limits.upperMm };
    if (holes.length === 0) {
      res.message =
        n === 0
          ? `no hole found (no ${polarity} disc of ${minD.toFixed(0)}–${maxD.toFixed(0)} px across; threshold ${locator.threshold})`
          : `no hole could be measured: ${failures.join('; ')}`;
      if (code !== EXIT.UNREADABLE) code = EXIT.NOTHING_FOUND;
    } else if (failures.length > 0) res.skipped = failures;
    return res;
  }
}

export function holeJson(m: HoleMeasurement): Record<string, unknown> {
  const h: Record<string, unknown> = {
    center_px: [r4(m.centerPx[0]!), r4(m.centerPx[1]!)],
    center_mm: [r6(m.centerMm[0]!), r6(m.centerMm[1]!)],
    diameter_mm: r6(m.diameterMm),
    roundness_mm: r6(m.roundnessMm),
    ovality: r6(m.ovality),
    residual_px: r4(m.residualPx),
    points: m.points,
    diameter_px: r4(m.diameterPx),
    roundness_raw_mm: r6(m.roundnessRawMm),
    major_mm: r6(m.majorMm),
    minor_mm: r6(m.minorMm),
    axis_deg: r4(m.angleDeg),
    tilt_deg: r4(m.tiltDeg),
    rays: m.rays,
    outliers: m.outliers,
  };
  if (!Number.isNaN(m.countersinkMm)) {
    h.countersink_mm = r6(m.countersinkMm);
    h.countersink_depth_mm = r6(m.countersinkDepthMm);
  }
  if (!Number.isNaN(m.fd)) {
    h.fd = r6(m.fd);
    h.damage_diameter_mm = r6(m.damageDiameterMm);
  }
  return h;
}

function human(r: Record<string, unknown>): string {
  if (r.error) return `${r.file as string}: unreadable (${(r.error as { message: string }).message})`;
  const holes = r.holes as Record<string, unknown>[];
  if (holes.length === 0) return `${r.file as string}: ${r.message as string}`;
  const lines = holes.map(
    (h, i) =>
      `  #${i + 1} centre (${(h.center_mm as number[]).map((v) => v.toFixed(4)).join(', ')}) mm  Ø${(h.diameter_mm as number).toFixed(4)} mm` +
      `  roundness ${((h.roundness_mm as number) * 1000).toFixed(1)} µm  ovality ${(h.ovality as number).toFixed(4)}  residual ${h.residual_px as number} px${h.size ? `  ${h.size as string}` : ''}${h.fd !== undefined ? `  Fd ${(h.fd as number).toFixed(3)}` : ''}`,
  );
  return `${path.basename(String(r.file))}: ${holes.length} hole(s), ${r.scale as string}\n${lines.join('\n')}`;
}

function r4(v: number): number {
  return Math.round(v * 1e4) / 1e4;
}

function r6(v: number): number {
  return Math.round(v * 1e6) / 1e6;
}
