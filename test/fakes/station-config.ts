/** A software-triggered surface station on the shipped surface-anomaly model, as the station-level tests build one. */
import type { StationConfig } from '../../runtime/config/schema.ts';
import { DEFAULT_RUN_TIMEOUT_MS } from '../../runtime/inference/inference-worker.ts';
import { DEFAULT_ACCEPTANCE } from '../../runtime/pipeline/frame-gate.ts';

export function stationConfig(over: Partial<StationConfig> = {}): StationConfig {
  return {
    name: 'surface',
    recipe: 'panel-A',
    source: { type: 'test' },
    trigger: { mode: 'software' },
    poolSlots: 4,
    backpressure: { policy: 'every-trigger', queueDepth: 1 },
    models: [{ manifest: 'surface-anomaly/model.yaml', intraOpThreads: 1, runTimeoutMs: DEFAULT_RUN_TIMEOUT_MS }],
    sinks: [],
    acceptance: DEFAULT_ACCEPTANCE,
    ...over,
  };
}
