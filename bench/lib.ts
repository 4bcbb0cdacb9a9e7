/** Small helpers shared by the benchmarks: percentiles, GC observation and plain-text tables. */
import { PerformanceObserver } from 'node:perf_hooks';

export function percentile(samples: ArrayLike<number>, p: number): number {
  const sorted = Float64Array.from(samples).sort();
  if (sorted.length === 0) return Number.NaN;
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[rank]!;
}

export interface Stats {
  n: number;
  p50: number;
  p99: number;
  mean: number;
}

export function stats(samples: ArrayLike<number>): Stats {
  let sum = 0;
  for (let i = 0; i < samples.length; i++) sum += samples[i]!;
  return { n: samples.length, p50: percentile(samples, 50), p99: percentile(samples, 99), mean: sum / samples.length };
}

/** Collects GC pause durations (ms) while running. */
export function observeGc(): { pauses: number[]; stop(): void } {
  const pauses: number[] = [];
  const obs = new PerformanceObserver((list) => {
    for (const e of list.getEntries()) pauses.push(e.duration);
  });
  obs.observe({ entryTypes: ['gc'] });
  return { pauses, stop: () => obs.disconnect() };
}

export function gcNow(): void {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (!gc) throw new Error('run benchmarks with node --expose-gc (npm run bench does)');
  gc();
  gc();
}

export function table(title: string, header: string[], rows: (string | number)[][]): string {
  const cells = [header, ...rows.map((r) => r.map((c) => (typeof c === 'number' ? fmt(c) : c)))];
  const widths = header.map((_, i) => Math.max(...cells.map((r) => String(r[i]).length)));
  const line = (r: (string | number)[]) => `| ${r.map((c, i) => String(c).padEnd(widths[i]!)).join(' | ')} |`;
  return [`\n${title}`, line(cells[0]!), `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...cells.slice(1).map(line)].join('\n');
}

function fmt(v: number): string {
  if (!Number.isFinite(v)) return String(v);
  if (Math.abs(v) >= 100) return v.toFixed(0);
  if (Math.abs(v) >= 10) return v.toFixed(1);
  return v.toFixed(3);
}

export function machine(): string {
  return `node ${process.version}, ${process.platform}/${process.arch}`;
}
