/**
 * Seeded corpus of broken line configs for the config fuzz test: every case is derived from the demo line
 * (configs/demo-line.yaml, its relative paths made absolute so it stands anywhere) or from a minimal line with a
 * folder source, by one mutation of a named class. Written into a temp folder at test time, the same bytes for
 * the same seed; nothing is committed but this generator.
 *
 * Each case says what the loader must do with it where that is certain (`expect`: reject, accept or any), for
 * the in-process schema load and for `linesight validate` (which also checks the files and ports a run needs).
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parse, stringify } from 'yaml';
import { Prng } from '../../sim/scenes/prng.ts';
import { YAML_LIMITS } from '../../runtime/config/yaml-limits.ts';

export const ROOT = path.resolve(import.meta.dirname, '../..');

export const CONFIG_CLASSES = [
  'control',
  'wrong-type',
  'out-of-range',
  'missing-key',
  'unknown-key',
  'duplicate-key',
  'wrong-enum',
  'deep-nesting',
  'alias-bomb',
  'anchor-merge',
  'encoding',
  'truncation',
  'long-string',
  'huge-file',
  'tabs',
  'indentation',
  'store-path',
  'duplicate-station',
  'port-range',
  'source-size',
  'syntax',
] as const;
export type ConfigClass = (typeof CONFIG_CLASSES)[number];

/** What a loader must make of a case: certain to be refused, certain to be taken, or either (bounded). */
export type Expectation = 'reject' | 'accept' | 'any';

export interface ConfigCase {
  readonly id: string;
  readonly klass: ConfigClass;
  readonly base: 'demo' | 'minimal';
  /** The mutation, in words (the table and failure messages quote it). */
  readonly note: string;
  readonly file: string;
  /** For the schema load (cli/boot.ts loadConfig). */
  readonly inProcess: Expectation;
  /** For `linesight validate`, which also checks store path, model files and port clashes. */
  readonly cli: Expectation;
}

/** The largest line YAML read (runtime/config/yaml-limits.ts); the huge-file cases sit at and just past it. */
const LIMIT = YAML_LIMITS.maxBytes;

interface Base {
  readonly name: 'demo' | 'minimal';
  readonly text: string;
  readonly obj: Json;
}

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };
type Key = string | number;

interface Draft {
  readonly bytes: string | Buffer;
  readonly note: string;
  readonly inProcess?: Expectation;
  readonly cli?: Expectation;
}

type Generator = (rng: Prng, base: Base, dir: string) => Draft;

/** The demo line with its model, calibration and store paths made absolute / local to `dir`. */
export function demoBaseText(): string {
  return readFileSync(path.join(ROOT, 'configs/demo-line.yaml'), 'utf8')
    .replaceAll('../models/', `${ROOT}/models/`)
    .replaceAll('../calibration/', `${ROOT}/calibration/`)
    .replace('../var/demo-line.sqlite', 'demo-line.sqlite');
}

export function minimalBaseText(): string {
  return `line: fuzz-minimal
description: one station replaying a folder
store: { path: minimal.sqlite }
stations:
  - name: folder-station
    recipe: r1
    source: { type: folder, path: frames, width: 512, height: 512 }
    trigger: { mode: free-run, fps: 5 }
    models:
      - manifest: ${ROOT}/models/surface-anomaly/model.yaml
        anomaly: { reason: SURFACE_DEFECT }
    sinks:
      - { type: log, level: info }
`;
}

/** Writes the corpus into `dir` (created) and returns its cases in a fixed order. */
export function writeConfigCorpus(dir: string, seed = 14): ConfigCase[] {
  mkdirSync(path.join(dir, 'frames'), { recursive: true });
  writeFileSync(path.join(dir, 'not-a-db.sqlite'), 'this is a text file, not an SQLite database\n');
  const bases: Base[] = [demoBaseText(), minimalBaseText()].map((text, i) => ({
    name: i === 0 ? 'demo' : 'minimal',
    text,
    obj: parse(text) as Json,
  }));
  const rng = new Prng(seed);
  const cases: ConfigCase[] = [];
  for (const [klass, count, gen] of PLAN) {
    for (let i = 0; i < count; i++) {
      const base = bases[i % 2]!;
      const draft = gen(rng, base, dir);
      const id = `c${String(cases.length + 1).padStart(3, '0')}-${klass}-${base.name}`;
      const file = path.join(dir, `${id}.yaml`);
      writeFileSync(file, draft.bytes);
      cases.push({
        id,
        klass,
        base: base.name,
        note: draft.note,
        file,
        inProcess: draft.inProcess ?? 'any',
        cli: draft.cli ?? draft.inProcess ?? 'any',
      });
    }
  }
  return cases;
}

// ---------------------------------------------------------------------------------------------------------------
// Tree helpers

function clone(j: Json): Json {
  return structuredClone(j);
}

function isMap(j: Json | undefined): j is { [k: string]: Json } {
  return typeof j === 'object' && j !== null && !Array.isArray(j);
}

function walk(j: Json, at: Key[], out: { leaves: Key[][]; maps: Key[][] }): void {
  if (Array.isArray(j)) j.forEach((v, i) => walk(v, [...at, i], out));
  else if (isMap(j)) {
    out.maps.push(at);
    for (const [k, v] of Object.entries(j)) walk(v, [...at, k], out);
  } else out.leaves.push(at);
}

function paths(j: Json): { leaves: Key[][]; maps: Key[][] } {
  const out = { leaves: [] as Key[][], maps: [] as Key[][] };
  walk(j, [], out);
  return out;
}

function get(j: Json, p: readonly Key[]): Json {
  let node: Json = j;
  for (const k of p) node = (node as Record<Key, Json>)[k]!;
  return node;
}

function set(j: Json, p: readonly Key[], value: Json | undefined): void {
  const parent = get(j, p.slice(0, -1)) as Record<Key, Json>;
  const last = p.at(-1)!;
  if (value === undefined) {
    if (Array.isArray(parent)) parent.splice(Number(last), 1);
    else delete parent[last];
  } else parent[last] = value;
}

const dump = (j: Json): string => stringify(j, { lineWidth: 0 });
const show = (p: readonly Key[]): string => p.map(String).join('.') || '(root)';

// ---------------------------------------------------------------------------------------------------------------
// Structural mutations (on the parsed tree, dumped again)

function alternativeTo(v: Json, rng: Prng): Json {
  if (typeof v === 'number') return rng.pick<Json>([String(v), true, [v], { value: v }, null]);
  if (typeof v === 'string') return rng.pick<Json>([42, false, [v], { name: v }, null]);
  if (typeof v === 'boolean') return rng.pick<Json>(['yes', 1, null, []]);
  return rng.pick<Json>(['x', 7, true]);
}

const wrongType: Generator = (rng, base) => {
  const obj = clone(base.obj);
  const { leaves, maps } = paths(obj);
  const p = rng.next() < 0.8 ? rng.pick(leaves) : rng.pick(maps.filter((m) => m.length > 0));
  const was = get(obj, p);
  const now = alternativeTo(was, rng);
  set(obj, p, now);
  return { bytes: dump(obj), note: `${show(p)}: ${JSON.stringify(was).slice(0, 30)} → ${JSON.stringify(now)}` };
};

const OUT_OF_RANGE: readonly (number | string)[] = [-1, 0, -0.5, 0.5, Infinity, -Infinity, NaN, 2 ** 53 + 2, 1e21, 65536, 'NaN', 'Infinity', '-1'];
const RAW_NUMBERS = [
  '1e999',
  '-1e999',
  '.nan',
  '.NaN',
  '-.inf',
  '0x7fffffff',
  '0o777',
  '1_000',
  '99999999999999999999999',
  '-0',
  '1e-400',
  '0.0000001',
];

const outOfRange: Generator = (rng, base) => {
  if (rng.next() < 0.5) {
    const obj = clone(base.obj);
    const nums = paths(obj).leaves.filter((p) => typeof get(obj, p) === 'number');
    const p = rng.pick(nums);
    const now = rng.pick(OUT_OF_RANGE);
    set(obj, p, now);
    return { bytes: dump(obj), note: `${show(p)} = ${typeof now === 'string' ? `'${now}'` : String(now)}` };
  }
  const matches = [...base.text.matchAll(/\b([A-Za-z]+): (-?\d+(?:\.\d+)?)(?=[\s,}\]]|$)/g)];
  const m = rng.pick(matches);
  const token = rng.pick(RAW_NUMBERS);
  const at = m.index + m[0].length - m[2]!.length;
  return { bytes: base.text.slice(0, at) + token + base.text.slice(at + m[2]!.length), note: `${m[1]}: ${m[2]} → ${token} (raw)` };
};

const missingKey: Generator = (rng, base) => {
  const obj = clone(base.obj);
  const maps = paths(obj).maps.filter((p) => Object.keys(get(obj, p) as object).length > 0);
  const p = rng.pick(maps);
  const key = rng.pick(Object.keys(get(obj, p) as object));
  set(obj, [...p, key], undefined);
  return { bytes: dump(obj), note: `without ${show([...p, key])}` };
};

const UNKNOWN_KEYS = ['colour', 'fpss', 'Name', 'models_', 'constructor', 'toString', 'hasOwnProperty', 'valueOf', 'enabled ', 'ßtation'];

const unknownKey: Generator = (rng, base, dir) => {
  const obj = clone(base.obj);
  const p = rng.pick(paths(obj).maps);
  const key = rng.pick(UNKNOWN_KEYS);
  const target = get(obj, p) as Record<string, Json>;
  if (Object.hasOwn(target, key)) return unknownKey(rng, base, dir);
  target[key] = rng.pick<Json>([1, 'x', true, { nested: 1 }]);
  return { bytes: dump(obj), note: `${show(p)} gains '${key}'`, inProcess: 'reject' };
};

const ENUM_KEYS = new Set(['type', 'mode', 'policy', 'scene', 'logLevel', 'pixelFormat', 'level', 'family']);
const WRONG_ENUMS = [
  'Free-Run',
  'freerun',
  'SYNTHETIC',
  '',
  ' folder',
  'modbus-tcp',
  'INFO',
  'mono8',
  'latest_wins',
  'surface ',
  'none',
  'null',
  '*',
];

const wrongEnum: Generator = (rng, base) => {
  const obj = clone(base.obj);
  const p = rng.pick(paths(obj).leaves.filter((q) => ENUM_KEYS.has(String(q.at(-1)))));
  const was = get(obj, p);
  let now = rng.pick(WRONG_ENUMS);
  if (now === was) now = `${now}-x`;
  set(obj, p, now);
  return { bytes: dump(obj), note: `${show(p)}: ${JSON.stringify(was)} → '${now}'`, inProcess: 'reject' };
};

// ---------------------------------------------------------------------------------------------------------------
// Text mutations

const duplicateKey: Generator = (rng, base) => {
  const lines = base.text.split('\n');
  if (rng.next() < 0.25) {
    const text = base.text.replace(/\{ type: (\w+)/, '{ type: $1, type: $1');
    return { bytes: text, note: 'a flow map names `type` twice', inProcess: 'reject' };
  }
  const candidates = lines.map((l, i) => [l, i] as const).filter(([l]) => /^\s*[A-Za-z]+: \S/.test(l) && !/^\s*- /.test(l));
  const [line, i] = rng.pick(candidates);
  const changed = line.replace(/: .*$/, ': 7');
  lines.splice(i + 1, 0, changed);
  return { bytes: lines.join('\n'), note: `line ${i + 1} '${line.trim().slice(0, 30)}' repeated`, inProcess: 'reject' };
};

function nested(depth: number, open: string, close: string, leaf: string): string {
  return open.repeat(depth) + leaf + close.repeat(depth);
}

const DEEP: readonly (readonly [string, (b: Base) => string])[] = [
  ['flow sequence 100 deep as description', (b) => b.text.replace(/^description: .*$/m, `description: ${nested(100, '[', ']', '1')}`)],
  ['flow sequence 1000 deep as an unknown key', (b) => `${b.text}deep: ${nested(1000, '[', ']', '1')}\n`],
  ['flow sequence 10000 deep', (b) => `${b.text}deep: ${nested(10_000, '[', ']', '1')}\n`],
  ['flow sequence 100000 deep', (b) => `${b.text}deep: ${nested(100_000, '[', ']', '1')}\n`],
  ['flow map 5000 deep', (b) => `${b.text}deep: ${nested(5000, '{a: ', '}', '1')}\n`],
  ['block map 300 deep', (b) => `${b.text}deep:\n${Array.from({ length: 300 }, (_, i) => `${' '.repeat(2 * (i + 1))}a:`).join('\n')} 1\n`],
  ['block sequence 700 deep', (b) => `${b.text}deep:\n${Array.from({ length: 700 }, (_, i) => `${' '.repeat(2 * i)}-`).join('\n')} 1\n`],
  ['unclosed flow 50000 deep', (b) => `${b.text}deep: ${'['.repeat(50_000)}\n`],
];

const deepNesting: Generator = (() => {
  let n = 0;
  return (_rng, base) => {
    const [note, make] = DEEP[n++ % DEEP.length]!;
    return { bytes: make(base), note, inProcess: 'reject' };
  };
})();

/** "Billion laughs": `levels` anchors, each a sequence of `width` aliases of the one before. */
function laughs(levels: number, width: number, key = 'bomb'): string {
  const out = ['lol0: &l0 "lol"'];
  for (let i = 1; i <= levels; i++) out.push(`lol${i}: &l${i} [${Array.from({ length: width }, () => `*l${i - 1}`).join(', ')}]`);
  out.push(`${key}: *l${levels}`);
  return out.join('\n');
}

const BOMBS: readonly (readonly [string, (b: Base) => string])[] = [
  ['billion laughs 9×9 as unknown keys', (b) => `${b.text}${laughs(9, 9)}\n`],
  ['billion laughs 9×9 before the line', (b) => `${laughs(9, 9)}\n${b.text}`],
  ['billion laughs as the description', (b) => b.text.replace(/^description: .*$/m, `${laughs(8, 10, 'x')}\ndescription: *l8`)],
  ['doubling chain 40 levels', (b) => `${b.text}${laughs(40, 2)}\n`],
  ['1000 aliases of a scalar in one sequence', (b) => `${b.text}a: &a x\nmany: [${Array.from({ length: 1000 }, () => '*a').join(', ')}]\n`],
  ['bomb as a station recipe', (b) => b.text.replace(/recipe: \S+/, `recipe: &r0 [${'*r0, '.repeat(3)}x]`)],
  ['alias of an undefined anchor', (b) => b.text.replace(/recipe: \S+/, 'recipe: *nowhere')],
  ['self-referencing anchor', (b) => `${b.text}loop: &me [*me]\n`],
  ['bomb in a sink list', (b) => `${laughs(6, 12)}\n${b.text.replace(/sinks:\n/, 'sinks: *l6\nunused:\n')}`],
  ['500 anchors, each used once', (b) => `${b.text}${anchorsUsedOnce(500)}`],
  ['25000 anchors, each used once (under the size limit)', (b) => `${b.text}${anchorsUsedOnce(25_000)}`],
];

function anchorsUsedOnce(n: number): string {
  return Array.from({ length: n }, (_, i) => `k${i}: &a${i} ${i}\nr${i}: *a${i}\n`).join('');
}

const aliasBomb: Generator = (() => {
  let n = 0;
  return (_rng, base) => {
    const [note, make] = BOMBS[n++ % BOMBS.length]!;
    return { bytes: make(base), note, inProcess: 'reject' };
  };
})();

const ANCHORS: readonly (readonly [string, (b: Base) => string, Expectation])[] = [
  ['recipe shared through an anchor (valid)', (b) => b.text.replace(/recipe: (\S+)/, 'recipe: &rcp $1'), 'accept'],
  [
    'station repeated through an alias (duplicate name)',
    (b) => b.text.replace(/stations:\n {2}- name/, 'stations:\n  - &st\n    name') + '  - *st\n',
    'reject',
  ],
  ['merge key <<: from an anchor', (b) => `base: &b { recipe: merged }\n${b.text.replace(/recipe: \S+/, '<<: *b')}`, 'reject'],
  ['%YAML 1.1 directive with a merge key', (b) => `%YAML 1.1\n---\n${b.text.replace(/recipe: \S+/, 'recipe: m\n    <<: { maxParts: 3 }')}`, 'any'],
  ['alias used as a map key', (b) => `${b.text.replace(/^line: (\S+)/m, 'line: &k $1')}*k : 1\n`, 'reject'],
  ['!!binary tag on the recipe', (b) => b.text.replace(/recipe: \S+/, 'recipe: !!binary aGVsbG8='), 'reject'],
  ['!!set as the stations', (b) => b.text.replace('stations:', 'stations: !!set'), 'any'],
  ['unknown local tag !camera', (b) => b.text.replace(/source: /, 'source: !camera '), 'any'],
  ['!!js/function tag', (b) => b.text.replace(/recipe: \S+/, 'recipe: !!js/function "function () { return 1 }"'), 'any'],
  ['!!str on the fps', (b) => b.text.replace(/fps: (\d+)/, 'fps: !!str $1'), 'reject'],
];

const anchorMerge: Generator = (() => {
  let n = 0;
  return (_rng, base) => {
    const [note, make, expect] = ANCHORS[n++ % ANCHORS.length]!;
    return { bytes: make(base), note, inProcess: expect };
  };
})();

const utf8 = (s: string) => Buffer.from(s, 'utf8');
function utf16be(s: string): Buffer {
  const le = Buffer.from(s, 'utf16le');
  for (let i = 0; i + 1 < le.length; i += 2) [le[i], le[i + 1]] = [le[i + 1]!, le[i]!];
  return le;
}

function insertBytes(text: string, at: number, bytes: readonly number[]): Buffer {
  const b = utf8(text);
  return Buffer.concat([b.subarray(0, at), Buffer.from(bytes), b.subarray(at)]);
}

function garbage(rng: Prng, n: number, printable = false): Buffer {
  const out = Buffer.alloc(n);
  for (let i = 0; i < n; i++) out[i] = printable ? rng.int(0x20, 0x7e) : rng.int(0, 255);
  return out;
}

/** Byte offset of the first match of `re` in `text` (plus `skip` characters), for inserting bytes there. */
function offsetOf(text: string, re: RegExp, skip = 0): number {
  const m = re.exec(text);
  return Buffer.byteLength(text.slice(0, (m?.index ?? 0) + skip));
}

const ENCODINGS: readonly (readonly [string, (b: Base, rng: Prng) => Buffer, Expectation])[] = [
  ['UTF-8 BOM (valid)', (b) => Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), utf8(b.text)]), 'accept'],
  ['CRLF line ends (valid)', (b) => utf8(b.text.replaceAll('\n', '\r\n')), 'accept'],
  ['UTF-16LE with BOM', (b) => Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(b.text, 'utf16le')]), 'any'],
  ['UTF-16BE with BOM', (b) => Buffer.concat([Buffer.from([0xfe, 0xff]), utf16be(b.text)]), 'any'],
  ['UTF-16LE without BOM', (b) => Buffer.from(b.text, 'utf16le'), 'reject'],
  ['UTF-32LE BOM then UTF-8', (b) => Buffer.concat([Buffer.from([0xff, 0xfe, 0, 0]), utf8(b.text)]), 'any'],
  ['invalid UTF-8 (C3 28) in the description', (b) => insertBytes(b.text, offsetOf(b.text, /^description: /m, 13), [0xc3, 0x28]), 'any'],
  ['lone continuation byte 0x80 in the line name', (b) => insertBytes(b.text, offsetOf(b.text, /^line: /m, 6), [0x80]), 'reject'],
  ['overlong UTF-8 slash (C0 AF) in a station name', (b) => insertBytes(b.text, offsetOf(b.text, /name: /, 6), [0xc0, 0xaf]), 'reject'],
  ['UTF-8-encoded surrogate (ED A0 80) in a key', (b) => insertBytes(b.text, offsetOf(b.text, /recipe:/, 2), [0xed, 0xa0, 0x80]), 'reject'],
  ['FF FE in the middle of a line', (b) => insertBytes(b.text, offsetOf(b.text, /stations:/), [0xff, 0xfe]), 'any'],
  ['NUL byte first', (b) => insertBytes(b.text, 0, [0]), 'any'],
  ['NUL byte inside the line name', (b) => insertBytes(b.text, offsetOf(b.text, /^line: /m, 8), [0]), 'reject'],
  ['NUL byte inside a key', (b) => insertBytes(b.text, offsetOf(b.text, /stations:/, 3), [0]), 'reject'],
  ['NUL bytes at the end', (b) => Buffer.concat([utf8(b.text), Buffer.alloc(64)]), 'any'],
  ['escaped \\0 in a quoted recipe', (b) => utf8(b.text.replace(/recipe: (\S+)/, 'recipe: "$1\\0x"')), 'any'],
  ['1 KiB of random bytes', (_b, rng) => garbage(rng, 1024), 'reject'],
  ['64 KiB of random bytes', (_b, rng) => garbage(rng, 64 * 1024), 'reject'],
  ['4 KiB of random printable ASCII', (_b, rng) => garbage(rng, 4096, true), 'reject'],
  ['random bytes after a valid config', (b, rng) => Buffer.concat([utf8(b.text), garbage(rng, 512)]), 'any'],
  ['ESC and BEL control characters in the recipe', (b) => utf8(b.text.replace(/recipe: (\S+)/, 'recipe: $1\x1b[31m\x07')), 'any'],
  ['vertical tab and form feed as indentation', (b) => utf8(b.text.replace(/\n {4}recipe/, '\n\x0b\x0c  recipe')), 'reject'],
  ['old Mac CR-only line ends', (b) => utf8(b.text.replaceAll('\n', '\r')), 'any'],
  ['U+2028 line separator in a key', (b) => utf8(b.text.replace('stations:', 'sta\u2028tions:')), 'reject'],
  ['NEL (U+0085) line ends', (b) => utf8(b.text.replaceAll('\n', '\u0085')), 'any'],
];

const encoding: Generator = (() => {
  let n = 0;
  return (rng, base) => {
    const [note, make, expect] = ENCODINGS[n++ % ENCODINGS.length]!;
    return { bytes: make(base, rng), note, inProcess: expect };
  };
})();

const truncation: Generator = (rng, base) => {
  const bytes = utf8(base.text);
  const at = rng.next() < 0.1 ? rng.int(0, 3) : rng.int(0, bytes.length - 1);
  return { bytes: bytes.subarray(0, at), note: `cut at byte ${at} of ${bytes.length}` };
};

const LONG: readonly (readonly [string, (b: Base, dir: string) => string, Expectation, Expectation?])[] = [
  ['line name of 1,000,000 characters', (b) => b.text.replace(/^line: \S+/m, `line: ${'a'.repeat(1_000_000)}`), 'any'],
  ['description of 3 MiB', (b) => b.text.replace(/^description: .*$/m, `description: ${'d'.repeat(3 * 1024 * 1024)}`), 'any'],
  ['station name of 100,000 characters', (b) => b.text.replace(/name: \S+/, `name: ${'s'.repeat(100_000)}`), 'any'],
  ['unknown key of 100,000 characters', (b) => `${b.text}${'k'.repeat(100_000)}: 1\n`, 'reject'],
  ['store path of 100,000 characters', (b) => b.text.replace(/path: \S+\.sqlite/, `path: ${'p'.repeat(100_000)}.sqlite`), 'any', 'reject'],
  ['manifest path of 10,000 characters', (b) => b.text.replace(/manifest: \S+/, `manifest: /${'m/'.repeat(5000)}model.yaml`), 'any', 'reject'],
  ['one comment line of 2,000,000 characters', (b) => `# ${'c'.repeat(2_000_000)}\n${b.text}`, 'any'],
  ['double-quoted recipe with 200,000 escapes', (b) => b.text.replace(/recipe: \S+/, `recipe: "${'\\u00e9'.repeat(200_000)}"`), 'any'],
];

const longString: Generator = (() => {
  let n = 0;
  return (_rng, base, dir) => {
    const [note, make, inProcess, cli] = LONG[n++ % LONG.length]!;
    return { bytes: make(base, dir), note, inProcess, cli: cli ?? inProcess };
  };
})();

const HUGE: readonly (readonly [string, (b: Base) => string, Expectation])[] = [
  [
    `exactly the ${LIMIT}-byte limit: the config padded with comments (valid)`,
    (b) => padTo(b.text, LIMIT, '# padding padding padding padding\n'),
    'accept',
  ],
  [`${LIMIT + 1} bytes: one byte past the limit, comment padding`, (b) => padTo(b.text, LIMIT + 1, '# padding padding padding padding\n'), 'reject'],
  [`${4 * LIMIT + 1} bytes of comment padding`, (b) => padTo(b.text, 4 * LIMIT + 1, '# padding padding padding padding\n'), 'reject'],
  [`${16 * LIMIT + 1} bytes of comment padding`, (b) => padTo(b.text, 16 * LIMIT + 1, '# padding padding padding padding\n'), 'reject'],
  [`${LIMIT + 1} bytes: a flow sequence of numbers as an unknown key`, (b) => padTo(`${b.text}big: [`, LIMIT - 1, '1234567, ') + ']\n', 'reject'],
  [`${LIMIT + 1} bytes: thousands of stations`, (b) => manyStations(b, LIMIT + 1), 'reject'],
];
/** `prefix` followed by copies of `unit` up to exactly `size` bytes (the last line ends in a newline). */
function padTo(prefix: string, size: number, unit: string): string {
  const need = size - Buffer.byteLength(prefix);
  const body = unit.repeat(Math.ceil(need / unit.length)).slice(0, need);
  return prefix + (body.endsWith('\n') || body.length === 0 ? body : `${body.slice(0, -1)}\n`);
}

function manyStations(b: Base, size: number): string {
  const head = b.text.slice(0, b.text.indexOf('stations:')) + 'stations:\n';
  const parts: string[] = [head];
  let bytes = Buffer.byteLength(head);
  for (let i = 0; bytes < size; i++) {
    const st = `  - name: st-${i}\n    recipe: r\n    source: { type: synthetic, scene: surface }\n    trigger: { mode: software }\n    models: [{ manifest: ${ROOT}/models/surface-anomaly/model.yaml }]\n`;
    parts.push(st);
    bytes += st.length;
  }
  return parts.join('');
}

const hugeFile: Generator = (() => {
  let n = 0;
  return (_rng, base) => {
    const [note, make, expect] = HUGE[n++ % HUGE.length]!;
    return { bytes: make(base), note, inProcess: expect };
  };
})();

const tabs: Generator = (rng, base) => {
  const lines = base.text.split('\n');
  const mode = rng.int(0, 3);
  if (mode === 0)
    return {
      bytes: lines.map((l) => l.replace(/^( {2})+/, (s) => '\t'.repeat(s.length / 2))).join('\n'),
      note: 'every indent a tab',
      inProcess: 'reject',
    };
  if (mode === 1) return { bytes: base.text.replace(/: /g, ':\t'), note: 'a tab after every colon', inProcess: 'any' };
  if (mode === 2) return { bytes: base.text.replace(/\{ /g, '{\t'), note: 'tabs inside flow maps', inProcess: 'any' };
  // A key line in block context (not a continuation line inside a flow collection, where a tab is white space).
  const indented = lines.map((l, i) => [l, i] as const).filter(([l]) => /^ {2,}(- )?[A-Za-z]+:/.test(l));
  const [line, i] = rng.pick(indented);
  lines[i] = line.replace(/^ {2}/, '\t');
  return { bytes: lines.join('\n'), note: `line ${i + 1}: a tab for its first two spaces`, inProcess: 'reject' };
};

const indentation: Generator = (rng, base) => {
  const lines = base.text.split('\n');
  const content = lines.map((l, i) => [l, i] as const).filter(([l]) => /\S/.test(l) && !/^\s*#/.test(l));
  const [line, i] = rng.pick(content);
  const delta = rng.pick([-4, -2, -1, 1, 2, 3]);
  const indent = line.length - line.trimStart().length;
  lines[i] = ' '.repeat(Math.max(0, indent + delta)) + line.trimStart();
  return { bytes: lines.join('\n'), note: `line ${i + 1} indented ${delta > 0 ? '+' : ''}${delta}` };
};

const STORE_PATHS: readonly (readonly [string, (dir: string) => string, Expectation])[] = [
  ['the config folder itself (a directory)', (dir) => dir, 'reject'],
  ['under /proc', () => '/proc/linesight-fuzz.sqlite', 'reject'],
  ['/proc/self/status (a /proc file)', () => '/proc/self/status', 'reject'],
  ['under /proc/1', () => '/proc/1/x.sqlite', 'reject'],
  ['under /sys', () => '/sys/kernel/linesight.sqlite', 'reject'],
  ['/dev/null', () => '/dev/null', 'reject'],
  ['in a folder that does not exist', () => '/nonexistent-linesight-dir/x/y.sqlite', 'reject'],
  ['a text file that is not a database', (dir) => path.join(dir, 'not-a-db.sqlite'), 'reject'],
  ['the root folder', () => '/', 'reject'],
  ['.', () => '.', 'reject'],
  ['a file under a regular file', (dir) => path.join(dir, 'not-a-db.sqlite', 'inner.sqlite'), 'reject'],
  ['empty', () => '', 'reject'],
];

const storePath: Generator = (() => {
  let n = 0;
  return (_rng, base, dir) => {
    const [note, make, cli] = STORE_PATHS[n++ % STORE_PATHS.length]!;
    const value = make(dir);
    const text = base.text.replace(/store:\n {2}path: \S+|store: \{ path: [^}]+\}/, (m) =>
      m.startsWith('store: {') ? `store: { path: ${JSON.stringify(value)} }` : `store:\n  path: ${JSON.stringify(value)}`,
    );
    return { bytes: text, note: `store.path ${note}`, inProcess: value === '' ? 'reject' : 'any', cli };
  };
})();

const duplicateStation: Generator = (() => {
  let n = 0;
  return (_rng, base) => {
    const obj = clone(base.obj) as { stations: { name: string }[] };
    const first = obj.stations[0]!;
    const variants: [string, () => void][] = [
      ['the first station listed twice', () => obj.stations.push(structuredClone(first))],
      ['a second station named like the first', () => obj.stations.push({ ...structuredClone(first), name: first.name })],
      ['every station with the same name', () => obj.stations.push(structuredClone(first), structuredClone(first))],
    ];
    const [note, apply] = variants[n++ % variants.length]!;
    apply();
    return { bytes: dump(obj), note, inProcess: 'reject' };
  };
})();

const PORTS: readonly (readonly [string, (b: Base) => string, Expectation, Expectation])[] = [
  ['simulatedPlc.port -1', (b) => withPlc(b, '-1'), 'reject', 'reject'],
  ['simulatedPlc.port 0', (b) => withPlc(b, '0'), 'reject', 'reject'],
  ['simulatedPlc.port 65536', (b) => withPlc(b, '65536'), 'reject', 'reject'],
  ['simulatedPlc.port 1000000', (b) => withPlc(b, '1000000'), 'reject', 'reject'],
  ['simulatedPlc.port 502.5', (b) => withPlc(b, '502.5'), 'reject', 'reject'],
  ['simulatedPlc.port "5502" (a string)', (b) => withPlc(b, '"5502"'), 'reject', 'reject'],
  ['http.port -1', (b) => withHttp(b, '-1'), 'reject', 'reject'],
  ['http.port 65536', (b) => withHttp(b, '65536'), 'reject', 'reject'],
  ['modbus-server sink port 0', (b) => withServer(b, '0'), 'any', 'any'],
  ['modbus-server sink port 99999', (b) => withServer(b, '99999'), 'reject', 'reject'],
  ['modbus-server port = simulatedPlc port', (b) => withServer(withPlc(b, '15502'), '15502'), 'any', 'reject'],
  ['modbus-server port = http port', (b) => withServer(withHttp(b, '18420'), '18420'), 'any', 'reject'],
  ['http port = simulatedPlc port', (b) => withHttp(withPlc(b, '15503'), '15503'), 'any', 'reject'],
  ['two modbus-server sinks on one port', (b) => withServer(b, '15020', 2), 'any', 'reject'],
  ['modbus client sink port 65536', (b) => withClient(b, '65536'), 'reject', 'reject'],
  ['modbus client sink port -502', (b) => withClient(b, '-502'), 'reject', 'reject'],
];

function withPlc(b: Base, port: string): string {
  return /^simulatedPlc:\n {2}port: \d+/m.test(b.text)
    ? b.text.replace(/^simulatedPlc:\n {2}port: \d+/m, `simulatedPlc:\n  port: ${port}`)
    : b.text.replace(/^stations:/m, `simulatedPlc: { port: ${port} }\nstations:`);
}

function withHttp(b: Base | string, port: string): string {
  const text = typeof b === 'string' ? b : b.text;
  return /^http:\n {2}port: \d+/m.test(text)
    ? text.replace(/^http:\n {2}port: \d+/m, `http:\n  port: ${port}`)
    : text.replace(/^stations:/m, `http: { port: ${port} }\nstations:`);
}

/** Gives the first station `count` modbus-server sinks on `port` (replacing the demo's own). */
function withServer(b: Base | string, port: string, count = 1): string {
  const text = (typeof b === 'string' ? b : b.text).replace(/ {6}- type: modbus-server\n(?: {8}.*\n)+/, '');
  const sinks = Array.from(
    { length: count },
    (_, i) => `      - { type: modbus-server, name: srv-${i}, port: ${port}, allowlist: [127.0.0.1] }\n`,
  ).join('');
  return text.replace(/( {4}sinks:\n)/, `$1${sinks}`);
}

function withClient(b: Base, port: string): string {
  return b.text.replace(/( {4}sinks:\n)/, `$1      - { type: modbus, name: cl, port: ${port}, baseAddress: 0 }\n`);
}

const portRange: Generator = (() => {
  let n = 0;
  return (_rng, base) => {
    const [note, make, inProcess, cli] = PORTS[n++ % PORTS.length]!;
    return { bytes: make(base), note, inProcess, cli };
  };
})();

/** Frame sizes no frame pool can hold: `run` allocates width × height × poolSlots bytes at boot. */
const SOURCE_SIZES: readonly (readonly [string, (b: Base) => string])[] = [
  ['source height 2147483647', (b) => b.text.replace(/height: \d+/, 'height: 2147483647')],
  ['source 100000×100000', (b) => b.text.replace(/width: \d+, height: \d+/, 'width: 100000, height: 100000')],
  ['source 65536×65536 (4 GiB a frame)', (b) => b.text.replace(/width: \d+, height: \d+/, 'width: 65536, height: 65536')],
  [
    'source 20000×20000 with 256 pool slots',
    (b) => b.text.replace(/width: \d+, height: \d+/, 'width: 20000, height: 20000').replace(/( {4}recipe: \S+\n)/, '$1    poolSlots: 256\n'),
  ],
];

const sourceSize: Generator = (() => {
  let n = 0;
  return (_rng, base) => {
    const [note, make] = SOURCE_SIZES[n++ % SOURCE_SIZES.length]!;
    return { bytes: make(base), note, inProcess: 'any', cli: 'reject' };
  };
})();

const SYNTAX: readonly (readonly [string, (b: Base) => string])[] = [
  ['empty file', () => ''],
  ['only a comment', () => '# nothing here\n'],
  ['only a document start', () => '---\n'],
  ['null document', () => 'null\n'],
  ['a number', () => '42\n'],
  ['a quoted string', () => '"a line"\n'],
  ['an empty sequence', () => '[]\n'],
  ['a sequence of configs', (b) => `- ${b.text.split('\n').join('\n  ')}\n`],
  ['a lone {', () => '{\n'],
  ['an unclosed flow sequence', (b) => b.text.replace(/models:\n/, 'models: [\n')],
  ['an unclosed quote', (b) => b.text.replace(/recipe: (\S+)/, 'recipe: "$1')],
  ['two documents', (b) => `${b.text}---\n${b.text}`],
  ['garbage after the document end', (b) => `${b.text}...\n}}} not yaml {{{\n`],
  ['a complex key', (b) => `${b.text}? [a, b]\n: c\n`],
  ['%YAML 2.0 directive', (b) => `%YAML 2.0\n---\n${b.text}`],
  ['a bad %TAG directive', (b) => `%TAG !\n---\n${b.text}`],
  ['a stray anchor alone', () => '&a\n'],
  ['a stray alias alone', () => '*a\n'],
];

const syntax: Generator = (() => {
  let n = 0;
  return (_rng, base) => {
    const [note, make] = SYNTAX[n++ % SYNTAX.length]!;
    // yaml only warns about an unknown YAML version and reads on: either answer is bounded.
    return { bytes: make(base), note, inProcess: note.startsWith('%YAML 2.0') ? 'any' : 'reject' };
  };
})();

const control: Generator = (_rng, base) => ({ bytes: base.text, note: 'the base config, unchanged', inProcess: 'accept', cli: 'accept' });

const PLAN: readonly (readonly [ConfigClass, number, Generator])[] = [
  ['control', 2, control],
  ['wrong-type', 40, wrongType],
  ['out-of-range', 40, outOfRange],
  ['missing-key', 30, missingKey],
  ['unknown-key', 20, unknownKey],
  ['duplicate-key', 16, duplicateKey],
  ['wrong-enum', 20, wrongEnum],
  ['deep-nesting', DEEP.length, deepNesting],
  ['alias-bomb', BOMBS.length, aliasBomb],
  ['anchor-merge', ANCHORS.length, anchorMerge],
  ['encoding', ENCODINGS.length, encoding],
  ['truncation', 40, truncation],
  ['long-string', LONG.length, longString],
  ['huge-file', HUGE.length, hugeFile],
  ['tabs', 10, tabs],
  ['indentation', 20, indentation],
  ['store-path', STORE_PATHS.length, storePath],
  ['duplicate-station', 4, duplicateStation],
  ['port-range', PORTS.length, portRange],
  ['source-size', SOURCE_SIZES.length, sourceSize],
  ['syntax', SYNTAX.length, syntax],
];
