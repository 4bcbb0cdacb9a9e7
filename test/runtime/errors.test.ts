import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ERROR_CODES, LinesightError, isLinesightError } from '../../runtime/errors.ts';
import { AdapterRegistry } from '../../runtime/registry.ts';
import { ADAPTERS } from '../../adapters/catalog.ts';

const doc = readFileSync(path.resolve(import.meta.dirname, '../../docs/errors.md'), 'utf8');

describe('error codes', () => {
  it('documents every code of the table in docs/errors.md, and no other', () => {
    const documented = [...doc.matchAll(/^\| `(LS_ERR_[A-Z0-9_]+)` \|/gm)].map((m) => m[1]);
    expect(documented.sort()).toEqual(Object.keys(ERROR_CODES).sort());
  });

  it('carries code, context and cause', () => {
    const cause = new Error('ECONNREFUSED');
    const err = new LinesightError('LS_ERR_PLC_WRITE_FAILED', 'write failed', { endpoint: '127.0.0.1:502', address: 1000 }, { cause });
    expect(err.message).toBe('LS_ERR_PLC_WRITE_FAILED: write failed');
    expect(err.context).toEqual({ endpoint: '127.0.0.1:502', address: 1000 });
    expect(err.cause).toBe(cause);
    expect(isLinesightError(err, 'LS_ERR_PLC_WRITE_FAILED')).toBe(true);
    expect(isLinesightError(err, 'LS_ERR_USAGE')).toBe(false);
  });
});

describe('AdapterRegistry', () => {
  it('rejects duplicate types, registration after freeze and unknown types', () => {
    const registry = new AdapterRegistry();
    for (const def of ADAPTERS) registry.register(def);
    expect(() => registry.register(ADAPTERS[0])).toThrow(/LS_ERR_ADAPTER_DUPLICATE_TYPE/);
    registry.freeze();
    expect(() => new AdapterRegistry().freeze().register(ADAPTERS[0])).toThrow(/LS_ERR_REGISTRY_FROZEN/);
    const ctx = { log: undefined as never, configDir: '.', line: 'l', station: 's' };
    expect(() => registry.createSource({ type: 'gige' }, ctx)).toThrow(/LS_ERR_ADAPTER_UNKNOWN_TYPE.*synthetic, folder/);
  });

  it.each(ADAPTERS.map((a) => [`${a.kind}:${a.type}`, a] as const))('%s has a strict options schema with a literal type', (_name, def) => {
    const shape = (def.schema as unknown as { shape: Record<string, unknown> }).shape;
    expect(shape.type).toBeDefined();
    expect(def.schema.safeParse({ type: def.type, surely_not_an_option: 1 }).success).toBe(false);
  });
});
