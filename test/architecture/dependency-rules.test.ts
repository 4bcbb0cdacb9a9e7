/**
 * The house rules (.dependency-cruiser.cjs, docs/architecture.md) must bite: a tree with planted wrong-way imports
 * fails with the rule names, and models/ holds no code. CI also runs `npm run lint:deps` on the real tree.
 */
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';

const ROOT = path.resolve(import.meta.dirname, '../..');
const run = promisify(execFile);
const dir = mkdtempSync(path.join(tmpdir(), 'ls-deprules-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function plant(file: string, text: string): void {
  mkdirSync(path.dirname(path.join(dir, file)), { recursive: true });
  writeFileSync(path.join(dir, file), text);
}

describe('dependency rules', () => {
  it('fail on a wrong-way import, a sideways adapter import, a cycle and run reaching the trainers', async () => {
    plant('tsconfig.json', '{"compilerOptions":{"allowImportingTsExtensions":true,"noEmit":true,"module":"NodeNext"}}');
    plant('runtime/core.ts', "import '../adapters/sink/a/index.ts';\nexport {};\n");
    plant('adapters/sink/a/index.ts', "import '../b/index.ts';\nexport {};\n");
    plant('adapters/sink/b/index.ts', 'export {};\n');
    plant('training/trainer.ts', 'export {};\n');
    plant('cli/commands/run.ts', "import '../helper.ts';\nexport {};\n");
    plant('cli/helper.ts', "import '../training/trainer.ts';\nexport {};\n");
    plant('sim/p.ts', "import './q.ts';\nexport {};\n");
    plant('sim/q.ts', "import './p.ts';\nexport {};\n");
    const bin = path.join(ROOT, 'node_modules/.bin/depcruise');
    const args = ['runtime', 'adapters', 'training', 'cli', 'sim', '--config', path.join(ROOT, '.dependency-cruiser.cjs')];
    const out = await run(bin, args, { cwd: dir, timeout: 60_000 }).then(
      (r) => ({ code: 0, text: r.stdout }),
      (e: { code: number; stdout: string }) => ({ code: e.code, text: e.stdout }),
    );
    expect(out.code).not.toBe(0);
    expect(out.text).toContain('runtime-depends-on-nothing-of-ours: runtime/core.ts → adapters/sink/a/index.ts');
    expect(out.text).toContain('no-adapter-imports-another: adapters/sink/a/index.ts → adapters/sink/b/index.ts');
    expect(out.text).toMatch(/run-never-loads-trainers: cli\/commands\/run\.ts → training\/trainer\.ts\s+cli\/helper\.ts/);
    expect(out.text).toMatch(/no-circular: sim\/[pq]\.ts → \s+sim\/[pq]\.ts/);
  });

  it('models/ holds shipped artefacts only, no code', () => {
    const code: string[] = [];
    const walk = (d: string): void => {
      for (const e of readdirSync(d, { withFileTypes: true })) {
        const p = path.join(d, e.name);
        if (e.isDirectory()) walk(p);
        else if (/\.(ts|js|mjs|cjs|py)$/.test(e.name)) code.push(path.relative(ROOT, p));
      }
    };
    walk(path.join(ROOT, 'models'));
    expect(code).toEqual([]);
  });
});
