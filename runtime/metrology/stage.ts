/**
 * The station's metrology stage: measures the holes of each frame and joins their verdicts to the models'
 * decision (any failing hole makes the part NOK with HOLE_* reason codes). Built once at boot from the
 * station's `metrology` section; measurement keys are built here, not per frame.
 */
import path from 'node:path';
import { PixelToMm, readCalibration } from './calibration.ts';
import type { Decision } from '../decision/rules.ts';
import type { FrameSlot } from '../frame/frame-slot.ts';
import type { Defect, Reason } from '../results/result.ts';
import { describeFinding, PartInspector, type PartResult } from './part.ts';
import { HOLE_REASONS, type MetrologyConfig } from './spec.ts';

export const METROLOGY_SOURCE = 'metrology';

interface Keys {
  d: string;
  dev: string;
  pos: string;
  round: string;
  ovality: string;
  fd: string;
  cs: string;
}

export class MetrologyStage {
  readonly inspector: PartInspector;
  private readonly keys: Keys[];
  private gray = new Uint8Array(0);
  private readonly flagUnexpected: boolean;

  constructor(cfg: MetrologyConfig, mapper: PixelToMm) {
    this.inspector = new PartInspector(cfg, mapper);
    this.flagUnexpected = cfg.flagUnexpected;
    this.keys = this.inspector.result.holes.map((r) => {
      const p = `hole.${r.hole.id}.`;
      return {
        d: `${p}diameter_mm`,
        dev: `${p}diameter_dev_mm`,
        pos: `${p}position_mm`,
        round: `${p}roundness_mm`,
        ovality: `${p}ovality`,
        fd: `${p}fd`,
        cs: `${p}countersink_mm`,
      };
    });
  }

  /** Reads the calibration named by the section (relative to the line YAML) or falls back to the station scale. */
  static load(cfg: MetrologyConfig, configDir: string, stationMmPerPx: number | null): MetrologyStage {
    const cal = cfg.calibration ? readCalibration(path.resolve(configDir, cfg.calibration)) : null;
    return new MetrologyStage(cfg, new PixelToMm(cal, stationMmPerPx));
  }

  /** Reason codes this stage can raise (for PLC reason-bit maps). */
  static reasonCodes(): readonly string[] {
    return HOLE_REASONS;
  }

  /** Measures the frame's holes and returns the decision with their measurements, reasons and defects added. */
  apply(slot: FrameSlot, decision: Decision): Decision {
    const part = this.inspector.inspect(this.mono(slot), slot.width, slot.height);
    const reasons = decision.reasons;
    const defects = decision.defects;
    const m = decision.measurements;
    m['holes.measured'] = part.measured;
    m['holes.unexpected'] = part.unexpected.length / 3;
    for (let i = 0; i < part.holes.length; i++) {
      const r = part.holes[i]!;
      const k = this.keys[i]!;
      if (r.found) {
        m[k.d] = round(r.m.diameterMm);
        m[k.dev] = round(r.diameterDevMm);
        m[k.pos] = round(r.positionMm);
        m[k.round] = round(r.m.roundnessMm);
        m[k.ovality] = round(r.m.ovality);
        if (r.hole.fdMax !== null) m[k.fd] = round(r.m.fd);
        if (r.hole.countersink) m[k.cs] = round(r.m.countersinkMm);
      }
      if (r.ok) continue;
      defects.push(
        holeDefect(
          r.reasons[0]!.toLowerCase(),
          r.found ? r.m.centerPx[0]! : -1,
          r.found ? r.m.centerPx[1]! : -1,
          r.found ? r.m.diameterPx : 0,
          r.found ? r.m.diameterMm : 0,
        ),
      );
    }
    pushHoleReasons(part, reasons);
    if (this.flagUnexpected) pushUnexpected(part, reasons, defects);
    if (reasons.length === 0) return decision;
    return { verdict: 'NOK', reasons, measurements: m, defects };
  }

  /** Mono8 frames are measured in place; RGB8 is reduced to luma in a buffer kept between frames. */
  private mono(slot: FrameSlot): Uint8Array {
    if (slot.pixelFormat === 'Mono8') return slot.data;
    const n = slot.width * slot.height;
    if (this.gray.length < n) this.gray = new Uint8Array(n);
    const d = slot.data;
    for (let i = 0, j = 0; i < n; i++, j += 3) this.gray[i] = (77 * d[j]! + 150 * d[j + 1]! + 29 * d[j + 2]!) >> 8;
    return this.gray;
  }
}

/**
 * One reason per HOLE_* code for the part (a PLC reason bit is per code), in HOLE_REASONS order; its detail names
 * every hole that failed that way, holes with the same finding grouped: `A1, A2: no hole within 1.5 mm of nominal`
 * or `A1: Ø5.0712 outside 5 ±0.05 [4.9500, 5.0500]; B2: Ø4.9301 …`. Per-hole values stay in the measurements.
 */
function pushHoleReasons(part: PartResult, reasons: Reason[]): void {
  if (part.holes.every((r) => r.ok)) return;
  for (const code of HOLE_REASONS) {
    const byFinding = new Map<string, string[]>();
    for (const r of part.holes) {
      if (!r.reasons.includes(code)) continue;
      const finding = describeFinding(r, code);
      const ids = byFinding.get(finding);
      if (ids) ids.push(r.hole.id);
      else byFinding.set(finding, [r.hole.id]);
    }
    if (byFinding.size === 0) continue;
    const detail = [...byFinding].map(([finding, ids]) => `${ids.join(', ')}: ${finding}`).join('; ');
    reasons.push({ code, source: METROLOGY_SOURCE, detail });
  }
}

/** All holes found away from every nominal position, as one HOLE_UNEXPECTED reason (one defect each). */
function pushUnexpected(part: PartResult, reasons: Reason[], defects: Defect[]): void {
  const u = part.unexpected;
  if (u.length === 0) return;
  const at: string[] = [];
  for (let i = 0; i < u.length; i += 3) {
    at.push(`(${u[i]!.toFixed(1)}, ${u[i + 1]!.toFixed(1)}) px`);
    defects.push(holeDefect('hole_unexpected', u[i]!, u[i + 1]!, u[i + 2]!, null));
  }
  const what = at.length === 1 ? 'hole' : `${at.length} holes`;
  reasons.push({
    code: 'HOLE_UNEXPECTED',
    source: METROLOGY_SOURCE,
    detail: `${what} at ${at.join(', ')} match${at.length === 1 ? 'es' : ''} no nominal position`,
  });
}

function holeDefect(label: string, cx: number, cy: number, dPx: number, dMm: number | null): Defect {
  const half = dPx / 2;
  return {
    model: METROLOGY_SOURCE,
    label,
    score: 1,
    bboxPx: dPx > 0 ? [Math.round(cx - half), Math.round(cy - half), Math.round(dPx), Math.round(dPx)] : [0, 0, 0, 0],
    areaPx: Math.round(Math.PI * half * half),
    areaMm2: dMm ? round((Math.PI * dMm * dMm) / 4) : null,
  };
}

function round(v: number): number {
  return Math.round(v * 1e5) / 1e5;
}
