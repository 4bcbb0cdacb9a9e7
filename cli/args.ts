/** Thin wrapper over node:util parseArgs that turns its errors into LS_ERR_USAGE. */
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { LinesightError } from '../runtime/errors.ts';

export function parseCommandArgs<T extends ParseArgsConfig['options']>(argv: string[], options: T, allowPositionals: boolean) {
  try {
    return parseArgs({ args: argv, options, allowPositionals, strict: true });
  } catch (err) {
    throw new LinesightError('LS_ERR_USAGE', (err as Error).message, { argv }, { cause: err });
  }
}

export function usageError(message: string): LinesightError {
  return new LinesightError('LS_ERR_USAGE', message, {});
}
