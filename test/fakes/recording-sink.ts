/** A sink that keeps every result it is given and every station health it is told (durable or best-effort). */
import type { ResultSink } from '../../runtime/adapter.ts';
import type { StationHealthView } from '../../runtime/pipeline/station-health.ts';
import type { InspectionResult } from '../../runtime/results/result.ts';

export class RecordingSink implements ResultSink {
  readonly type = 'recording';
  readonly name: string;
  readonly durable: boolean;
  readonly received: InspectionResult[] = [];
  readonly health: StationHealthView[] = [];

  constructor(name: string, durable: boolean) {
    this.name = name;
    this.durable = durable;
  }

  async open(): Promise<void> {}
  async close(): Promise<void> {}
  async deliver(r: InspectionResult): Promise<void> {
    this.received.push(r);
  }
  stationHealth(h: StationHealthView): void {
    this.health.push(h);
  }
}
