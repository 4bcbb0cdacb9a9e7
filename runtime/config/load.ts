/**
 * Reads a line YAML, validates it and freezes it. Every problem is reported as `file:line key.path: message`
 * so a line engineer can go straight to the offending line; all problems are reported at once.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { LineCounter, parseDocument, isMap, isPair, isScalar, type Document, type Node } from 'yaml';
import type { z } from 'zod';
import { LinesightError } from '../errors.ts';
import type { LineConfig, LineSchema } from './schema.ts';

export interface ConfigProblem {
  readonly file: string;
  readonly line: number;
  readonly keyPath: string;
  readonly message: string;
}

export function formatProblem(p: ConfigProblem): string {
  return `${p.file}:${p.line} ${p.keyPath || '(root)'}: ${p.message}`;
}

export function loadLineConfig(file: string, schema: LineSchema): LineConfig {
  const abs = path.resolve(file);
  let text: string;
  try {
    text = readFileSync(abs, 'utf8');
  } catch (err) {
    throw new LinesightError('LS_ERR_CONFIG_UNREADABLE', `cannot read ${file}`, { file }, { cause: err });
  }
  return parseLineConfig(text, file, abs, schema);
}

export function parseLineConfig(text: string, displayName: string, abs: string, schema: LineSchema): LineConfig {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: true, uniqueKeys: true });
  if (doc.errors.length > 0) {
    const problems = doc.errors.map((e) => ({
      file: displayName,
      line: e.linePos?.[0].line ?? 1,
      keyPath: '',
      message: e.message.split('\n')[0]!.replace(/ at line \d+, column \d+:?$/, ''),
    }));
    throw configInvalid(displayName, problems);
  }
  const parsed = schema.safeParse(doc.toJS());
  if (!parsed.success) {
    throw configInvalid(
      displayName,
      parsed.error.issues.map((i) => toProblem(i, doc, lineCounter, displayName)),
    );
  }
  const config = { ...(parsed.data as object), file: abs, dir: path.dirname(abs) } as LineConfig;
  return deepFreeze(config);
}

function configInvalid(file: string, problems: ConfigProblem[]): LinesightError {
  const text = problems.map(formatProblem).join('\n');
  return new LinesightError('LS_ERR_CONFIG_INVALID', `${file} has ${problems.length} problem(s):\n${text}`, {
    file,
    problems,
  });
}

type Issue = z.core.$ZodIssue;

function toProblem(issue: Issue, doc: Document, lines: LineCounter, file: string): ConfigProblem {
  let keyPath = issue.path.map((k) => String(k));
  let message = issue.message;
  if (issue.code === 'unrecognized_keys') {
    // Point at the first unknown key itself rather than at its parent object.
    keyPath = [...keyPath, issue.keys[0]!];
    message = `unknown key${issue.keys.length > 1 ? 's' : ''} ${issue.keys.map((k) => `'${k}'`).join(', ')}`;
  } else if (issue.code === 'invalid_type' && message.includes('received undefined')) {
    message = `required key is missing (${message})`;
  }
  return { file, line: lineOf(doc, keyPath, lines), keyPath: formatPath(keyPath), message };
}

/** Line of the deepest YAML node that exists on the path (the key itself for a map entry). */
function lineOf(doc: Document, keyPath: readonly string[], lines: LineCounter): number {
  let node: unknown = doc.contents;
  let offset = doc.contents?.range?.[0] ?? 0;
  for (const key of keyPath) {
    if (isMap(node)) {
      const pair = node.items.find((p) => isPair(p) && isScalar(p.key) && String(p.key.value) === key);
      if (!pair) break;
      offset = (pair.key as Node).range?.[0] ?? offset;
      node = pair.value;
    } else if (node && typeof node === 'object' && 'items' in node && Array.isArray(node.items)) {
      const item = node.items[Number(key)] as Node | undefined;
      if (!item) break;
      offset = item.range?.[0] ?? offset;
      node = item;
    } else break;
  }
  return lines.linePos(offset).line;
}

function formatPath(keyPath: readonly string[]): string {
  let out = '';
  for (const k of keyPath) out += /^\d+$/.test(k) ? `[${k}]` : out ? `.${k}` : k;
  return out;
}

function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const v of Object.values(value)) deepFreeze(v);
  }
  return value;
}
