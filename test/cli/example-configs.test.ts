/** Every shipped line YAML (the demo line and configs/examples/) passes `linesight validate` as it stands. */
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { linesight, ROOT } from '../helpers/cli.ts';

const EXAMPLES = readdirSync(path.join(ROOT, 'configs/examples'))
  .filter((f) => f.endsWith('.yaml'))
  .map((f) => path.join('configs/examples', f));

describe('shipped configs', () => {
  it.each(['configs/demo-line.yaml', ...EXAMPLES])('%s validates', async (file) => {
    const { code, stdout, stderr } = await linesight('validate', path.join(ROOT, file));
    expect(stderr).toBe('');
    expect(stdout).toContain(': ok (');
    expect(code).toBe(0);
  });

  it('the secure example keeps the secure defaults: no unsecured endpoint, no anonymous sessions', async () => {
    const { loadConfig } = await import('../../cli/boot.ts');
    const config = loadConfig(path.join(ROOT, 'configs/examples/mes-secure.yaml'));
    const mes = config.services.find((s) => s.type === 'opcua-mes');
    expect(mes).toMatchObject({ security: { allowUnsecured: false, anonymous: 'off' } });
  });
});
