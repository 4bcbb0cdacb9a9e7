/**
 * A ResultReadyEvent for every result a station decides — MES jobs, PLC and software triggers, free-run parts —
 * raised on the next turn (setImmediate), off the frame path: the station's turn only queues the result.
 */
import type { Logger } from 'pino';
import type { InspectionResult } from '../../../runtime/results/result.ts';
import type { VisionSystemHandle } from './address-space.ts';
import { resultReadyFields } from './result-event.ts';

export interface ResultEmitter {
  onResult(listener: (result: InspectionResult) => void): void;
}

/** Returns the function that stops publishing (server shutdown: results queued until then are dropped). */
export function publishResults(handle: VisionSystemHandle, station: ResultEmitter, log?: Logger): () => void {
  const queued: InspectionResult[] = [];
  let stopped = false;
  const flush = () => {
    if (stopped) return;
    for (const result of queued.splice(0)) {
      try {
        handle.emitResultReady(resultReadyFields(result));
      } catch (err) {
        log?.warn({ err, station: handle.station, sequence: result.sequence }, 'ResultReadyEvent not raised');
      }
    }
  };
  station.onResult((result) => {
    if (!stopped && queued.push(result) === 1) setImmediate(flush);
  });
  return () => {
    stopped = true;
    queued.length = 0;
  };
}
