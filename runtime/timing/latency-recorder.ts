/**
 * Keeps the last N samples of one stage's latency in a preallocated ring; percentiles are computed on demand
 * (status lines, metrics, benchmarks), never per frame.
 */
export class LatencyRecorder {
  readonly name: string;
  private readonly ring: Float64Array;
  private readonly scratch: Float64Array;
  private written = 0;

  constructor(name: string, capacity = 4096) {
    this.name = name;
    this.ring = new Float64Array(capacity);
    this.scratch = new Float64Array(capacity);
  }

  record(ms: number): void {
    this.ring[this.written++ % this.ring.length] = ms;
  }

  get count(): number {
    return this.written;
  }

  /** p in [0, 100]; nearest-rank over the retained window. NaN when empty. */
  percentile(p: number): number {
    const n = Math.min(this.written, this.ring.length);
    if (n === 0) return Number.NaN;
    const view = this.scratch.subarray(0, n);
    view.set(this.ring.subarray(0, n));
    view.sort();
    const rank = Math.min(n - 1, Math.max(0, Math.ceil((p / 100) * n) - 1));
    return view[rank]!;
  }

  summary(): { name: string; count: number; p50: number; p99: number } {
    return { name: this.name, count: this.written, p50: this.percentile(50), p99: this.percentile(99) };
  }
}

export const STAGES = ['acquire', 'queue', 'gate', 'preprocess', 'infer', 'decode', 'decide', 'measure', 'store', 'total'] as const;
export type Stage = (typeof STAGES)[number];

export function stageRecorders(): Record<Stage, LatencyRecorder> {
  const out = {} as Record<Stage, LatencyRecorder>;
  for (const s of STAGES) out[s] = new LatencyRecorder(s);
  return out;
}
