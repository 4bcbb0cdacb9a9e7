/**
 * The Trigger port: how whatever decides "inspect one part now" reaches a station. A station is a
 * `TriggerTarget`; the things that fire triggers are `TriggerSource`s — a PLC handshake sink (Modbus server mode,
 * OPC UA with a handshake), the daemon's HTTP control listener (software triggers, `linesight trigger`), and an MES
 * job call. The composition root (runtime/line.ts) binds each source to its station explicitly, from the line
 * YAML's `trigger:` section; nothing is wired by looking at an object's shape.
 */
import type { InspectionResult, JobRef } from '../results/result.ts';

export interface TriggerRequest {
  /** Part id carried into the result (PLC Set Part Id, MES job, operator); null when none. */
  readonly partId: string | null;
  /** Who fired it, for logs and counters: the sink name, `http`, `mes`. */
  readonly origin: string;
  /** The MES job behind the trigger (OPC 40100 StartSingleJob), recorded with the part's result. */
  readonly job?: JobRef;
  /**
   * Called once, synchronously in the turn the station decided the part (before any sink sees the result), with
   * the stored result; or with null when the trigger produced no inspected part (corrupt frame, dropped by
   * latest-wins, station stopped).
   */
  readonly onDecided?: (result: InspectionResult | null) => void;
}

/** Why a station refused a trigger. */
export type TriggerRefusal = 'not-running' | 'halted' | 'max-parts';

export type TriggerOutcome = { readonly accepted: true } | { readonly accepted: false; readonly reason: TriggerRefusal };

/** A station as a trigger source sees it. */
export interface TriggerTarget {
  /** The station's name. */
  readonly name: string;
  trigger(request: TriggerRequest): TriggerOutcome;
}

/**
 * Something that fires triggers. `bindTrigger(target)` is called once at boot by the composition root with the
 * station this source triggers, or never (its triggers then count as missed, e.g. a handshake sink on a free-run
 * station that only shows results).
 */
export interface TriggerSource {
  bindTrigger(target: TriggerTarget): void;
}
