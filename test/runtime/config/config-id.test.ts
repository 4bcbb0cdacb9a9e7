/** The configuration id (OPC 40100 InternalConfigurationId) is a hash of the effective line config. */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../../cli/boot.ts';
import { configIdOf } from '../../../runtime/config/config-id.ts';
import { MINIMAL_LINE_YAML } from '../../fakes/line-yaml.ts';

const dir = mkdtempSync(path.join(tmpdir(), 'ls-config-id-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function idOf(name: string, yaml: string): string {
  const file = path.join(dir, name);
  mkdirSync(path.dirname(file), { recursive: true });
  writeFileSync(file, yaml);
  return configIdOf(loadConfig(file));
}

const BASE = MINIMAL_LINE_YAML;

describe('configIdOf', () => {
  it('is 16 hex digits, the same for comments, key order and spelled-out defaults, and for another folder', () => {
    const id = idOf('a.yaml', BASE);
    expect(id).toMatch(/^[0-9a-f]{16}$/);
    const reordered = `# the same line
store: { path: results.sqlite }
line: l1
description: ''
stations:
  - recipe: r
    name: st-1
    trigger: { mode: software }
    source: { scene: surface, type: synthetic }
    poolSlots: 4
    models: [{ manifest: m/model.yaml, intraOpThreads: 1 }]
`;
    expect(idOf('elsewhere/b.yaml', reordered)).toBe(id);
  });

  it('changes with anything that can change a verdict', () => {
    const id = idOf('c.yaml', BASE);
    expect(BASE).toContain('recipe: r\n');
    expect(idOf('d.yaml', BASE.replace('recipe: r\n', 'recipe: r2\n'))).not.toBe(id);
    const edited = BASE.replace('- manifest: m/model.yaml', '- { manifest: m/model.yaml, anomaly: { threshold: 0.7 } }');
    expect(edited).not.toBe(BASE);
    expect(idOf('e.yaml', edited)).not.toBe(id);
  });
});
