/**
 * The root logger: pino, one JSON object per line on stderr (stdout is kept for command output such as
 * `inspect --json` and the per-part console lines). Child loggers are made at boot, never per frame.
 */
import { pino, type Logger, type LevelWithSilent } from 'pino';

export function createRootLogger(level: LevelWithSilent = 'info'): Logger {
  return pino({ level, base: { service: 'linesight' }, timestamp: pino.stdTimeFunctions.epochTime }, pino.destination({ fd: 2, sync: false }));
}

export type { Logger };
