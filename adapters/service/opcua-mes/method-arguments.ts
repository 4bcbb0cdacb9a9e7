/** Readers of OPC UA method arguments as the Machine Vision methods receive them. */
import type { Variant } from 'node-opcua';

/** The `Id` of a `{Id, Description?}` or recipe/configuration id argument; null when absent or empty. */
export function structureId(arg: Variant | undefined): string | null {
  const value: unknown = arg?.value;
  if (typeof value !== 'object' || value === null || !('id' in value)) return null;
  const id = value.id;
  return typeof id === 'string' && id.trim() !== '' ? id : null;
}
