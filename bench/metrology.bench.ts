/**
 * Accuracy and speed of the hole metrology and the calibrations, on rendered images with exact ground truth
 * (sim/scenes/hole-metrology.ts, sim/scenes/charuco-views.ts). Not a test: it prints tables for the README.
 *
 *   1. Ø2 mm holes at 10 µm/px (Ø200 px), sweeping noise, blur and illumination: diameter bias and RMS error,
 *      centre RMS error, roundness error, over 30 renders with random sub-pixel centres and diameters; then
 *      repeatability (σ over 30 noise re-renders of one hole) and %GRR = 6σ / H8 tolerance.
 *   2. The demo geometry: the synthetic drilled plate (Ø5 at 50 µm/px) through the station's PartInspector.
 *   3. Camera calibration on 15 rendered ChArUco views of a known pinhole + Brown–Conrady camera; telecentric
 *      scale from a dot grid.
 *   4. Time per hole.
 */
import { renderMetrologyHole, renderDotGrid, type MetrologyHoleOptions } from '../sim/scenes/hole-metrology.ts';
import { renderDrilledPlate, DEFAULT_HOLE_PATTERN, PLATE_DEFECTS } from '../sim/scenes/holes.ts';
import { Prng } from '../sim/scenes/prng.ts';
import { PixelToMm, readCalibration } from '../runtime/metrology/calibration.ts';
import { HoleLocator } from '../runtime/metrology/locate.ts';
import { HoleMeasurement, HoleMeasurer } from '../runtime/metrology/measure-hole.ts';
import { PartInspector } from '../runtime/metrology/part.ts';
import { MetrologySchema } from '../runtime/metrology/spec.ts';
import { holeLimits } from '../runtime/metrology/iso286.ts';
import { uprTransmission } from '../runtime/metrology/roundness.ts';
import { calibrateTelecentric } from '../calibration/telecentric.ts';
import { machine, stats, table } from './lib.ts';
import { envInt, scriptArgs } from '../training/script-args.ts';

const USAGE = `usage: npx tsx bench/metrology.bench.ts   (or npm run bench -- metrology)

Benchmark: hole metrology and calibration accuracy and speed on rendered images with exact ground truth. No options; sizes from the environment (whole numbers ≥ 1):
  BENCH_METROLOGY_N=30  renders per case`;
scriptArgs(process.argv.slice(2), { usage: USAGE });
const N = envInt('BENCH_METROLOGY_N', 30, 1, 1e9);
const S = 0.01; // mm per px
const W = 256;
const D = 2;
const UPR = 15;
const img = new Uint8Array(W * W);
const out = new HoleMeasurement();
const locator = new HoleLocator();
const h8 = holeLimits(D, 'H8').toleranceUm; // 14 µm for Ø2

interface Condition {
  name: string;
  o: Partial<MetrologyHoleOptions>;
}
const base: Partial<MetrologyHoleOptions> = { blurPx: 0.7, noiseSigma: 2, surfaceLevel: 180, boreLevel: 40 };
const conditions: Condition[] = [
  { name: 'baseline: blur σ0.7 px, noise σ2, contrast 140', o: {} },
  { name: 'noise σ1', o: { noiseSigma: 1 } },
  { name: 'noise σ4', o: { noiseSigma: 4 } },
  { name: 'noise σ8', o: { noiseSigma: 8 } },
  { name: 'no blur (area sampling only)', o: { blurPx: 0 } },
  { name: 'blur σ1.5 px', o: { blurPx: 1.5 } },
  { name: 'blur σ3 px', o: { blurPx: 3 } },
  { name: 'low contrast 40 (90/50)', o: { surfaceLevel: 90, boreLevel: 50 } },
  { name: 'illumination gradient ±15%', o: { gradient: [0.3, -0.2] } },
  { name: 'dim: gain 0.5', o: { gain: 0.5 } },
  {
    name: '3-lobe 3 µm + 2-lobe 2 µm',
    o: {
      lobes: [
        { k: 3, ampMm: 0.003, phaseDeg: 10 },
        { k: 2, ampMm: 0.002, phaseDeg: 70 },
      ],
    },
  },
];

function measureOnce(o: MetrologyHoleOptions, m: HoleMeasurer) {
  const truth = renderMetrologyHole(o, img);
  const n = locator.locate(img, W, W, { polarity: 'dark', step: 2, minDiameterPx: 50, maxDiameterPx: 250 });
  if (n !== 1) return null;
  const c = locator.candidates[0]!;
  if (!m.measure(img, W, W, c.cx, c.cy, c.r, out)) return null;
  let rTruth = 0;
  if (o.lobes) {
    // truth filtered by the same ISO 12181-2 transmission (peak-to-valley of the attenuated harmonics)
    let lo = Infinity,
      hi = -Infinity;
    for (let i = 0; i < 3600; i++) {
      const t = (2 * Math.PI * i) / 3600;
      let v = 0;
      for (const l of o.lobes) v += uprTransmission(l.k, UPR) * l.ampMm * Math.cos(l.k * (t - (l.phaseDeg * Math.PI) / 180));
      lo = Math.min(lo, v);
      hi = Math.max(hi, v);
    }
    rTruth = hi - lo;
  }
  return {
    dErr: out.diameterMm - truth.diameterMm,
    cErr: Math.hypot(out.centerMm[0]! - truth.centreMm[0], out.centerMm[1]! - truth.centreMm[1]),
    rErr: out.roundnessMm - rTruth,
    d: out.diameterMm,
  };
}

const rms = (a: number[]) => Math.sqrt(a.reduce((s, v) => s + v * v, 0) / a.length);
const mean = (a: number[]) => a.reduce((s, v) => s + v, 0) / a.length;
const sd = (a: number[]) => {
  const m = mean(a);
  return Math.sqrt(a.reduce((s, v) => s + (v - m) ** 2, 0) / (a.length - 1));
};
const um = (mm: number) => mm * 1000;

process.stdout.write(
  `metrology benchmark — ${machine()}, ${N} renders per condition, Ø${D} mm at ${S * 1000} µm/px (Ø${D / S} px), roundness filter ${UPR} UPR\n`,
);

const measurer = new HoleMeasurer(new PixelToMm(null, S), { nominalMm: D, roundnessUpr: UPR, damageSearch: 0 });
const rows: (string | number)[][] = [];
const grr: (string | number)[][] = [];
for (const cond of conditions) {
  const rng = new Prng(17);
  const dE: number[] = [],
    cE: number[] = [],
    rE: number[] = [];
  let failed = 0;
  for (let i = 0; i < N; i++) {
    const o: MetrologyHoleOptions = {
      seed: 1000 + i,
      width: W,
      height: W,
      mmPerPx: S,
      centreMm: [1.28 + rng.uniform(-0.05, 0.05), 1.28 + rng.uniform(-0.05, 0.05)],
      diameterMm: D + rng.uniform(-0.02, 0.02),
      ...base,
      ...cond.o,
    };
    const r = measureOnce(o, measurer);
    if (!r) {
      failed++;
      continue;
    }
    dE.push(r.dErr);
    cE.push(r.cErr);
    rE.push(r.rErr);
  }
  const rep: number[] = [];
  for (let i = 0; i < N; i++) {
    const r = measureOnce(
      { seed: 5000 + i, width: W, height: W, mmPerPx: S, centreMm: [1.2834, 1.2717], diameterMm: 2.0061, ...base, ...cond.o },
      measurer,
    );
    if (r) rep.push(r.d);
  }
  const sigma = sd(rep);
  rows.push([
    cond.name,
    um(mean(dE)),
    um(rms(dE)),
    um(rms(dE)) / (S * 1000),
    um(rms(cE)),
    um(rms(cE)) / (S * 1000),
    um(mean(rE)),
    um(rms(rE)),
    failed,
  ]);
  grr.push([cond.name, um(sigma), sigma / S, (6 * um(sigma) * 100) / h8]);
}
process.stdout.write(
  table(
    `Accuracy on rendered holes (Ø${D} mm, ${S * 1000} µm/px; ${N} renders each; errors vs exact truth)`,
    ['condition', 'Ø bias µm', 'Ø RMS µm', 'Ø RMS px', 'centre RMS µm', 'centre RMS px', 'roundness bias µm', 'roundness RMS µm', 'failed'],
    rows,
  ),
);
process.stdout.write(
  table(
    `Repeatability: one Ø2.0061 hole re-rendered ${N}× (noise only); %GRR = 6σ / H8 tolerance (${h8} µm)`,
    ['condition', 'σ Ø µm', 'σ Ø px', '%GRR (H8)'],
    grr,
  ),
);

// 2. Demo geometry: the drilled plate through the station's inspector.
{
  const cfg = MetrologySchema.parse({
    defaults: { diameterMm: 5, plusMm: 0.05, minusMm: 0.05, positionTolMm: 0.15, roundnessMaxMm: 0.03 },
    holes: DEFAULT_HOLE_PATTERN.centresMm.map(([x, y], i) => ({ id: `H${i + 1}`, xMm: x, yMm: y })),
  });
  const insp = new PartInspector(
    cfg,
    new PixelToMm(readCalibration(new URL('../calibration/drilling-telecentric.yaml', import.meta.url).pathname), null),
  );
  const plate = new Uint8Array(512 * 512);
  const dE: number[] = [],
    cE: number[] = [];
  const verdict: Record<string, [number, number]> = {};
  const times: number[] = [];
  for (let k = 0; k < 200; k++) {
    const seed = 9000 + k;
    const pick = new Prng(seed);
    const defect = pick.next() < 0.5 ? PLATE_DEFECTS[Math.floor(pick.next() * PLATE_DEFECTS.length)] : null;
    const truth = renderDrilledPlate({ seed, width: 512, height: 512, defect }, plate);
    const t0 = performance.now();
    const res = insp.inspect(plate, 512, 512);
    times.push(performance.now() - t0);
    const key = defect ?? 'none (good part)';
    const v = (verdict[key] ??= [0, 0]);
    v[0]++;
    if (!res.ok) v[1]++;
    res.holes.forEach((h, i) => {
      const t = truth.holes[i]!;
      if (h.found && t.defect === null) {
        dE.push(h.m.diameterMm - t.diameterMm);
        cE.push(Math.hypot(h.m.centerMm[0]! - t.centreMm[0], h.m.centerMm[1]! - t.centreMm[1]));
      }
    });
  }
  process.stdout.write(
    table(
      'Demo plate (sim/scenes/holes.ts: Ø5 at 50 µm/px, wall glow, milled texture) through the drilling station spec (Ø5 ±0.05, position Ø0.15, roundness 0.03)',
      ['holes', 'Ø bias µm', 'Ø RMS µm', 'Ø RMS px', 'centre RMS µm', 'centre RMS px'],
      [[dE.length, um(mean(dE)), um(rms(dE)), um(rms(dE)) / 50, um(rms(cE)), um(rms(cE)) / 50]],
    ),
  );
  process.stdout.write(
    table(
      'Part verdicts from metrology alone (200 plates)',
      ['plate defect', 'parts', 'NOK by metrology'],
      Object.entries(verdict).map(([k, [n, nok]]) => [k, n, nok]),
    ),
  );
  const st = stats(times);
  process.stdout.write(
    table(
      'PartInspector time per 512² plate (locate + 6 holes + verdicts), ms',
      ['p50', 'p99', 'mean', 'per hole (mean/6)'],
      [[st.p50, st.p99, st.mean, st.mean / 6]],
    ),
  );
}

// 3. Telecentric scale from a dot grid.
{
  const g = new Uint8Array(512 * 512);
  const rowsT: (string | number)[][] = [];
  for (const s of [0.05, 0.0123]) {
    renderDotGrid(
      { width: 512, height: 512, mmPerPx: s, cols: 10, rows: 10, pitchMm: s * 48, diameterMm: s * 20, originMm: [s * 40, s * 40], noiseSigma: 2 },
      g,
    );
    const cal = calibrateTelecentric([{ name: 'grid', width: 512, height: 512, data: g }], { kind: 'dots', cols: 10, rows: 10, pitchMm: s * 48 }, [
      s * 40,
      s * 40,
    ]);
    rowsT.push([s, cal.mmPerPx, ((cal.mmPerPx - s) / s) * 1e6, cal.uniformity!.spreadPct, um(cal.residualRmsMm!), (cal.affine[2]! - s / 2) / s]);
  }
  process.stdout.write(
    table(
      'Telecentric calibration from a rendered 10×10 dot grid (noise σ2)',
      ['true mm/px', 'fitted mm/px', 'scale error ppm', 'uniformity spread %', 'residual RMS µm', 'offset error px'],
      rowsT,
    ),
  );
}

// 4. Time per hole (single-hole measure, after locate), Ø200 px and Ø100 px.
{
  const rowsP: (string | number)[][] = [];
  for (const [label, s, d, fd] of [
    ['Ø200 px (Ø2 @ 10 µm/px)', 0.01, 2, false],
    ['Ø200 px + Fd scan', 0.01, 2, true],
    ['Ø100 px (Ø5 @ 50 µm/px)', 0.05, 5, false],
    ['Ø100 px + Fd scan', 0.05, 5, true],
  ] as const) {
    renderMetrologyHole({ seed: 1, width: W, height: W, mmPerPx: s, centreMm: [(W * s) / 2, (W * s) / 2], diameterMm: d, ...base }, img);
    locator.locate(img, W, W, { polarity: 'dark', step: 2, minDiameterPx: 20, maxDiameterPx: 250 });
    const c = locator.candidates[0]!;
    const m = new HoleMeasurer(new PixelToMm(null, s), { nominalMm: d, damageSearch: fd ? 1.8 : 0 });
    for (let i = 0; i < 300; i++) m.measure(img, W, W, c.cx, c.cy, c.r, out);
    const t: number[] = [];
    for (let i = 0; i < 1000; i++) {
      const t0 = performance.now();
      m.measure(img, W, W, c.cx, c.cy, c.r, out);
      t.push(performance.now() - t0);
    }
    const st = stats(t);
    rowsP.push([label, out.rays, st.p50, st.p99, st.mean]);
  }
  const t: number[] = [];
  for (let i = 0; i < 200; i++) {
    const t0 = performance.now();
    locator.locate(img, W, W, { polarity: 'dark', step: 2, minDiameterPx: 20, maxDiameterPx: 250 });
    t.push(performance.now() - t0);
  }
  const st = stats(t);
  rowsP.push(['locate (Otsu + components), 256² frame', '—', st.p50, st.p99, st.mean]);
  process.stdout.write(table('Measurement time per hole, ms (goal ≤ 1 ms)', ['case', 'rays', 'p50', 'p99', 'mean'], rowsP));
}

// 5. Camera calibration on rendered ChArUco views (opencv-js is loaded last: its runtime hooks process events).
{
  const { loadOpenCv } = await import('../calibration/opencv.ts');
  const { parseBoard, detectViews, calibrateCharuco } = await import('../calibration/charuco.ts');
  const { BoardTexture, posesCoveringField, renderCharucoView } = await import('../sim/scenes/charuco-views.ts');
  // eslint-disable-next-line @typescript-eslint/no-unsafe-assignment -- the OpenCV binding is `any` by design (calibration/opencv.ts)
  const { cv } = await loadOpenCv();
  const board = parseBoard('charuco:11x8:15:11:5X5_100');
  const tex = new BoardTexture(cv, board, 8);
  const cams = [
    {
      label: '1024×768, f≈1400 px, barrel k1 −0.12',
      cam: {
        width: 1024,
        height: 768,
        fx: 1400,
        fy: 1398,
        cx: 515.3,
        cy: 381.7,
        distortion: { k1: -0.12, k2: 0.08, p1: 0.0005, p2: -0.0003, k3: 0 },
      },
    },
    {
      label: '1024×768, f≈1100 px, pincushion k1 +0.06',
      cam: {
        width: 1024,
        height: 768,
        fx: 1100,
        fy: 1100.5,
        cx: 509.8,
        cy: 389.2,
        distortion: { k1: 0.06, k2: -0.02, p1: -0.0004, p2: 0.0002, k3: 0 },
      },
    },
  ];
  const rowsC: (string | number)[][] = [];
  for (const { label, cam } of cams) {
    const poses = posesCoveringField(cam, board, 15, 11);
    const t0 = performance.now();
    const images = poses.map((p, i) => ({
      name: `v${i}`,
      width: cam.width,
      height: cam.height,
      data: renderCharucoView(tex, cam, p, { ss: 3, noiseSigma: 1.5, seed: i }),
    }));
    const tRender = performance.now() - t0;
    const views = detectViews(cv, board, images);
    const t1 = performance.now();
    const cal = calibrateCharuco(cv, board, views, [cam.width, cam.height]);
    const tCal = performance.now() - t1;
    rowsC.push([
      label,
      views.length - cal.quality!.rejected,
      (cal.camera.fx / cam.fx - 1) * 100,
      (cal.camera.fy / cam.fy - 1) * 100,
      cal.camera.cx - cam.cx,
      cal.camera.cy - cam.cy,
      cal.distortion.k1 - cam.distortion.k1,
      cal.distortion.k2 - cam.distortion.k2,
      cal.quality!.rmsPx,
      Math.max(...cal.quality!.views.map((v) => v.rmsPx ?? 0)),
      tRender / 1000,
      tCal / 1000,
    ]);
  }
  process.stdout.write(
    table(
      'Camera calibration on 15 rendered ChArUco views (11×8, 15 mm, noise σ1.5); goals fx/fy ±0.5%, k1 ±0.01, RMS ≤ 0.1 px',
      ['camera', 'views', 'fx err %', 'fy err %', 'cx err px', 'cy err px', 'k1 err', 'k2 err', 'RMS px', 'worst view px', 'render s', 'calib s'],
      rowsC,
    ),
  );
}
process.stdout.write('\n');
