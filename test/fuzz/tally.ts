/**
 * Counts of fuzz outcomes per case class: printed as a table by the fuzz tests and written as JSON under the OS
 * temp folder (`linesight-fuzz/<name>.json`), where the README's reliability section takes its numbers from.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

export const TOTALS_DIR = path.join(tmpdir(), 'linesight-fuzz');

export class Tally {
  private readonly rows = new Map<string, Map<string, number>>();
  private readonly outcomes = new Set<string>();

  add(klass: string, outcome: string): void {
    const row = this.rows.get(klass) ?? new Map<string, number>();
    this.rows.set(klass, row);
    row.set(outcome, (row.get(outcome) ?? 0) + 1);
    this.outcomes.add(outcome);
  }

  count(outcome: string): number {
    let n = 0;
    for (const row of this.rows.values()) n += row.get(outcome) ?? 0;
    return n;
  }

  get cases(): number {
    let n = 0;
    for (const row of this.rows.values()) for (const v of row.values()) n += v;
    return n;
  }

  /** A fixed-width table: one row per class, one column per outcome, a total row. */
  table(title: string): string {
    const cols = [...this.outcomes].sort();
    const width = Math.max(5, ...[...this.rows.keys()].map((k) => k.length));
    const head = [title.padEnd(width), ...cols.map((c) => c.padStart(Math.max(6, c.length))), 'cases'.padStart(6)].join(' ');
    const line = (name: string, get: (c: string) => number, total: number) =>
      [name.padEnd(width), ...cols.map((c) => String(get(c)).padStart(Math.max(6, c.length))), String(total).padStart(6)].join(' ');
    const body = [...this.rows.entries()].map(([k, row]) =>
      line(
        k,
        (c) => row.get(c) ?? 0,
        [...row.values()].reduce((a, b) => a + b, 0),
      ),
    );
    return [head, ...body, line('total', (c) => this.count(c), this.cases)].join('\n');
  }

  toJSON(): { cases: number; byOutcome: Record<string, number>; byClass: Record<string, Record<string, number>> } {
    const byOutcome: Record<string, number> = {};
    for (const c of this.outcomes) byOutcome[c] = this.count(c);
    const byClass: Record<string, Record<string, number>> = {};
    for (const [k, row] of this.rows) byClass[k] = Object.fromEntries(row);
    return { cases: this.cases, byOutcome, byClass };
  }
}

/** Writes `data` to TOTALS_DIR/<name>.json and returns the path. */
export function writeTotals(name: string, data: unknown): string {
  mkdirSync(TOTALS_DIR, { recursive: true });
  const file = path.join(TOTALS_DIR, `${name}.json`);
  writeFileSync(file, `${JSON.stringify(data, null, 2)}\n`);
  return file;
}
