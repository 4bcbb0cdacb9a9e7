/**
 * Numeric command-line option values, checked once: `abc`, NaN, ±Infinity, an empty string and anything outside
 * the option's range are a usage error (LS_ERR_USAGE, exit 2) naming the option, the value given and what it
 * must be — never a NaN or a 0 carried into a loop or a result.
 */
import { LinesightError } from '../runtime/errors.ts';

export interface NumberRule {
  /** Whole numbers only. */
  readonly integer?: boolean;
  /** Lowest value allowed (inclusive unless `above` is set). */
  readonly min?: number;
  /** Values must be greater than this (exclusive lower bound), e.g. 0 for "positive". */
  readonly above?: number;
  /** Highest value allowed (inclusive). */
  readonly max?: number;
}

/** Greater than 0, finite. */
export const POSITIVE: NumberRule = { above: 0 };
/** A thread count for onnxruntime: 1 to 64. */
export const THREADS: NumberRule = { integer: true, min: 1, max: 64 };

/** The value of option `name` as a number within `rule`; `fallback` when the option is absent. */
export function numberOption(name: string, value: string | undefined, rule: NumberRule, fallback: number): number {
  return value === undefined ? fallback : parseNumber(name, value, rule);
}

/** As numberOption, null when the option is absent. */
export function optionalNumberOption(name: string, value: string | undefined, rule: NumberRule): number | null {
  return value === undefined ? null : parseNumber(name, value, rule);
}

/** Decimal text only: `0x10`, `1_000`, `''`, `Infinity` and `NaN` are refused; `2.5` and `1e3` are numbers. */
const DECIMAL = /^[+-]?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$/i;

function parseNumber(name: string, value: string, rule: NumberRule): number {
  const text = value.trim();
  const n = DECIMAL.test(text) ? Number(text) : Number.NaN;
  const ok =
    Number.isFinite(n) &&
    (!rule.integer || Number.isInteger(n)) &&
    (rule.min === undefined || n >= rule.min) &&
    (rule.above === undefined || n > rule.above) &&
    (rule.max === undefined || n <= rule.max);
  if (!ok) throw new LinesightError('LS_ERR_USAGE', `${name} '${value}': must be ${describe(rule)}`, { option: name, value });
  return n;
}

function describe(rule: NumberRule): string {
  const parts = [rule.integer ? 'a whole number' : 'a number'];
  if (rule.above !== undefined) parts.push(`greater than ${rule.above}`);
  if (rule.min !== undefined && rule.max !== undefined) parts.push(`from ${rule.min} to ${rule.max}`);
  else if (rule.min !== undefined) parts.push(`≥ ${rule.min}`);
  else if (rule.max !== undefined) parts.push(`≤ ${rule.max}`);
  return parts.join(' ');
}
