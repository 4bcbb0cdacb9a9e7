import { describe, expect, it } from 'vitest';
import { renderMetrologyHole } from '../../../sim/scenes/hole-metrology.ts';
import { renderDrilledPlate, DEFAULT_HOLE_PATTERN } from '../../../sim/scenes/holes.ts';
import { PixelToMm } from '../../../runtime/metrology/calibration.ts';
import { HoleLocator } from '../../../runtime/metrology/locate.ts';
import { HoleMeasurement, HoleMeasurer } from '../../../runtime/metrology/measure-hole.ts';
import { PartInspector } from '../../../runtime/metrology/part.ts';
import { MetrologySchema } from '../../../runtime/metrology/spec.ts';
import { MetrologyStage } from '../../../runtime/metrology/stage.ts';
import { FrameSlot } from '../../../runtime/frame/frame-slot.ts';

const W = 256,
  H = 256,
  S = 0.05;
const img = new Uint8Array(W * H);

function measure(opts: Partial<Parameters<typeof renderMetrologyHole>[0]>, m: Partial<ConstructorParameters<typeof HoleMeasurer>[1]> = {}) {
  const truth = renderMetrologyHole(
    { seed: 3, width: W, height: H, mmPerPx: S, centreMm: [6.37, 6.52], diameterMm: 5.013, blurPx: 0.8, noiseSigma: 2, ...opts },
    img,
  );
  const loc = new HoleLocator();
  expect(loc.locate(img, W, H, { polarity: 'dark', step: 2, minDiameterPx: 20, maxDiameterPx: 200 })).toBe(1);
  const c = loc.candidates[0]!;
  const out = new HoleMeasurement();
  const ok = new HoleMeasurer(new PixelToMm(null, S), { nominalMm: 5, ...m }).measure(img, W, H, c.cx, c.cy, c.r, out);
  return { truth, out, ok };
}

describe('hole measurement on rendered holes with known truth', () => {
  it('measures diameter and centre within 0.1 px and reports the issue fields', () => {
    const { truth, out, ok } = measure({});
    expect(ok).toBe(true);
    expect(Math.abs(out.diameterMm - truth.diameterMm)).toBeLessThan(0.1 * S);
    expect(Math.hypot(out.centerMm[0]! - truth.centreMm[0], out.centerMm[1]! - truth.centreMm[1])).toBeLessThan(0.1 * S);
    expect(Math.hypot(out.centerPx[0]! - truth.centrePx[0], out.centerPx[1]! - truth.centrePx[1])).toBeLessThan(0.1);
    expect(out.points).toBeGreaterThan(250);
    expect(out.residualPx).toBeLessThan(0.2);
    expect(out.roundnessMm).toBeLessThan(0.01);
  });

  it('sees 3-lobe out-of-roundness', () => {
    const { truth, out } = measure({ lobes: [{ k: 3, ampMm: 0.012, phaseDeg: 20 }] });
    expect(truth.roundnessMm).toBeCloseTo(0.024, 6);
    expect(out.roundnessMm).toBeGreaterThan(0.018);
    expect(out.roundnessMm).toBeLessThan(0.03);
  });

  it('recovers a tilted hole as an ellipse (major = D, minor = D·cos tilt)', () => {
    const { truth, out } = measure({ tiltDeg: 25, tiltAxisDeg: 40 });
    // 0.15 px: rays from the centre cross a 25° ellipse obliquely near its ends (measured 0.10 px on the major axis)
    expect(Math.abs(out.majorMm - truth.majorMm)).toBeLessThan(0.15 * S);
    expect(Math.abs(out.minorMm - truth.minorMm)).toBeLessThan(0.15 * S);
    expect(out.tiltDeg).toBeGreaterThan(24);
    expect(out.tiltDeg).toBeLessThan(26);
    expect(out.angleDeg).toBeCloseTo(40, 0);
  });

  it('measures the countersink ring and the delamination factor', () => {
    const cs = measure({ countersink: { diameterMm: 7.2, level: 105 } }, { countersinkDeg: 100 });
    expect(Math.abs(cs.out.countersinkMm - 7.2)).toBeLessThan(0.01);
    expect(Math.abs(cs.out.diameterMm - 5.013)).toBeLessThan(0.005);
    expect(cs.out.countersinkDepthMm).toBeCloseTo((7.2 - 5.013) / 2 / Math.tan((50 * Math.PI) / 180), 2);
    const d = measure({ delamination: { dmaxMm: 6.6, contrast: 55 } });
    expect(Math.abs(d.out.fd - d.truth.fd)).toBeLessThan(0.02);
    const clean = measure({});
    expect(clean.out.fd).toBeLessThan(1.01);
  });

  it('gives a clear failure, not a crash, when the candidate is no hole', () => {
    img.fill(180);
    const out = new HoleMeasurement();
    const ok = new HoleMeasurer(new PixelToMm(null, S)).measure(img, W, H, 128, 128, 40, out);
    expect(ok).toBe(false);
    expect(out.found).toBe(false);
    expect(out.failure).toMatch(/edges on 0 of/);
    expect(new HoleLocator().locate(img, W, H, { polarity: 'dark', step: 2, minDiameterPx: 20, maxDiameterPx: 200 })).toBe(0);
  });
});

describe('part verdicts against the line YAML spec', () => {
  const spec = MetrologySchema.parse({
    defaults: { diameterMm: 5, plusMm: 0.05, minusMm: 0.05, positionTolMm: 0.15, roundnessMaxMm: 0.03 },
    holes: DEFAULT_HOLE_PATTERN.centresMm.map(([x, y], i) => ({ id: `H${i + 1}`, xMm: x, yMm: y })),
  });
  const plate = new Uint8Array(512 * 512);

  it('passes a good plate and flags oversize and missing holes by hole', () => {
    const insp = new PartInspector(spec, new PixelToMm(null, 0.05));
    renderDrilledPlate({ seed: 11, width: 512, height: 512 }, plate);
    expect(insp.inspect(plate, 512, 512).ok).toBe(true);
    renderDrilledPlate({ seed: 11, width: 512, height: 512, defect: 'oversize', defectHole: 2 }, plate);
    let r = insp.inspect(plate, 512, 512);
    expect(r.ok).toBe(false);
    expect(r.holes.map((h) => h.reasons.join())).toEqual(['', '', 'HOLE_DIAMETER_HIGH', '', '', '']);
    renderDrilledPlate({ seed: 11, width: 512, height: 512, defect: 'missing', defectHole: 4 }, plate);
    r = insp.inspect(plate, 512, 512);
    expect(r.holes[4]!.reasons).toEqual(['HOLE_MISSING']);
    expect(r.measured).toBe(5);
  });

  it('applies ISO 286 classes per hole and judges position in the datum frame', () => {
    const strict = MetrologySchema.parse({
      ...spec,
      datum: { type: 'fixture', originMm: [0.3, 0] },
      defaults: { ...spec.defaults, fit: 'H8', plusMm: undefined, minusMm: undefined },
    });
    renderDrilledPlate({ seed: 11, width: 512, height: 512 }, plate);
    const r = new PartInspector(strict, new PixelToMm(null, 0.05)).inspect(plate, 512, 512);
    for (const h of r.holes) {
      expect(h.reasons).toContain('HOLE_POSITION'); // datum shifted 0.3 mm: Ø0.6 deviation > Ø0.15
      const dev = h.m.diameterMm - 5;
      expect(h.reasons.includes('HOLE_DIAMETER_HIGH')).toBe(dev > 0.018);
      expect(h.reasons.includes('HOLE_DIAMETER_LOW')).toBe(dev < 0);
    }
    const fitted = MetrologySchema.parse({ ...spec, datum: { type: 'best-fit', originMm: [0.3, 0] } });
    expect(new PartInspector(fitted, new PixelToMm(null, 0.05)).inspect(plate, 512, 512).ok).toBe(true);
  });

  it('joins hole reasons and measurements into the station decision', () => {
    const stage = new MetrologyStage(spec, new PixelToMm(null, 0.05));
    const slot = new FrameSlot(0, 512 * 512);
    slot.width = 512;
    slot.height = 512;
    renderDrilledPlate({ seed: 12, width: 512, height: 512, defect: 'oversize', defectHole: 0 }, slot.data);
    const d = stage.apply(slot, { verdict: 'OK', reasons: [], measurements: {}, defects: [] });
    expect(d.verdict).toBe('NOK');
    expect(d.reasons.map((r) => r.code)).toEqual(['HOLE_DIAMETER_HIGH']);
    expect(d.reasons[0]!.detail).toMatch(/^H1: Ø5\.3\d+ outside 5 ±0\.05/);
    expect(d.measurements['hole.H1.diameter_mm']).toBeGreaterThan(5.25);
    expect(d.measurements['holes.measured']).toBe(6);
    expect(d.defects[0]).toMatchObject({ model: 'metrology', label: 'hole_diameter_high' });
  });

  it('gives one reason per HOLE_* code, naming every hole that failed that way, and no duplicates', () => {
    const stage = new MetrologyStage(spec, new PixelToMm(null, 0.05));
    const slot = new FrameSlot(0, 512 * 512);
    slot.width = 512;
    slot.height = 512;
    slot.data.fill(200); // a plate with no hole at all: all six are missing
    let d = stage.apply(slot, { verdict: 'OK', reasons: [], measurements: {}, defects: [] });
    expect(d.verdict).toBe('NOK');
    expect(d.reasons).toEqual([{ code: 'HOLE_MISSING', source: 'metrology', detail: 'H1, H2, H3, H4, H5, H6: no hole within 1 mm of nominal' }]);
    expect(d.defects).toHaveLength(6); // one located defect per hole stays
    renderDrilledPlate({ seed: 11, width: 512, height: 512, defect: 'missing', defectHole: 4 }, slot.data);
    d = stage.apply(slot, { verdict: 'OK', reasons: [], measurements: {}, defects: [] });
    expect(d.reasons.map((r) => [r.code, r.detail])).toEqual([['HOLE_MISSING', 'H5: no hole within 1 mm of nominal']]);
    const shifted = new MetrologyStage(MetrologySchema.parse({ ...spec, datum: { type: 'fixture', originMm: [0.3, 0] } }), new PixelToMm(null, 0.05));
    renderDrilledPlate({ seed: 11, width: 512, height: 512 }, slot.data);
    d = shifted.apply(slot, { verdict: 'OK', reasons: [], measurements: {}, defects: [] });
    const codes = d.reasons.map((r) => r.code);
    expect(codes).toEqual([...new Set(codes)]);
    const position = d.reasons.find((r) => r.code === 'HOLE_POSITION')!;
    expect(position.detail.split('; ').map((p) => p.split(':')[0])).toEqual(['H1', 'H2', 'H3', 'H4', 'H5', 'H6']);
  });

  it('rejects an unknown ISO 286 class in the YAML schema', () => {
    expect(MetrologySchema.safeParse({ ...spec, defaults: { diameterMm: 5, fit: 'H99' } }).success).toBe(false);
    expect(
      () =>
        new PartInspector(MetrologySchema.parse({ defaults: { diameterMm: 5 }, holes: [{ id: 'A', xMm: 1, yMm: 1 }] }), new PixelToMm(null, 0.05)),
    ).toThrow(/LS_ERR_METROLOGY_SPEC/);
  });
});
