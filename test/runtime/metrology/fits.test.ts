import { describe, expect, it } from 'vitest';
import { Circle, fitCircleLM, fitHyper, fitKasa, fitTaubin, ransacCircle } from '../../../runtime/metrology/circle-fit.ts';
import { Ellipse, fitEllipse } from '../../../runtime/metrology/ellipse-fit.ts';
import { roundness, uprTransmission } from '../../../runtime/metrology/roundness.ts';
import { Prng } from '../../../sim/scenes/prng.ts';

function arc(n: number, cx: number, cy: number, r: number, from: number, span: number, noise = 0, seed = 1) {
  const rng = new Prng(seed);
  const xs = new Float64Array(n),
    ys = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const t = from + (span * i) / (n - 1);
    xs[i] = cx + r * Math.cos(t) + noise * rng.normal();
    ys[i] = cy + r * Math.sin(t) + noise * rng.normal();
  }
  return { xs, ys };
}

describe('circle fits', () => {
  it.each([
    ['Kåsa', fitKasa],
    ['Taubin', fitTaubin],
    ['Hyper', fitHyper],
  ] as const)('%s recovers an exact circle from exact points (full and 90° arcs)', (_n, fit) => {
    for (const span of [2 * Math.PI, Math.PI / 2]) {
      const { xs, ys } = arc(60, 12.3, -4.7, 2.51, 0.3, span);
      const c = new Circle();
      expect(fit(xs, ys, 60, c)).toBe(true);
      expect(c.cx).toBeCloseTo(12.3, 9);
      expect(c.cy).toBeCloseTo(-4.7, 9);
      expect(c.r).toBeCloseTo(2.51, 9);
    }
  });

  it('Kåsa is biased low on noisy 90° arcs where Hyper and the geometric fit are not', () => {
    const bias = { kasa: 0, hyper: 0, lm: 0 };
    const trials = 300;
    const c = new Circle(),
      g = new Circle();
    for (let s = 0; s < trials; s++) {
      const { xs, ys } = arc(40, 0, 0, 50, 0.7, Math.PI / 2, 0.5, s + 1);
      fitKasa(xs, ys, 40, c);
      bias.kasa += (c.r - 50) / trials;
      fitHyper(xs, ys, 40, c);
      bias.hyper += (c.r - 50) / trials;
      fitCircleLM(xs, ys, 40, c, g);
      bias.lm += (g.r - 50) / trials;
    }
    expect(bias.kasa).toBeLessThan(-0.1); // measured about −0.2 px at σ = 0.5 px
    expect(Math.abs(bias.hyper)).toBeLessThan(Math.abs(bias.kasa) / 3);
    expect(Math.abs(bias.lm)).toBeLessThan(Math.abs(bias.kasa) / 3);
  });

  it('Levenberg–Marquardt converges from a poor start and reports the RMS residual', () => {
    const { xs, ys } = arc(100, 3, 4, 10, 0, 2 * Math.PI);
    const out = new Circle();
    const rms = fitCircleLM(xs, ys, 100, new Circle().set(2, 5, 7), out);
    expect(out.cx).toBeCloseTo(3, 8);
    expect(out.cy).toBeCloseTo(4, 8);
    expect(out.r).toBeCloseTo(10, 8);
    expect(rms).toBeLessThan(1e-8);
  });

  it('RANSAC marks outliers (a chip) and keeps the circle', () => {
    const { xs, ys } = arc(120, 50, 60, 20, 0, 2 * Math.PI, 0.05, 3);
    for (let i = 10; i < 25; i++) {
      xs[i]! += 4 * Math.cos((2 * Math.PI * i) / 119);
      ys[i]! += 4 * Math.sin((2 * Math.PI * i) / 119);
    }
    const mask = new Uint8Array(120);
    const c = new Circle();
    const n = ransacCircle(xs, ys, 120, 0.5, mask, c);
    expect(n).toBe(105);
    expect(mask[15]).toBe(0);
    expect(Math.hypot(c.cx - 50, c.cy - 60)).toBeLessThan(0.2);
  });

  it('returns false instead of NaN circles on degenerate input', () => {
    const c = new Circle();
    expect(fitHyper(new Float64Array([0, 1]), new Float64Array([0, 1]), 2, c)).toBe(false);
    expect(fitKasa(new Float64Array([0, 1, 2]), new Float64Array([0, 1, 2]), 3, c)).toBe(false);
  });
});

describe('ellipse fit', () => {
  it('recovers centre, axes and orientation from exact points', () => {
    const n = 90,
      xs = new Float64Array(n),
      ys = new Float64Array(n);
    const a = 5,
      b = 3.2,
      th = 0.6,
      cx = 10,
      cy = -2;
    for (let i = 0; i < n; i++) {
      const t = (2 * Math.PI * i) / n;
      xs[i] = cx + a * Math.cos(t) * Math.cos(th) - b * Math.sin(t) * Math.sin(th);
      ys[i] = cy + a * Math.cos(t) * Math.sin(th) + b * Math.sin(t) * Math.cos(th);
    }
    const e = new Ellipse();
    expect(fitEllipse(xs, ys, n, e)).toBe(true);
    expect(e.cx).toBeCloseTo(cx, 8);
    expect(e.cy).toBeCloseTo(cy, 8);
    expect(e.a).toBeCloseTo(a, 8);
    expect(e.b).toBeCloseTo(b, 8);
    expect(e.angle).toBeCloseTo(th, 8);
  });
});

describe('roundness', () => {
  it('is the peak-to-valley of the radial deviation; the UPR filter attenuates by its transmission', () => {
    const n = 360,
      xs = new Float64Array(n),
      ys = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      const t = (2 * Math.PI * i) / n;
      const r = 10 + 0.02 * Math.cos(3 * t);
      xs[i] = r * Math.cos(t);
      ys[i] = r * Math.sin(t);
    }
    const raw = roundness(xs, ys, n, 0, 0, 10, 0);
    expect(raw.roundness).toBeCloseTo(0.04, 6);
    const f = roundness(xs, ys, n, 0, 0, 10, 15);
    expect(f.roundness).toBeCloseTo(0.04 * uprTransmission(3, 15), 5);
    expect(uprTransmission(15, 15)).toBeCloseTo(0.5, 6);
  });
});
