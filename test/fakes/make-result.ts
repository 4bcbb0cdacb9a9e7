/** Builds unstored InspectionResults for store, outbox and sink tests. */
import type { InspectionResult, JobRef, Reason, Verdict } from '../../runtime/results/result.ts';

let frame = 0;

export function makeResult(
  overrides: {
    station?: string;
    line?: string;
    verdict?: Verdict;
    reasons?: Reason[];
    partId?: string | null;
    job?: JobRef | null;
    simulated?: boolean;
    /** When the verdict was decided (ISO 8601); default now. capturedAt is 20 ms before it. */
    decidedAt?: string;
  } = {},
): InspectionResult {
  frame++;
  const verdict = overrides.verdict ?? 'OK';
  const decidedMs = overrides.decidedAt === undefined ? Date.now() : Date.parse(overrides.decidedAt);
  return {
    sequence: 0,
    line: overrides.line ?? 'line-1',
    station: overrides.station ?? 'st-10',
    recipe: 'housing-a',
    partId: overrides.partId === undefined ? `P-${frame}` : overrides.partId,
    job: overrides.job ?? null,
    configId: 'c0ffee'.padEnd(16, '0'),
    simulated: overrides.simulated ?? false,
    frameSequence: frame,
    verdict,
    reasons: overrides.reasons ?? (verdict === 'NOK' ? [{ code: 'SCRATCH', source: 'surface-anomaly', detail: 'score 0.91' }] : []),
    measurements: { 'surface-anomaly.score': verdict === 'NOK' ? 0.91 : 0.12 },
    defects:
      verdict === 'NOK' ? [{ model: 'surface-anomaly', label: 'scratch', score: 0.91, bboxPx: [10, 20, 30, 40], areaPx: 1200, areaMm2: null }] : [],
    models: [{ name: 'surface-anomaly', sha256: 'ab'.repeat(32) }],
    timings: { acquireMs: 1, queueMs: 0.5, gateMs: 0.3, preprocessMs: 2, inferMs: 7.25, decodeMs: 1, decideMs: 0.1, measureMs: 0, totalMs: 11.85 },
    capturedAt: new Date(decidedMs - 20).toISOString(),
    decidedAt: new Date(decidedMs).toISOString(),
  };
}
