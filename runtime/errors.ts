/**
 * One table of error codes, in the manner of fastify's lib/errors.js. Codes are never reused: a retired code
 * stays in the table marked retired. docs/errors.md lists every code and a test keeps the two in step.
 */
export const ERROR_CODES = {
  LS_ERR_CONFIG_INVALID: 'configuration is invalid',
  LS_ERR_CONFIG_UNREADABLE: 'configuration file cannot be read or parsed',
  LS_ERR_ADAPTER_UNKNOWN_TYPE: 'no adapter is registered for this type',
  LS_ERR_ADAPTER_DUPLICATE_TYPE: 'an adapter type was registered twice',
  LS_ERR_REGISTRY_FROZEN: 'adapters cannot be registered after boot',
  LS_ERR_MODEL_MANIFEST_INVALID: 'model.yaml is invalid',
  LS_ERR_MODEL_SHA256_MISMATCH: 'model file does not match the sha256 pinned in model.yaml',
  LS_ERR_MODEL_IO_MISMATCH: 'model inputs or outputs differ from model.yaml',
  LS_ERR_MODEL_GOLDEN_MISMATCH: 'model output on its golden input differs beyond tolerance',
  LS_ERR_INFERENCE_FAILED: 'inference failed',
  LS_ERR_FRAME_CORRUPT: 'frame cannot be decoded',
  LS_ERR_FRAME_UNREADABLE: 'image file cannot be read',
  LS_ERR_FRAME_SIZE: 'frame size or pixel format does not fit the station',
  LS_ERR_SOURCE_FAILED: 'frame source failed',
  LS_ERR_SOURCE_EXHAUSTED: 'frame source has no more frames',
  LS_ERR_STORE_FAILED: 'result store failed',
  LS_ERR_STORE_PATH: 'the store path cannot hold the SQLite database (a directory, a missing or read-only folder)',
  LS_ERR_SINK_DELIVERY_FAILED: 'result sink could not deliver',
  LS_ERR_PLC_WRITE_FAILED: 'PLC write failed',
  LS_ERR_PLC_CONNECT_FAILED: 'PLC connection failed',
  LS_ERR_PLC_CIRCUIT_OPEN: 'PLC link circuit breaker is open; call refused without trying',
  LS_ERR_PLC_LISTEN_FAILED: 'PLC-facing server cannot listen',
  LS_ERR_PLC_SECRET_UNREADABLE: 'PLC credential secret cannot be read',
  LS_ERR_USAGE: 'command line usage error',
  LS_ERR_STATION_UNKNOWN: 'no station of that name in the line configuration',
  LS_ERR_METROLOGY_SPEC: 'hole specification cannot be applied',
  LS_ERR_CALIBRATION_INVALID: 'calibration file is missing or invalid',
  LS_ERR_CALIBRATION_FAILED: 'camera or scale calibration could not be computed',
  LS_ERR_HTTP_LISTEN_FAILED: 'HTTP control listener cannot listen',
  LS_ERR_TRIGGER_FAILED: 'a software trigger could not reach the station',
  LS_ERR_PKI_FAILED: 'a certificate of the MES server PKI could not be moved',
  LS_ERR_RECIPE_UNKNOWN: 'no recipe of that id in the station configuration',
  LS_ERR_RECIPE_LOAD_FAILED: "a recipe's models or metrology could not be loaded; the station keeps its recipe",
  LS_ERR_RECIPE_IN_USE: 'the default recipe cannot be unprepared',
} as const;

export type ErrorCode = keyof typeof ERROR_CODES;

export type ErrorContext = Readonly<Record<string, unknown>>;

/** Every error Linesight raises on purpose: a stable code, the context to find the cause, and the cause. */
export class LinesightError extends Error {
  readonly code: ErrorCode;
  readonly context: ErrorContext;

  constructor(code: ErrorCode, detail: string, context: ErrorContext = {}, options?: { cause?: unknown }) {
    super(`${code}: ${detail}`, options);
    this.name = 'LinesightError';
    this.code = code;
    this.context = context;
  }
}

export function isLinesightError(err: unknown, code?: ErrorCode): err is LinesightError {
  return err instanceof LinesightError && (code === undefined || err.code === code);
}

/** A cause in a few words for a message: "ENOENT: no such file or directory" out of node's "…, open '/x'". */
export function reasonOf(err: unknown): string {
  const message = err instanceof Error ? err.message : String(err);
  return /^(E[A-Z]+: [^,]+)/.exec(message)?.[1] ?? message;
}
