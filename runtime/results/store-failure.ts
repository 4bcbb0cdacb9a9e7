/**
 * What the router does with a result the store refused (docs/store.md "When the store fails"): under stop-line
 * the part becomes NOK with reason STORE_FAILED, under deliver-unstored it keeps its verdict; either way it gets
 * the sequence the store would have given it (ResultStore.reserveSequence: unique, so a PLC's inspection id
 * never repeats), goes to every sink in memory — a durable sink through its dispatcher's offerUnstored (no
 * outbox row exists; delivered in sequence order after what the sink was still owed) — and is held (bounded)
 * until the store takes it again (ResultStore.storeLate).
 */
import type { Logger } from 'pino';
import type { InspectionResult } from './result.ts';

/** Reason code of a part made NOK because its result could not be stored (stop-line). */
export const STORE_FAILED_REASON = 'STORE_FAILED';

/** Most unstored results held in memory for a late write; older ones are given up (counted). */
export const HELD_BOUND = 1000;

/** The store error of a failed append, as the logs and the STORE_FAILED detail show it. */
export interface StoreFault {
  readonly err: unknown;
  readonly path: string;
  readonly sqliteCode: string | null;
  /** The innermost cause's message, e.g. "database or disk is full". */
  readonly cause: string;
}

export function storeFault(err: unknown, path: string): StoreFault {
  let inner: unknown = err;
  while (inner instanceof Error && inner.cause !== undefined) inner = inner.cause;
  const context = (err as { context?: { sqliteCode?: unknown } } | null)?.context;
  const code = context?.sqliteCode ?? (inner as { code?: unknown } | null)?.code;
  return { err, path, sqliteCode: typeof code === 'string' ? code : null, cause: inner instanceof Error ? inner.message : String(inner) };
}

/**
 * The result the PLC hears under stop-line: NOK with reason STORE_FAILED after the inspection's own reasons (an
 * OK part has none, so STORE_FAILED is its only one; a NOK part keeps its first reason first).
 */
export function storeFailedResult(result: InspectionResult, fault: StoreFault): InspectionResult {
  const detail = `result not stored (${fault.sqliteCode ?? 'error'}: ${fault.cause}); the inspection said ${result.verdict}`;
  return { ...result, verdict: 'NOK', reasons: [...result.reasons, { code: STORE_FAILED_REASON, source: 'store', detail }] };
}

/** Delivered, not yet stored results, oldest first, bounded by HELD_BOUND. */
export class HeldResults {
  readonly results: InspectionResult[] = [];
  private readonly log: Logger;
  private overBound = false;

  constructor(log: Logger) {
    this.log = log;
  }

  get length(): number {
    return this.results.length;
  }

  /** Holds `r` for a late write; returns how many older results were given up to stay within HELD_BOUND. */
  hold(r: InspectionResult): number {
    this.results.push(r);
    if (this.results.length <= HELD_BOUND) return 0;
    this.results.shift();
    if (!this.overBound) this.log.error({ bound: HELD_BOUND }, 'too many unstored results held; the oldest are given up (never stored)');
    this.overBound = true;
    return 1;
  }

  /** Removes the oldest `n` (written late). */
  drop(n: number): void {
    this.results.splice(0, n);
    if (this.results.length === 0) this.overBound = false;
  }

  /** Empties the hold (at close); returns what it held. */
  release(): InspectionResult[] {
    this.overBound = false;
    return this.results.splice(0);
  }
}
