/**
 * How `linesight run` answers SIGINT (Ctrl-C) and SIGTERM, from the moment it starts until it has stopped:
 *
 * - the first signal asks for a clean stop: in-flight parts finish, outboxes drain (bounded), sinks and the store
 *   close, exit 0 — whether it comes while the line boots or while it runs;
 * - a copy of it within SIGNAL_COPY_MS is ignored: a Ctrl-C under `npm start` reaches the daemon twice, once from
 *   the terminal (it signals the whole foreground process group) and once forwarded by npm to its child;
 * - a later signal cuts the stop short: the store is closed as it is (results still owed to a sink stay in its
 *   outbox for the next start) and the process exits 130 (SIGINT) or 143 (SIGTERM);
 * - a stop that has not finished after SHUTDOWN_DEADLINE_MS is cut short the same way, exit 1.
 *
 * The handlers stay installed until the command returns, so no signal ever meets Node's default action (an
 * immediate death with the store open) while `run` is running.
 */
import type { Logger } from 'pino';
import { EXIT } from './exit-codes.ts';

/** Longest a clean stop may take: station stop, outbox drain (3 s), sinks and store close. */
export const SHUTDOWN_DEADLINE_MS = 15_000;

/** A second signal this soon after the first is taken for a copy of it (npm's forwarded Ctrl-C), not a second request. */
export const SIGNAL_COPY_MS = 1000;

const SIGNALS = ['SIGINT', 'SIGTERM'] as const;
type StopSignal = (typeof SIGNALS)[number];

/** Exit code of a stop cut short by a signal, by the shell's convention (128 + signal number). */
const SIGNAL_EXIT: Record<StopSignal, number> = { SIGINT: 130, SIGTERM: 143 };

export interface StopSignals {
  /** Resolves with the first SIGINT or SIGTERM. */
  readonly first: Promise<StopSignal>;
  /** Runs a clean stop under the deadline; a later signal or the deadline cuts it short through `cutShort`. */
  stopWithin(stop: () => Promise<void>): Promise<void>;
  /** Removes the handlers (the command is done). */
  dispose(): void;
}

/**
 * Installs the handlers. `cutShort(reason)` must close what can be closed at once, synchronously (the store); the
 * process then exits with the code above.
 */
export function watchStopSignals(log: Logger, cutShort: (reason: string) => void): StopSignals {
  let firstAt = 0;
  let resolveFirst: (s: StopSignal) => void = () => {};
  const first = new Promise<StopSignal>((resolve) => (resolveFirst = resolve));
  const abort = (reason: string, code: number): never => {
    log.error({ reason }, 'stop cut short: the store is closed as it is; results still owed to a sink stay in its outbox');
    try {
      cutShort(reason);
    } finally {
      process.exit(code);
    }
  };
  const onSignal = (signal: StopSignal) => {
    if (firstAt === 0) {
      firstAt = Date.now();
      resolveFirst(signal);
    } else if (Date.now() - firstAt < SIGNAL_COPY_MS) {
      log.debug({ signal }, 'signal copy ignored (npm forwards Ctrl-C to its child)');
    } else {
      abort(`second ${signal} while stopping`, SIGNAL_EXIT[signal]);
    }
  };
  for (const s of SIGNALS) process.on(s, onSignal);
  return {
    first,
    async stopWithin(stop) {
      let timer: NodeJS.Timeout | undefined;
      const deadline = new Promise<never>(() => {
        timer = setTimeout(() => abort(`the stop took longer than ${SHUTDOWN_DEADLINE_MS} ms`, EXIT.FAILURE), SHUTDOWN_DEADLINE_MS);
      });
      try {
        await Promise.race([stop(), deadline]);
      } finally {
        clearTimeout(timer);
      }
    },
    dispose() {
      for (const s of SIGNALS) process.off(s, onSignal);
    },
  };
}
