/**
 * The command line of the repository's scripts (training/, bench/; `linesight` itself has cli/args.ts): `--help`
 * or `-h` prints the script's usage and exits 0; an unknown option, a missing or extra argument or a bad value is
 * one line on stderr — `SCRIPT: what is wrong (--help for usage)` — and exit 2, never a stack trace. Parsing
 * happens before a script does any work, so exiting there leaves nothing half done.
 */
import path from 'node:path';
import { parseArgs, type ParseArgsConfig } from 'node:util';

type Options = NonNullable<ParseArgsConfig['options']>;

export interface ScriptArgsSpec<T extends Options> {
  /** The usage text printed by --help. */
  readonly usage: string;
  readonly options?: T;
  /** How many positional arguments the script takes (default none). */
  readonly positionals?: { readonly min?: number; readonly max: number };
}

/** Parses argv for a script (help and errors end the process, see the file comment). */
export function scriptArgs<T extends Options>(argv: readonly string[], spec: ScriptArgsSpec<T>) {
  if (argv.includes('--help') || argv.includes('-h')) {
    process.stdout.write(`${spec.usage.trimEnd()}\n`);
    process.exit(0);
  }
  const min = spec.positionals?.min ?? 0;
  const max = spec.positionals?.max ?? 0;
  let parsed;
  try {
    parsed = parseArgs({ args: [...argv], options: spec.options ?? ({} as T), allowPositionals: max > 0, strict: true });
  } catch (err) {
    return scriptUsageError((err as Error).message);
  }
  const n = parsed.positionals.length;
  if (n < min) scriptUsageError(`${min - n} argument(s) missing`);
  if (n > max) scriptUsageError(`unexpected argument '${parsed.positionals[max]}'`);
  return parsed;
}

/** Ends the script with a one-line usage error (exit 2). */
export function scriptUsageError(message: string): never {
  const script = process.argv[1] ? path.relative(process.cwd(), process.argv[1]) : 'script';
  process.stderr.write(`${script}: ${message} (--help for usage)\n`);
  process.exit(2);
}

/** A whole number option value in [min, max]; `fallback` when absent; anything else is a usage error. */
export function intArg(name: string, value: string | undefined, min: number, max: number, fallback: number): number {
  if (value === undefined) return fallback;
  const n = value.trim() === '' ? Number.NaN : Number(value);
  if (!Number.isInteger(n) || n < min || n > max) scriptUsageError(`${name} '${value}' must be a whole number from ${min} to ${max}`);
  return n;
}

/** A number option value in [min, max]; `fallback` when absent; anything else is a usage error. */
export function numberArg(name: string, value: string | undefined, min: number, max: number, fallback: number): number {
  if (value === undefined) return fallback;
  const n = value.trim() === '' ? Number.NaN : Number(value);
  if (!Number.isFinite(n) || n < min || n > max) scriptUsageError(`${name} '${value}' must be a number from ${min} to ${max}`);
  return n;
}

/** A whole number from environment variable `name` (benchmark sizes), in [min, max]; `fallback` when unset. */
export function envInt(name: string, fallback: number, min: number, max: number): number {
  return intArg(name, process.env[name], min, max, fallback);
}
