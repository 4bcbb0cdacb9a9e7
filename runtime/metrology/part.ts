/**
 * A part's holes against its specification: locate candidates, match them to the nominal pattern (through
 * the datum), measure each matched hole and judge it. One PartInspector per station, built at boot; its
 * buffers and per-hole result objects are reused frame after frame.
 */
import type { PixelToMm } from './calibration.ts';
import { LinesightError } from '../errors.ts';
import { checkSize, explicitLimits, holeLimits, type SizeLimits } from './iso286.ts';
import { HoleLocator } from './locate.ts';
import { HoleMeasurement, HoleMeasurer } from './measure-hole.ts';
import type { CountersinkSpec, HoleReason, MetrologyConfig } from './spec.ts';

export interface ResolvedHole {
  readonly id: string;
  readonly xMm: number;
  readonly yMm: number;
  readonly diameterMm: number;
  readonly limits: SizeLimits;
  readonly positionTolMm: number | null;
  readonly roundnessMaxMm: number | null;
  readonly fdMax: number | null;
  readonly countersink: CountersinkSpec | null;
}

/** Merges each hole with the defaults and turns its size tolerance into limits (explicit ± or ISO 286). */
export function resolveHoles(cfg: MetrologyConfig): ResolvedHole[] {
  return cfg.holes.map((h) => {
    const pick = <K extends keyof typeof cfg.defaults>(k: K) => (h[k] ?? cfg.defaults[k]) as (typeof cfg.defaults)[K];
    const d = pick('diameterMm');
    const fit = h.fit ?? (h.plusMm !== undefined || h.minusMm !== undefined ? undefined : cfg.defaults.fit);
    const plus = pick('plusMm');
    const minus = pick('minusMm');
    let limits: SizeLimits;
    if (fit) limits = holeLimits(d, fit);
    else if (plus !== undefined && minus !== undefined) limits = explicitLimits(-Math.abs(minus), plus);
    else
      throw new LinesightError('LS_ERR_METROLOGY_SPEC', `hole ${h.id}: give a tolerance, either fit (ISO 286, e.g. H8) or plusMm and minusMm`, {
        hole: h.id,
      });
    return {
      id: h.id,
      xMm: h.xMm,
      yMm: h.yMm,
      diameterMm: d,
      limits,
      positionTolMm: pick('positionTolMm') ?? null,
      roundnessMaxMm: pick('roundnessMaxMm') ?? null,
      fdMax: pick('fdMax') ?? null,
      countersink: pick('countersink') ?? null,
    };
  });
}

export class HoleResult {
  readonly hole: ResolvedHole;
  readonly m = new HoleMeasurement();
  found = false;
  /** Nominal centre in the calibrated frame after the datum (and best fit), mm. */
  readonly nominalMm = new Float64Array(2);
  dxMm = 0;
  dyMm = 0;
  /** Diametral true-position deviation 2·√(dx² + dy²), mm (ISO 1101 / ASME Y14.5 convention). */
  positionMm = 0;
  diameterDevMm = 0;
  readonly reasons: HoleReason[] = [];
  detail = '';
  /** How far from its nominal centre the hole is looked for (the station's searchRadiusMm), mm. */
  readonly searchRadiusMm: number;

  constructor(hole: ResolvedHole, searchRadiusMm: number) {
    this.hole = hole;
    this.searchRadiusMm = searchRadiusMm;
  }

  get ok(): boolean {
    return this.reasons.length === 0;
  }
}

export class PartResult {
  readonly holes: HoleResult[];
  /** Holes found away from every nominal position: [x_px, y_px, d_px] triples. */
  readonly unexpected: number[] = [];
  ok = true;
  measured = 0;

  constructor(holes: HoleResult[]) {
    this.holes = holes;
  }
}

export class PartInspector {
  readonly result: PartResult;
  readonly mapper: PixelToMm;
  private readonly cfg: MetrologyConfig;
  private readonly locator = new HoleLocator();
  private readonly measurers: HoleMeasurer[];
  private readonly candMm: Float64Array;
  private readonly taken: Uint8Array;
  private readonly minDpx: number;
  private readonly maxDpx: number;
  private readonly cosA: number;
  private readonly sinA: number;

  constructor(cfg: MetrologyConfig, mapper: PixelToMm) {
    this.cfg = cfg;
    this.mapper = mapper;
    const holes = resolveHoles(cfg);
    this.result = new PartResult(holes.map((h) => new HoleResult(h, cfg.searchRadiusMm)));
    this.measurers = holes.map(
      (h) =>
        new HoleMeasurer(mapper, {
          polarity: cfg.polarity,
          roundnessUpr: cfg.roundnessUpr,
          countersinkDeg: h.countersink ? h.countersink.angleDeg : null,
          // Look for damage only where Fd is judged, and far enough out to see beyond the limit.
          damageSearch: h.fdMax !== null ? Math.max(1.3, h.fdMax + 0.3) : 0,
          damageContrast: cfg.damageContrast,
          nominalMm: h.diameterMm,
        }),
    );
    this.candMm = new Float64Array(2 * 256);
    this.taken = new Uint8Array(256);
    let dMin = Infinity,
      dMax = 0;
    for (const h of holes) {
      dMin = Math.min(dMin, h.diameterMm);
      dMax = Math.max(dMax, h.countersink ? h.countersink.diameterMm : h.diameterMm);
    }
    this.minDpx = (0.5 * dMin) / mapper.mmPerPx;
    this.maxDpx = (1.6 * dMax) / mapper.mmPerPx;
    const a = (cfg.datum.angleDeg * Math.PI) / 180;
    this.cosA = Math.cos(a);
    this.sinA = Math.sin(a);
  }

  inspect(img: Uint8Array, W: number, H: number): PartResult {
    const cfg = this.cfg;
    const res = this.result;
    const loc = this.locator;
    const n = loc.locate(img, W, H, { polarity: cfg.polarity, step: 2, minDiameterPx: this.minDpx, maxDiameterPx: this.maxDpx });
    for (let i = 0; i < n; i++) {
      this.mapper.map(loc.candidates[i]!.cx, loc.candidates[i]!.cy, this.candMm, 2 * i);
      this.taken[i] = 0;
    }
    const [ox, oy] = cfg.datum.originMm;
    const gate2 = cfg.searchRadiusMm * cfg.searchRadiusMm;
    res.measured = 0;
    for (let h = 0; h < res.holes.length; h++) {
      const r = res.holes[h]!;
      const spec = r.hole;
      r.reasons.length = 0;
      r.detail = '';
      r.nominalMm[0] = ox + this.cosA * spec.xMm - this.sinA * spec.yMm;
      r.nominalMm[1] = oy + this.sinA * spec.xMm + this.cosA * spec.yMm;
      let best = -1,
        bd = gate2;
      for (let i = 0; i < n; i++) {
        const d = (this.candMm[2 * i]! - r.nominalMm[0]) ** 2 + (this.candMm[2 * i + 1]! - r.nominalMm[1]) ** 2;
        if (d <= bd) {
          bd = d;
          best = i;
        }
      }
      r.found = false;
      if (best >= 0) {
        this.taken[best] = 1;
        const c = loc.candidates[best]!;
        r.found = this.measurers[h]!.measure(img, W, H, c.cx, c.cy, c.r, r.m);
        if (r.found) res.measured++;
      }
    }
    if (cfg.datum.type === 'best-fit') this.bestFit();
    res.ok = true;
    for (const r of res.holes) {
      this.judge(r);
      if (!r.ok) res.ok = false;
    }
    res.unexpected.length = 0;
    for (let i = 0; i < n; i++) {
      if (this.taken[i]) continue;
      const c = loc.candidates[i]!;
      res.unexpected.push(c.cx, c.cy, 2 * c.r);
    }
    if (cfg.flagUnexpected && res.unexpected.length > 0) res.ok = false;
    return res;
  }

  /** Rigid 2D least-squares fit (Procrustes, no scale) of the nominal pattern onto the measured centres. */
  private bestFit(): void {
    const holes = this.result.holes;
    let k = 0,
      mx = 0,
      my = 0,
      nx = 0,
      ny = 0;
    for (const r of holes)
      if (r.found) {
        k++;
        mx += r.m.centerMm[0]!;
        my += r.m.centerMm[1]!;
        nx += r.nominalMm[0]!;
        ny += r.nominalMm[1]!;
      }
    if (k < 2) return;
    mx /= k;
    my /= k;
    nx /= k;
    ny /= k;
    let sxx = 0,
      sxy = 0;
    for (const r of holes)
      if (r.found) {
        const ax = r.nominalMm[0]! - nx,
          ay = r.nominalMm[1]! - ny,
          bx = r.m.centerMm[0]! - mx,
          by = r.m.centerMm[1]! - my;
        sxx += ax * bx + ay * by;
        sxy += ax * by - ay * bx;
      }
    const th = Math.atan2(sxy, sxx),
      c = Math.cos(th),
      s = Math.sin(th);
    for (const r of holes) {
      const ax = r.nominalMm[0]! - nx,
        ay = r.nominalMm[1]! - ny;
      r.nominalMm[0] = mx + c * ax - s * ay;
      r.nominalMm[1] = my + s * ax + c * ay;
    }
  }

  private judge(r: HoleResult): void {
    const h = r.hole;
    if (!r.found) {
      r.reasons.push('HOLE_MISSING');
      r.detail = describe(r);
      return;
    }
    const m = r.m;
    r.dxMm = m.centerMm[0]! - r.nominalMm[0]!;
    r.dyMm = m.centerMm[1]! - r.nominalMm[1]!;
    r.positionMm = 2 * Math.hypot(r.dxMm, r.dyMm);
    r.diameterDevMm = m.diameterMm - h.diameterMm;
    const size = checkSize(h.diameterMm, h.limits, m.diameterMm);
    if (size === 'high') r.reasons.push('HOLE_DIAMETER_HIGH');
    else if (size === 'low') r.reasons.push('HOLE_DIAMETER_LOW');
    if (h.positionTolMm !== null && r.positionMm > h.positionTolMm) r.reasons.push('HOLE_POSITION');
    if (h.roundnessMaxMm !== null && m.roundnessMm > h.roundnessMaxMm) r.reasons.push('HOLE_ROUNDNESS');
    if (h.fdMax !== null && m.fd > h.fdMax) r.reasons.push('HOLE_DELAMINATION');
    if (h.countersink) {
      const cs = h.countersink;
      const dev = m.countersinkMm - cs.diameterMm;
      if (!(dev >= -cs.minusMm - 1e-9 && dev <= cs.plusMm + 1e-9)) r.reasons.push('HOLE_COUNTERSINK');
    }
    if (r.reasons.length > 0) r.detail = describe(r);
  }
}

/** Human-readable detail of a failing hole (built only for NOK holes, so off the OK fast path). */
function describe(r: HoleResult): string {
  return `${r.hole.id}: ${r.reasons.map((code) => describeFinding(r, code)).join('; ')}`;
}

/** What one reason code found on one hole, without the hole id (the station groups holes by finding). */
export function describeFinding(r: HoleResult, code: HoleReason): string {
  const h = r.hole,
    m = r.m;
  switch (code) {
    case 'HOLE_MISSING':
      return r.m.failure ? `not measurable (${r.m.failure})` : `no hole within ${r.searchRadiusMm} mm of nominal`;
    case 'HOLE_DIAMETER_HIGH':
    case 'HOLE_DIAMETER_LOW':
      return `Ø${m.diameterMm.toFixed(4)} outside ${h.diameterMm} ${h.limits.label} [${(h.diameterMm + h.limits.lowerMm).toFixed(4)}, ${(h.diameterMm + h.limits.upperMm).toFixed(4)}]`;
    case 'HOLE_POSITION':
      return `position Ø${r.positionMm.toFixed(4)} > ${h.positionTolMm}`;
    case 'HOLE_ROUNDNESS':
      return `roundness ${m.roundnessMm.toFixed(4)} > ${h.roundnessMaxMm}`;
    case 'HOLE_DELAMINATION':
      return `Fd ${m.fd.toFixed(3)} > ${h.fdMax}`;
    case 'HOLE_COUNTERSINK':
      return Number.isNaN(m.countersinkMm)
        ? 'countersink not found'
        : `countersink Ø${m.countersinkMm.toFixed(3)} outside ${h.countersink?.diameterMm} +${h.countersink?.plusMm}/−${h.countersink?.minusMm}`;
    case 'HOLE_UNEXPECTED':
      return 'matches no nominal position';
  }
}
