import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../../cli/boot.ts';
import { checkYamlText, YAML_LIMITS } from '../../../runtime/config/yaml-limits.ts';
import { isLinesightError, type ErrorCode, type LinesightError } from '../../../runtime/errors.ts';
import { readManifest } from '../../../runtime/inference/onnx-model.ts';
import { readCalibration } from '../../../runtime/metrology/calibration.ts';
import { ROOT } from '../../helpers/cli.ts';
import { MINIMAL_LINE_YAML } from '../../fakes/line-yaml.ts';

const dir = mkdtempSync(path.join(tmpdir(), 'ls-yaml-limits-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function write(name: string, text: string): string {
  const file = path.join(dir, name);
  writeFileSync(file, text);
  return file;
}

function failure(code: ErrorCode, load: () => unknown): LinesightError {
  let err: unknown = null;
  try {
    load();
  } catch (e) {
    err = e;
  }
  if (!isLinesightError(err, code)) throw new Error(`expected ${code}, got ${String(err)}`);
  expect(err.cause, 'the error keeps its cause').toBeDefined();
  return err;
}

const VALID = MINIMAL_LINE_YAML;

/** Nine levels of nine aliases: 9^6 "lol"s once expanded. */
const BOMB = `a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]
b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]
c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]
d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]
e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]
f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]
`;

describe('YAML limits on the line YAML', () => {
  it('refuses an alias bomb as LS_ERR_CONFIG_INVALID at the first alias, FILE:LINE: message', () => {
    const file = write('bomb.yaml', VALID + BOMB);
    const err = failure('LS_ERR_CONFIG_INVALID', () => loadConfig(file));
    expect(err.message).toContain(`${file}:11 (root): aliases expand to more than ${YAML_LIMITS.maxAliasCount} nodes`);
    expect(err.context.problems).toEqual([expect.objectContaining({ line: 11 })]);
  });

  it('still accepts ordinary anchors and aliases', () => {
    const file = write(
      'anchors.yaml',
      VALID.replace('trigger: { mode: software }', 'trigger: &t { mode: software }') +
        VALID.split('stations:\n')[1]!
          .replace('st-1', 'st-2')
          .replace(/trigger: .*/, 'trigger: *t'),
    );
    expect(loadConfig(file).stations.map((s) => s.trigger.mode)).toEqual(['software', 'software']);
  });

  it('refuses an alias with no anchor on its line', () => {
    const file = write('unresolved.yaml', VALID.replace('recipe: r', 'recipe: *nowhere'));
    expect(failure('LS_ERR_CONFIG_INVALID', () => loadConfig(file)).message).toContain(
      `${file}:5 (root): alias *nowhere has no anchor &nowhere before it`,
    );
  });

  it('refuses a file over 1 MiB before parsing it', () => {
    const file = write('big.yaml', VALID + `# ${'x'.repeat(YAML_LIMITS.maxBytes)}\n`);
    const err = failure('LS_ERR_CONFIG_INVALID', () => loadConfig(file));
    expect(err.message).toMatch(new RegExp(`${file}:1 \\(root\\): \\d+ bytes, more than the 1048576-byte limit`));
  });

  it('refuses nesting bombs that would exhaust the stack or the heap of the yaml parser', () => {
    for (const [name, text] of [
      ['flow.yaml', `line: x\nstations: ${'['.repeat(500_000)}`],
      ['dashes.yaml', `line: x\nstations:\n  ${'- '.repeat(500_000)}x\n`],
      ['maps.yaml', Array.from({ length: 200 }, (_, i) => `${' '.repeat(i)}k${i}:`).join('\n')],
    ] as const) {
      const file = write(name, text);
      const err = failure('LS_ERR_CONFIG_INVALID', () => loadConfig(file));
      expect(err.message).toMatch(new RegExp(`${file}:\\d+ \\(root\\): nesting deeper than ${YAML_LIMITS.maxDepth} levels`));
    }
  });

  it('refuses a device or a folder as the config without reading it (LS_ERR_CONFIG_UNREADABLE naming the cause)', () => {
    expect(failure('LS_ERR_CONFIG_UNREADABLE', () => loadConfig('/dev/zero')).message).toMatch(/cannot read \/dev\/zero: .*not a regular file/);
    const folder = path.join(dir, 'folder.yaml');
    mkdirSync(folder);
    expect(failure('LS_ERR_CONFIG_UNREADABLE', () => loadConfig(folder)).message).toContain(`cannot read ${folder}: EISDIR`);
    const missing = path.join(dir, 'missing.yaml');
    expect(failure('LS_ERR_CONFIG_UNREADABLE', () => loadConfig(missing)).message).toBe(
      `LS_ERR_CONFIG_UNREADABLE: cannot read ${missing}: ENOENT: no such file or directory`,
    );
  });

  it('leaves every shipped YAML file well inside the limits', () => {
    const files = [
      ...readdirSync(path.join(ROOT, 'configs'))
        .filter((f) => f.endsWith('.yaml'))
        .map((f) => path.join(ROOT, 'configs', f)),
      ...readdirSync(path.join(ROOT, 'models')).map((m) => path.join(ROOT, 'models', m, 'model.yaml')),
      ...readdirSync(path.join(ROOT, 'calibration'))
        .filter((f) => f.endsWith('.yaml'))
        .map((f) => path.join(ROOT, 'calibration', f)),
    ];
    expect(files.length).toBeGreaterThan(5);
    for (const f of files) expect(() => checkYamlText(readFileSync(f, 'utf8')), f).not.toThrow();
  });
});

describe('YAML limits on model.yaml and calibration files', () => {
  it('model.yaml: a bomb is LS_ERR_MODEL_MANIFEST_INVALID with PATH:LINE, a missing file names the path and cause', () => {
    const manifest = write('model.yaml', `name: m\nonnx: m.onnx\n${BOMB}`);
    let err = failure('LS_ERR_MODEL_MANIFEST_INVALID', () => readManifest(manifest));
    expect(err.message).toContain(`${manifest}:4: aliases expand to more than`);
    expect(err.context.manifest).toBe(manifest);
    const missing = path.join(dir, 'none', 'model.yaml');
    err = failure('LS_ERR_MODEL_MANIFEST_INVALID', () => readManifest(missing));
    expect(err.message).toBe(`LS_ERR_MODEL_MANIFEST_INVALID: cannot read ${missing}: ENOENT: no such file or directory`);
    expect(err.context).toMatchObject({ manifest: missing, file: missing });
    const broken = write('broken-model.yaml', 'name: [unclosed\n');
    expect(failure('LS_ERR_MODEL_MANIFEST_INVALID', () => readManifest(broken)).message).toMatch(new RegExp(`${broken}:\\d+: `));
  });

  it('calibration: a bomb or a nesting bomb is LS_ERR_CALIBRATION_INVALID with PATH:LINE', () => {
    const cal = write('cal.yaml', `kind: telecentric\n${BOMB}`);
    expect(failure('LS_ERR_CALIBRATION_INVALID', () => readCalibration(cal)).message).toContain(`${cal}:3: aliases expand to more than`);
    const deep = write('deep-cal.yaml', `kind: ${'{'.repeat(100_000)}`);
    expect(failure('LS_ERR_CALIBRATION_INVALID', () => readCalibration(deep)).message).toContain(`${deep}:1: nesting deeper than`);
  });
});
