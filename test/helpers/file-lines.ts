/** Where a text stands in a file, for tests that check the `FILE:LINE` of a message. */
import { readFileSync } from 'node:fs';
import { expect } from 'vitest';

/** 1-based line of the first line of `file` that contains `text`. */
export function lineOf(file: string, text: string): number {
  const n = readFileSync(file, 'utf8')
    .split('\n')
    .findIndex((l) => l.includes(text));
  expect(n, `'${text}' in ${file}`).toBeGreaterThanOrEqual(0);
  return n + 1;
}
