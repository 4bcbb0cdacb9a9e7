/** Process exit codes, documented in docs/cli.md. */
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
