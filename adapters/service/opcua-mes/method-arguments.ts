/** Readers of OPC UA method arguments as the Machine Vision methods receive them, and the guard they share. */
import type { ISessionContext, StatusCode, Variant } from 'node-opcua';

/** The `Id` of a `{Id, Description?}` or recipe/configuration id argument; null when absent or empty. */
export function structureId(arg: Variant | undefined): string | null {
  const value: unknown = arg?.value;
  if (typeof value !== 'object' || value === null || !('id' in value)) return null;
  const id = value.id;
  return typeof id === 'string' && id.trim() !== '' ? id : null;
}

export function numberArg(arg: Variant | undefined): number {
  const value: unknown = arg?.value;
  return typeof value === 'number' && Number.isFinite(value) ? value : 0;
}

/**
 * A role check run first by every bound method: null when the caller may call `method`, else the status to
 * answer (BadUserAccessDenied), already logged. Without one (tests of one feature) every call is allowed.
 */
export type MethodGuard = (context: ISessionContext, method: string) => StatusCode | null;
