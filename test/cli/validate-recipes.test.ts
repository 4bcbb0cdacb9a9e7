/**
 * `linesight validate` checks a station's alternative recipes (`recipes:`) as it checks its default: each recipe's
 * models are loaded and verified (sha256 pin …) and its metrology calibration read, each problem placed at its key
 * in the YAML; recipe ids must be unique within the station. A line without `recipes:` stays valid.
 */
import { cpSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { lineOf } from '../helpers/file-lines.ts';
import { linesight, ROOT } from '../helpers/cli.ts';
import { withDeadline } from '../helpers/wait.ts';

const dir = mkdtempSync(path.join(tmpdir(), 'ls-validate-recipes-'));
const surface = `${ROOT}/models/surface-anomaly/model.yaml`;
const segmenter = `${ROOT}/models/surface-segmenter/model.yaml`;
let wrongPin = '';

beforeAll(() => {
  const copy = path.join(dir, 'models/surface-anomaly');
  cpSync(path.join(ROOT, 'models/surface-anomaly'), copy, { recursive: true });
  wrongPin = path.join(copy, 'model.yaml');
  writeFileSync(wrongPin, readFileSync(wrongPin, 'utf8').replace(/sha256: [0-9a-f]{64}/, `sha256: "${'0'.repeat(64)}"`));
});

/** A one-station line whose station ends with `recipes` (YAML lines at the station's indentation, or ''). */
function line(name: string, recipes: string): string {
  const file = path.join(dir, `${name}.yaml`);
  writeFileSync(
    file,
    `line: recipes-test
store: { path: ${dir}/${name}.sqlite }
stations:
  - name: surface
    recipe: panel-A
    source: { type: synthetic, scene: surface }
    trigger: { mode: software }
    models:
      - manifest: ${surface}
${recipes}`,
  );
  return file;
}

async function validate(file: string) {
  const r = await withDeadline(linesight('validate', file), 90_000, `validate ${file}`);
  return { ...r, problems: r.stderr.split('\n').filter((l) => l.startsWith(`${file}:`)) };
}

describe('linesight validate checks alternative recipes like the default', () => {
  it('passes a line without recipes and one whose alternatives load', async () => {
    const plain = await validate(line('plain', ''));
    expect(plain.stderr).toBe('');
    expect(plain.code).toBe(0);
    const file = line(
      'ok',
      `    recipes:
      - id: panel-B
        description: stricter threshold
        models:
          - { manifest: ${surface}, anomaly: { threshold: 0.3 } }
      - id: segmented
        models:
          - { manifest: ${segmenter}, name: segmenter }
`,
    );
    const r = await validate(file);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout.split('\n')).toContain(`${file}: ok (1 station(s))`);
  });

  it("refuses an alternative recipe's model whose sha256 pin does not match, at its manifest line (exit 3)", async () => {
    const file = line(
      'sha',
      `    recipes:
      - id: panel-B
        models:
          - manifest: ${segmenter}
          - manifest: ${wrongPin}
`,
    );
    const r = await validate(file);
    expect(r.code, r.stderr).toBe(3);
    expect(r.problems).toHaveLength(1);
    expect(r.problems[0]).toMatch(
      new RegExp(
        `^${file.replaceAll('.', '\\.')}:${lineOf(file, wrongPin)} stations\\[0\\]\\.recipes\\[0\\]\\.models\\[1\\]\\.manifest: LS_ERR_MODEL_SHA256_MISMATCH: .*sha256 [0-9a-f]{64} ≠ pinned 0{64}`,
      ),
    );
  });

  it("refuses an alternative recipe's missing calibration file, at its calibration line (exit 2)", async () => {
    const file = line(
      'calibration',
      `    recipes:
      - id: drilled
        models:
          - manifest: ${surface}
        metrology:
          calibration: ${dir}/no-such-calibration.yaml
          defaults: { diameterMm: 5, plusMm: 0.05, minusMm: 0.05, positionTolMm: 0.15, roundnessMaxMm: 0.03 }
          holes:
            - { id: A1, xMm: 5.6, yMm: 8.4 }
`,
    );
    const r = await validate(file);
    expect(r.code, r.stderr).toBe(2);
    expect(r.problems).toHaveLength(1);
    expect(r.problems[0]).toContain(
      `${file}:${lineOf(file, 'calibration:')} stations[0].recipes[0].metrology.calibration: LS_ERR_CALIBRATION_INVALID`,
    );
  });

  it('refuses a recipe id used twice, or the default recipe id again, at the id line (exit 2)', async () => {
    const file = line(
      'ids',
      `    recipes:
      - id: panel-B
        models: [{ manifest: ${surface} }]
      - id: panel-A
        models: [{ manifest: ${surface} }]
      - id: panel-B
        models: [{ manifest: ${surface} }]
`,
    );
    const r = await validate(file);
    expect(r.code, r.stderr).toBe(2);
    expect(r.problems).toEqual([
      `${file}:${lineOf(file, '- id: panel-A')} stations[0].recipes[1].id: recipe id 'panel-A' is the station's default recipe: an alternative needs an id of its own`,
      expect.stringMatching(
        new RegExp(`:${lineOf(file, '- id: panel-A') + 2} stations\\[0\\]\\.recipes\\[2\\]\\.id: recipe id 'panel-B' is used twice in this station$`),
      ),
    ]);
  });
});
