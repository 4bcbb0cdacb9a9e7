/** Process exit codes, documented in docs/cli.md. */
import { isLinesightError, type ErrorCode } from '../runtime/errors.ts';

export const EXIT = {
  OK: 0,
  /** Unexpected failure (a bug, a lost disk, a crashed dependency). */
  FAILURE: 1,
  /** Bad command line or invalid configuration: fix the input and run again. */
  USAGE: 2,
  /** A model was refused: sha256 mismatch, wrong inputs/outputs or golden output drift. */
  MODEL_REFUSED: 3,
  /** inspect: every image was inspected and at least one part is NOK. */
  NOK: 4,
  /** inspect: at least one image could not be read or decoded. */
  UNREADABLE: 5,
  /** measure: no hole was found in at least one image (its JSON says so; not a crash). */
  NOTHING_FOUND: 6,
} as const;

/** Error codes that mean "fix the input and run again" (exit 2): the command line, the YAML and the files it names. */
const USAGE_CODES: ReadonlySet<ErrorCode> = new Set<ErrorCode>([
  'LS_ERR_CONFIG_INVALID',
  'LS_ERR_CONFIG_UNREADABLE',
  'LS_ERR_USAGE',
  'LS_ERR_STATION_UNKNOWN',
  'LS_ERR_METROLOGY_SPEC',
  'LS_ERR_CALIBRATION_INVALID',
  'LS_ERR_STORE_PATH',
]);

/**
 * The exit code for an error: the one mapping, used by cli/main.ts for a failed command and by `validate` and
 * `run` for each problem their preflight finds (cli/preflight.ts), so both give the same code for the same problem.
 */
export function exitCodeOf(err: unknown): number {
  if (!isLinesightError(err)) return EXIT.FAILURE;
  if (USAGE_CODES.has(err.code)) return EXIT.USAGE;
  if (err.code.startsWith('LS_ERR_MODEL_')) return EXIT.MODEL_REFUSED;
  return EXIT.FAILURE;
}
