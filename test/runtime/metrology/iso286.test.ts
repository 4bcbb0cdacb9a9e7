import { describe, expect, it } from 'vitest';
import { checkSize, explicitLimits, holeLimits, itGradeUm } from '../../../runtime/metrology/iso286.ts';

describe('ISO 286 hole limits', () => {
  it.each([
    [5, 'H8', 0, 0.018],
    [5, 'H9', 0, 0.03],
    [8, 'H8', 0, 0.022],
    [8, 'H9', 0, 0.036],
    [12, 'H8', 0, 0.027],
    [12, 'H9', 0, 0.043],
    [5, 'H7', 0, 0.012],
    [20, 'H7', 0, 0.021],
    [5, 'G7', 0.004, 0.016],
    [10, 'F8', 0.013, 0.035],
    [5, 'JS9', -0.015, 0.015],
  ])('Ø%s %s → %s / +%s mm', (d, cls, lo, hi) => {
    const l = holeLimits(d, cls);
    expect(l.lowerMm).toBeCloseTo(lo, 9);
    expect(l.upperMm).toBeCloseTo(hi, 9);
    expect(l.label).toBe(cls);
  });

  it('puts range boundaries in the lower range ("above … up to and including")', () => {
    expect(itGradeUm(6, 8)).toBe(18);
    expect(itGradeUm(6.001, 8)).toBe(22);
    expect(itGradeUm(3, 9)).toBe(25);
    expect(itGradeUm(10, 9)).toBe(36);
  });

  it('judges a measured diameter against H8 exactly at the limits', () => {
    const l = holeLimits(5, 'H8');
    expect(checkSize(5, l, 5.0)).toBe('ok');
    expect(checkSize(5, l, 5.018)).toBe('ok');
    expect(checkSize(5, l, 5.0181)).toBe('high');
    expect(checkSize(5, l, 4.9999)).toBe('low');
    const h9 = holeLimits(5, 'H9');
    expect(checkSize(5, h9, 5.025)).toBe('ok');
    expect(checkSize(5, l, 5.025)).toBe('high');
  });

  it('supports explicit ± tolerances', () => {
    const l = explicitLimits(-0.05, 0.05);
    expect(l.label).toBe('±0.05');
    expect(checkSize(5, l, 4.951)).toBe('ok');
    expect(checkSize(5, l, 4.949)).toBe('low');
  });

  it('refuses unknown classes and sizes outside the tables', () => {
    expect(() => holeLimits(5, 'H4')).toThrow(/LS_ERR_METROLOGY_SPEC/);
    expect(() => holeLimits(5, 'h8')).toThrow(/LS_ERR_METROLOGY_SPEC/);
    expect(() => holeLimits(600, 'H8')).toThrow(/LS_ERR_METROLOGY_SPEC/);
  });
});
