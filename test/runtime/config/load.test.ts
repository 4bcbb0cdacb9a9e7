import { mkdtempSync, writeFileSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../../cli/boot.ts';
import { isLinesightError, type LinesightError } from '../../../runtime/errors.ts';
import { renderJsonSchema, SCHEMA_FILE } from '../../../cli/build-schema.ts';
import { MINIMAL_LINE_YAML } from '../../fakes/line-yaml.ts';

const dir = mkdtempSync(path.join(tmpdir(), 'ls-config-'));

function write(name: string, text: string): string {
  const file = path.join(dir, name);
  writeFileSync(file, text);
  return file;
}

const VALID = `${MINIMAL_LINE_YAML}        anomaly:
          threshold: 0.6
`;

function problemsOf(file: string): { line: number; keyPath: string; message: string }[] {
  try {
    loadConfig(file);
  } catch (err) {
    expect(isLinesightError(err, 'LS_ERR_CONFIG_INVALID')).toBe(true);
    return (err as LinesightError).context.problems as { line: number; keyPath: string; message: string }[];
  }
  throw new Error('config was accepted');
}

describe('line config loading', () => {
  it('accepts a valid file, fills defaults and freezes the result', () => {
    const config = loadConfig(write('ok.yaml', VALID));
    expect(config.stations[0]!.backpressure).toEqual({ policy: 'every-trigger', queueDepth: 2 });
    expect(config.stations[0]!.poolSlots).toBe(4);
    expect(config.dir).toBe(dir);
    expect(Object.isFrozen(config.stations[0])).toBe(true);
  });

  it('names file, line and key path for a wrong type', () => {
    const file = write('type.yaml', VALID.replace('threshold: 0.6', 'threshold: high'));
    const p = problemsOf(file)[0]!;
    expect(p.line).toBe(11);
    expect(p.keyPath).toBe('stations[0].models[0].anomaly.threshold');
    expect(p.message).toMatch(/expected number/);
    expect(
      (() => {
        try {
          loadConfig(file);
        } catch (e) {
          return (e as Error).message;
        }
      })(),
    ).toContain(`${file}:11 stations[0].models[0].anomaly.threshold:`);
  });

  it('rejects unknown keys on the line of the key', () => {
    const p = problemsOf(write('unknown.yaml', VALID.replace('    recipe: r\n', '    recipe: r\n    recipie: typo\n')))[0]!;
    expect(p).toMatchObject({ line: 6, keyPath: 'stations[0].recipie' });
    expect(p.message).toContain("unknown key 'recipie'");
  });

  it('reports a missing required key at its parent', () => {
    const p = problemsOf(write('missing.yaml', VALID.replace('    recipe: r\n', '')))[0]!;
    expect(p.keyPath).toBe('stations[0].recipe');
    expect(p.line).toBe(4);
  });

  it('rejects an unknown adapter type', () => {
    const problems = problemsOf(write('adapter.yaml', VALID.replace('type: synthetic, scene: surface', 'type: gige')));
    expect(problems[0]!.keyPath).toBe('stations[0].source.type');
    expect(problems[0]!.line).toBe(6);
  });

  it('reports YAML syntax errors with their line', () => {
    const problems = problemsOf(write('syntax.yaml', `${VALID}  - name: [unclosed\n`));
    expect(problems[0]!.line).toBeGreaterThanOrEqual(12);
  });

  it('refuses duplicate station names', () => {
    const twice = VALID + VALID.split('stations:\n')[1];
    expect(problemsOf(write('dup.yaml', twice))[0]!.message).toContain('unique');
  });

  it('keeps configs/linesight.schema.json in step with the zod schema (run npm run build:schema)', () => {
    expect(readFileSync(SCHEMA_FILE, 'utf8')).toBe(renderJsonSchema());
  });

  it('refuses two sinks of one name in a station (they would share one outbox key), on the second one', () => {
    const file = write('sinks.yaml', `${VALID}    sinks:\n      - { type: log }\n      - { type: log, level: debug }\n`);
    const problems = problemsOf(file);
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatchObject({ keyPath: 'stations[0].sinks[1].name', line: 14 }); // the second sink's line
    expect(problems[0]!.message).toMatch(/sink name 'log' is used twice/);
    expect(() => loadConfig(write('sinks-ok.yaml', `${VALID}    sinks:\n      - { type: log }\n      - { type: log, name: audit }\n`))).not.toThrow();
  });

  it('refuses trigger.via naming no sink of the station', () => {
    const file = write('via.yaml', VALID.replace('trigger: { mode: software }', 'trigger: { mode: plc, via: plc }'));
    const problems = problemsOf(file);
    expect(problems.map((p) => [p.keyPath, p.line])).toEqual([['stations[0].trigger.via', 7]]);
    expect(problems[0]!.message).toMatch(/'plc' names no sink of this station \(sinks: none\)/);
  });
});
