/**
 * Bounds on every YAML file Linesight reads (the line YAML, model.yaml, calibration files), so that a hostile or
 * broken file gets a clear answer instead of a crash, a hang or an exhausted heap: at most 1 MiB, nesting at most
 * 64 levels deep (the yaml library runs out of stack, or of memory, on a megabyte of `[[[[` or `- - - -`), and
 * aliases expanding to at most 100 nodes (a "billion laughs" bomb), at most 200 anchors. Each problem is a YamlInputError with the line
 * it is on; each reader turns it into its own typed error (LS_ERR_CONFIG_INVALID, LS_ERR_MODEL_MANIFEST_INVALID,
 * LS_ERR_CALIBRATION_INVALID) as `FILE:LINE: message`.
 */
import { readFileSync, statSync } from 'node:fs';
import { isAlias, LineCounter, parseDocument, visit, type Document, type DocumentOptions, type ParseOptions } from 'yaml';

export const YAML_LIMITS = {
  /** Largest YAML file read, bytes. */
  maxBytes: 1024 * 1024,
  /** Deepest nesting of block and flow collections. */
  maxDepth: 64,
  /** yaml's maxAliasCount: how many nodes aliases may expand to in all. */
  maxAliasCount: 100,
  /** Anchors (`&name`) in one file: the yaml library's cost grows with their square (10,000 took 5.7 s). */
  maxAnchors: 200,
} as const;

/** Options for parseDocument that every reader shares. */
export const YAML_PARSE_OPTIONS: ParseOptions & DocumentOptions = { prettyErrors: true, uniqueKeys: true };

/** A YAML file past a limit, or one that cannot be resolved (unknown alias): `line` is 1-based. */
export class YamlInputError extends Error {
  readonly line: number;

  constructor(message: string, line: number, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'YamlInputError';
    this.line = line;
  }
}

/**
 * The file's text, read only when it is a regular file within the size limit (a FIFO or /dev/zero would be read
 * forever). I/O errors are thrown as they are (ENOENT, EACCES, EISDIR; ENOTREG for a device), the size as a
 * YamlInputError.
 */
export function readYamlText(file: string): string {
  const st = statSync(file);
  if (st.isDirectory()) throw Object.assign(new Error(`EISDIR: ${file} is a directory`), { code: 'EISDIR' });
  if (!st.isFile()) throw Object.assign(new Error(`${file} is not a regular file`), { code: 'ENOTREG' });
  if (st.size > YAML_LIMITS.maxBytes) throw tooLarge(st.size);
  return readFileSync(file, 'utf8');
}

/** Size and nesting depth of YAML text, checked before the yaml library sees it. */
export function checkYamlText(text: string): void {
  const bytes = Buffer.byteLength(text, 'utf8');
  if (bytes > YAML_LIMITS.maxBytes) throw tooLarge(bytes);
  const anchorLine = nthAnchorLine(text, YAML_LIMITS.maxAnchors + 1);
  if (anchorLine !== null) {
    throw new YamlInputError(`more than ${YAML_LIMITS.maxAnchors} anchors (&name) in one file; write the values out instead`, anchorLine);
  }
  const deepest = deepestLine(text, YAML_LIMITS.maxDepth);
  if (deepest !== null) {
    throw new YamlInputError(`nesting deeper than ${YAML_LIMITS.maxDepth} levels (the limit for a Linesight YAML file)`, deepest);
  }
}

/** doc.toJS within the alias limit; an alias bomb or an unknown alias is a YamlInputError on the alias's line. */
export function yamlToJs(doc: Document, lineCounter: LineCounter): unknown {
  try {
    return doc.toJS({ maxAliasCount: YAML_LIMITS.maxAliasCount });
  } catch (err) {
    if (!(err instanceof ReferenceError)) throw err;
    const unresolved = /^Unresolved alias.*: (.+)$/.exec(err.message)?.[1];
    const line = aliasLine(doc, lineCounter, unresolved);
    const message = unresolved
      ? `alias *${unresolved} has no anchor &${unresolved} before it`
      : `aliases expand to more than ${YAML_LIMITS.maxAliasCount} nodes (an alias bomb?); write the values out or use fewer aliases`;
    throw new YamlInputError(message, line, { cause: err });
  }
}

/**
 * A whole YAML file to plain data within the limits, for readers that report one problem (model.yaml,
 * calibration files): I/O errors as thrown by readYamlText, everything else a YamlInputError.
 */
export function readYamlFile(file: string): unknown {
  const text = readYamlText(file);
  checkYamlText(text);
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { ...YAML_PARSE_OPTIONS, lineCounter });
  const first = doc.errors[0];
  if (first) throw new YamlInputError(firstLine(first.message), first.linePos?.[0].line ?? 1, { cause: first });
  return yamlToJs(doc, lineCounter);
}

/** yaml's message without its position suffix and code excerpt (the line is reported separately). */
export function firstLine(message: string): string {
  return message.split('\n')[0]!.replace(/ at line \d+, column \d+:?$/, '');
}

/**
 * Line of the n-th anchor (`&name` where a node may start: after a space, `[`, `{`, `,`, `-` or at a line's start),
 * or null. Counts an `&word` inside a quoted string too: a real configuration is far from the limit either way.
 */
function nthAnchorLine(text: string, n: number): number | null {
  const anchor = /(?:^|[\s[{,-])&[^\s,[\]{}]/gm;
  let count = 0;
  let match: RegExpExecArray | null;
  while ((match = anchor.exec(text)) !== null) {
    if (++count < n) continue;
    let line = 1;
    for (let i = 0; i < match.index; i++) if (text.charCodeAt(i) === 10) line++;
    return line;
  }
  return null;
}

function tooLarge(bytes: number): YamlInputError {
  return new YamlInputError(`${bytes} bytes, more than the ${YAML_LIMITS.maxBytes}-byte limit for a Linesight YAML file`, 1);
}

function aliasLine(doc: Document, lineCounter: LineCounter, name: string | undefined): number {
  let offset: number | null = null;
  visit(doc, {
    Alias(_key, node) {
      if (!isAlias(node) || (name !== undefined && node.source !== name)) return undefined;
      offset = node.range?.[0] ?? null;
      return visit.BREAK;
    },
  });
  return offset === null ? 1 : lineCounter.linePos(offset).line;
}

/**
 * First line whose nesting depth passes `max`, or null. Depth = open block indentation levels + leading `- `
 * entries on the line + open flow collections (`[`/`{` where a value may start, outside quotes and comments).
 * Block scalars (`|`, `>`) are skipped. An estimate that never undercounts a real `[[[[` or `- - - -` bomb and is
 * far from the limit on any real configuration.
 */
function deepestLine(text: string, max: number): number | null {
  const indents: number[] = [];
  let flow = 0;
  let blockScalarIndent = -1;
  let lineNo = 0;
  for (const line of text.split('\n')) {
    lineNo++;
    const indent = line.length - line.trimStart().length;
    const content = line.slice(indent);
    if (blockScalarIndent >= 0) {
      if (content === '' || indent > blockScalarIndent) continue;
      blockScalarIndent = -1;
    }
    if (content === '' || content.startsWith('#')) continue;
    let dashes = 0;
    if (flow === 0) {
      while (indents.length > 0 && indents[indents.length - 1]! >= indent) indents.pop();
      indents.push(indent);
      dashes = /^(?:-(?:\s+|$))*/.exec(content)![0].split('-').length - 1;
    }
    flow = scanFlow(content, flow);
    if (indents.length + dashes + flow > max) return lineNo;
    if (/(?:^|[\s:-])[|>][-+0-9]*\s*(?:#.*)?$/.test(content)) blockScalarIndent = indent;
  }
  return null;
}

/** Open flow collections after one line's content, starting from `depth`. */
function scanFlow(content: string, depth: number): number {
  let prev = '';
  for (let i = 0; i < content.length; i++) {
    const c = content[i]!;
    if (c === '"' || c === "'") {
      const close = content.indexOf(c, i + 1);
      if (close < 0) return depth;
      i = close;
      prev = c;
      continue;
    }
    if (c === '#' && (i === 0 || content[i - 1] === ' ')) return depth;
    if ((c === '[' || c === '{') && (prev === '' || ':-,[{?'.includes(prev))) depth++;
    else if ((c === ']' || c === '}') && depth > 0) depth--;
    if (c !== ' ' && c !== '\t') prev = c;
  }
  return depth;
}
