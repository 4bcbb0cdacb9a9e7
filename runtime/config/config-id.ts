/**
 * The configuration id of a line (OPC 40100 InternalConfigurationId): the first 16 hex digits of the sha256 of
 * the effective configuration — the parsed YAML with its defaults applied, keys sorted — so two files that differ
 * only in comments, key order or spelled-out defaults share an id, and any change that can alter a verdict does
 * not. The file's own location is left out: the same line copied to another folder keeps its id.
 */
import { createHash } from 'node:crypto';
import type { LineConfig } from './schema.ts';

export function configIdOf(config: LineConfig): string {
  const { file: _file, dir: _dir, ...effective } = config;
  return createHash('sha256').update(canonicalJson(effective)).digest('hex').slice(0, 16);
}

/** JSON with object keys sorted at every depth (arrays keep their order: it means something in a line YAML). */
function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) =>
    v !== null && typeof v === 'object' && !Array.isArray(v)
      ? Object.fromEntries(Object.entries(v as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
      : v,
  );
}
