/**
 * A sink that also listens to the PLC (Modbus server mode, OPC UA with a trigger node) is a trigger driver: the
 * composition root binds it to its station after both exist. It counts every result of the station (Busy,
 * pass/fail) and, when the station's trigger is `{ mode: plc, via: <sink name> }`, forwards PLC triggers to
 * `Station.trigger(partId)`.
 */
import type { InspectionResult } from '../../../runtime/results/result.ts';

export interface StationPort {
  readonly name: string;
  onResult(listener: (r: InspectionResult) => void): void;
  /** null when the station is not triggered by this sink: PLC trigger edges are then counted as missed. */
  readonly trigger: ((partId: string | null) => void) | null;
}

export interface TriggerDriver {
  /** Whether this sink can deliver PLC triggers (an OPC UA sink only with a handshake). */
  readonly acceptsTriggers: boolean;
  attachStation(port: StationPort): void;
}

export function isTriggerDriver(x: unknown): x is TriggerDriver {
  return typeof (x as { attachStation?: unknown } | null)?.attachStation === 'function';
}
