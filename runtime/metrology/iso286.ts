/**
 * ISO 286-1:2010 limits for holes: standard tolerance grades IT5–IT13 and the fundamental deviations of the
 * hole positions E, F, G, H and JS, for nominal sizes up to 500 mm (table 1 and tables of ISO 286-2).
 * A hole class such as H8 gives lower deviation EI = 0 and upper ES = EI + IT8; JS is symmetric ±IT/2.
 * Values in µm. Size ranges are "above … up to and including …".
 */
import { LinesightError } from '../errors.ts';

const RANGE_UPPER_MM = [3, 6, 10, 18, 30, 50, 80, 120, 180, 250, 315, 400, 500] as const;

const IT_UM: Readonly<Record<number, readonly number[]>> = {
  5: [4, 5, 6, 8, 9, 11, 13, 15, 18, 20, 23, 25, 27],
  6: [6, 8, 9, 11, 13, 16, 19, 22, 25, 29, 32, 36, 40],
  7: [10, 12, 15, 18, 21, 25, 30, 35, 40, 46, 52, 57, 63],
  8: [14, 18, 22, 27, 33, 39, 46, 54, 63, 72, 81, 89, 97],
  9: [25, 30, 36, 43, 52, 62, 74, 87, 100, 115, 130, 140, 155],
  10: [40, 48, 58, 70, 84, 100, 120, 140, 160, 185, 210, 230, 250],
  11: [60, 75, 90, 110, 130, 160, 190, 220, 250, 290, 320, 360, 400],
  12: [100, 120, 150, 180, 210, 250, 300, 350, 400, 460, 520, 570, 630],
  13: [140, 180, 220, 270, 330, 390, 460, 540, 630, 720, 810, 890, 970],
};

/** Lower deviation EI (µm) of hole positions above the zero line. */
const EI_UM: Readonly<Record<string, readonly number[]>> = {
  E: [14, 20, 25, 32, 40, 50, 60, 72, 85, 100, 110, 125, 135],
  F: [6, 10, 13, 16, 20, 25, 30, 36, 43, 50, 56, 62, 68],
  G: [2, 4, 5, 6, 7, 9, 10, 12, 14, 15, 17, 18, 20],
  H: [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0],
};

export interface SizeLimits {
  /** Lower and upper limit deviations from nominal, mm. */
  readonly lowerMm: number;
  readonly upperMm: number;
  /** Standard tolerance (upper − lower), µm. */
  readonly toleranceUm: number;
  /** e.g. "H8", or "±0.05" for an explicit tolerance. */
  readonly label: string;
}

export const ISO286_CLASS = /^(E|F|G|H|JS)([5-9]|1[0-3])$/;

function rangeIndex(nominalMm: number): number {
  if (!(nominalMm > 0) || nominalMm > 500) {
    throw new LinesightError('LS_ERR_METROLOGY_SPEC', `ISO 286 tables cover nominal sizes above 0 up to 500 mm, not ${nominalMm}`, { nominalMm });
  }
  let i = 0;
  while (nominalMm > RANGE_UPPER_MM[i]!) i++;
  return i;
}

/** Standard tolerance ITn in µm for a nominal size. */
export function itGradeUm(nominalMm: number, grade: number): number {
  const row = IT_UM[grade];
  if (!row) throw new LinesightError('LS_ERR_METROLOGY_SPEC', `IT${grade} is not tabulated (IT5–IT13)`, { grade });
  return row[rangeIndex(nominalMm)]!;
}

/** Limits of an ISO 286 hole class (E/F/G/H/JS, grades 5–13) at a nominal diameter. */
export function holeLimits(nominalMm: number, cls: string): SizeLimits {
  const m = ISO286_CLASS.exec(cls);
  if (!m)
    throw new LinesightError('LS_ERR_METROLOGY_SPEC', `'${cls}' is not a supported ISO 286 hole class (E, F, G, H, JS with grade 5–13, e.g. H8)`, {
      cls,
    });
  const it = itGradeUm(nominalMm, Number(m[2]));
  if (m[1] === 'JS') return { lowerMm: -it / 2000, upperMm: it / 2000, toleranceUm: it, label: cls };
  const ei = EI_UM[m[1]!]![rangeIndex(nominalMm)]!;
  return { lowerMm: ei / 1000, upperMm: (ei + it) / 1000, toleranceUm: it, label: cls };
}

export function explicitLimits(lowerMm: number, upperMm: number): SizeLimits {
  const label = lowerMm === -upperMm ? `±${upperMm}` : `${upperMm >= 0 ? '+' : ''}${upperMm}/${lowerMm >= 0 ? '+' : ''}${lowerMm}`;
  return { lowerMm, upperMm, toleranceUm: Math.round((upperMm - lowerMm) * 1e6) / 1e3, label };
}

/** Where a measured diameter falls: 'ok', 'low' (below the lower limit) or 'high'. */
export function checkSize(nominalMm: number, limits: SizeLimits, measuredMm: number): 'ok' | 'low' | 'high' {
  const dev = measuredMm - nominalMm;
  // Compare in nanometres so limits such as 5.018 are not lost to binary rounding.
  const devNm = Math.round(dev * 1e6);
  if (devNm < Math.round(limits.lowerMm * 1e6)) return 'low';
  if (devNm > Math.round(limits.upperMm * 1e6)) return 'high';
  return 'ok';
}
