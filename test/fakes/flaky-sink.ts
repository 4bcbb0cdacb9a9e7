/** A durable sink whose receiver is away until the test sets `online`; it records the sequences it received. */
import type { ResultSink } from '../../runtime/adapter.ts';
import type { InspectionResult } from '../../runtime/results/result.ts';

export class FlakySink implements ResultSink {
  readonly type = 'flaky';
  readonly name: string;
  readonly durable = true;
  online = false;
  readonly received: number[] = [];

  constructor(name = 'plc') {
    this.name = name;
  }

  async open(): Promise<void> {}
  async close(): Promise<void> {}
  async deliver(r: InspectionResult): Promise<void> {
    if (!this.online) throw new Error('PLC away');
    this.received.push(r.sequence);
  }
}
