/**
 * Reads a line YAML, validates it and freezes it. Every problem is reported as `file:line key.path: message`
 * so a line engineer can go straight to the offending line; all problems are reported at once.
 */
import path from 'node:path';
import { LineCounter, parseDocument, isMap, isPair, isScalar, type Document, type Node } from 'yaml';
import type { z } from 'zod';
import { LinesightError, reasonOf } from '../errors.ts';
import type { LineConfig, LineSchema } from './schema.ts';
import { checkYamlText, firstLine, readYamlText, YAML_PARSE_OPTIONS, yamlToJs, YamlInputError } from './yaml-limits.ts';

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
    text = readYamlText(abs);
  } catch (err) {
    if (err instanceof YamlInputError) throw limitProblem(file, err);
    throw new LinesightError('LS_ERR_CONFIG_UNREADABLE', `cannot read ${file}: ${reasonOf(err)}`, { file }, { cause: err });
  }
  return parseLineConfig(text, file, abs, schema);
}

/** Parses line YAML text within the YAML limits (runtime/config/yaml-limits.ts), then checks it against the schema. */
export function parseLineConfig(text: string, displayName: string, abs: string, schema: LineSchema): LineConfig {
  const lineCounter = new LineCounter();
  let doc: Document;
  let raw: unknown;
  try {
    checkYamlText(text);
    doc = parseDocument(text, { ...YAML_PARSE_OPTIONS, lineCounter });
    if (doc.errors.length > 0) {
      const problems = doc.errors.map((e) => ({ file: displayName, line: e.linePos?.[0].line ?? 1, keyPath: '', message: firstLine(e.message) }));
      throw configInvalid(displayName, problems);
    }
    raw = yamlToJs(doc, lineCounter);
  } catch (err) {
    if (err instanceof YamlInputError) throw limitProblem(displayName, err);
    throw err;
  }
  const parsed = schema.safeParse(raw);
  if (!parsed.success) {
    throw configInvalid(
      displayName,
      parsed.error.issues.map((i) => toProblem(i, doc, lineCounter, displayName)),
    );
  }
  const config = { ...(parsed.data as object), file: abs, dir: path.dirname(abs) } as LineConfig;
  return deepFreeze(config);
}

function configInvalid(file: string, problems: ConfigProblem[], cause?: unknown): LinesightError {
  // A file with thousands of problems is reported by its first 50: enough to fix, short enough to read.
  const shown = problems.slice(0, 50).map(formatProblem);
  const next = problems[50];
  if (next) shown.push(formatProblem({ ...next, keyPath: '', message: `… and ${problems.length - 50} more problem(s) from this line on` }));
  const text = shown.join('\n');
  return new LinesightError(
    'LS_ERR_CONFIG_INVALID',
    `${file} has ${problems.length} problem(s):\n${text}`,
    {
      file,
      problems,
    },
    cause === undefined ? undefined : { cause },
  );
}

function limitProblem(file: string, err: YamlInputError): LinesightError {
  return configInvalid(file, [{ file, line: err.line, keyPath: '', message: err.message }], err);
}

/**
 * A problem found after loading (cli/preflight.ts: a model, a calibration file, a port, the store path), placed at
 * `keyPath` of the line YAML `abs`, which is read again for its line numbers (line 1 if it cannot be).
 */
export function problemAt(abs: string, displayName: string, keyPath: readonly (string | number)[], message: string): ConfigProblem {
  const keys = keyPath.map(String);
  let line = 1;
  try {
    const lineCounter = new LineCounter();
    line = lineOf(parseDocument(readYamlText(abs), { ...YAML_PARSE_OPTIONS, lineCounter }), keys, lineCounter);
  } catch {
    // Changed or gone since it was loaded: the key path alone still names the place.
  }
  return { file: displayName, line, keyPath: formatPath(keys), message };
}

type Issue = z.core.$ZodIssue;

function toProblem(issue: Issue, doc: Document, lines: LineCounter, file: string): ConfigProblem {
  let keyPath = issue.path.map((k) => String(k));
  let message = issue.message;
  if (issue.code === 'unrecognized_keys') {
    // Point at the first unknown key itself rather than at its parent object.
    keyPath = [...keyPath, issue.keys[0]!];
    const shown = issue.keys.slice(0, 10).map((k) => `'${k}'`);
    const more = issue.keys.length > 10 ? ` and ${issue.keys.length - 10} more` : '';
    message = `unknown key${issue.keys.length > 1 ? 's' : ''} ${shown.join(', ')}${more}`;
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
