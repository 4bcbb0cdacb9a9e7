/**
 * The one way a test waits. Every wait has a deadline and, when it passes, fails the test with an error naming
 * what it waited for (never an unbounded poll, never a bare vitest timeout with no hint of the cause).
 */

export interface WaitOptions {
  /** Give up after this long. */
  readonly timeoutMs?: number;
  /** Pause between two checks. */
  readonly intervalMs?: number;
  /** What is awaited, in words: the error message names it. */
  readonly what: string;
  /** Called on timeout; its text is added to the message (e.g. the last state seen). */
  readonly detail?: () => string;
}

const DEFAULT_TIMEOUT_MS = 10_000;

export class WaitTimeoutError extends Error {
  constructor(what: string, ms: number, detail?: string) {
    super(`timed out after ${ms} ms waiting for ${what}${detail ? ` (${detail})` : ''}`);
    this.name = 'WaitTimeoutError';
  }
}

/**
 * Resolves with `promise`, or rejects with a WaitTimeoutError after `ms`. The timer is cleared either way, so a
 * settled wait leaves nothing behind.
 */
export function withDeadline<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new WaitTimeoutError(what, ms)), ms);
  });
  return Promise.race([promise, deadline]).finally(() => clearTimeout(timer));
}

/**
 * Polls `cond` (sync or async) until it returns a value other than false / undefined / null, and resolves with
 * that value. A `cond` that throws fails the wait at once with its error; `detail` can put the last state seen
 * in the timeout message.
 */
export async function waitUntil<T>(
  cond: () => T | false | null | undefined | Promise<T | false | null | undefined>,
  options: WaitOptions,
): Promise<T> {
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const intervalMs = options.intervalMs ?? 5;
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await withDeadline(Promise.resolve(cond()), Math.max(1, end - Date.now()), `${options.what} (a check still running)`);
    if (v !== false && v !== null && v !== undefined) return v;
    if (Date.now() >= end) throw new WaitTimeoutError(options.what, timeoutMs, options.detail?.());
    await sleep(Math.min(intervalMs, Math.max(0, end - Date.now())));
  }
}

/**
 * Retries `attempt` until it resolves and returns its value; after the deadline, fails with the last error.
 * For "deliver until the peer is back" loops.
 */
export async function retryUntil<T>(attempt: () => Promise<T>, options: WaitOptions): Promise<T> {
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const intervalMs = options.intervalMs ?? 20;
  const end = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      return await withDeadline(attempt(), Math.max(1, end - Date.now()), `${options.what} (an attempt still pending)`);
    } catch (err) {
      last = err;
    }
    if (Date.now() >= end) {
      const lastError = `last error: ${last instanceof Error ? last.message : String(last)}`;
      throw new WaitTimeoutError(options.what, timeoutMs, options.detail ? `${options.detail()}; ${lastError}` : lastError);
    }
    await sleep(Math.min(intervalMs, Math.max(0, end - Date.now())));
  }
}

/**
 * A plain pause (not a wait for a condition): letting parts arrive spaced in time, or a timer-driven state
 * change in the code under test happen.
 */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
