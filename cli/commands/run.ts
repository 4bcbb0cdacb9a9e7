import { createRootLogger } from '../../runtime/log.ts';
import { bootLine, loadConfig } from '../boot.ts';
import type { LineRuntime } from '../../runtime/line.ts';
import type { InspectionResult } from '../../runtime/results/result.ts';
import type { Station } from '../../runtime/pipeline/station.ts';
import { parseCommandArgs, usageError } from '../args.ts';
import { EXIT } from '../exit-codes.ts';

export const HELP = `linesight run --config FILE [--quiet] [--status-every SECONDS]

Runs the line until Ctrl-C/SIGTERM, or until every station has stopped by itself (finite source, maxParts).
Prints one line per part on stdout (sequence, station, verdict, latency, reasons) unless --quiet; structured
logs go to stderr as JSON lines. Every --status-every seconds (default 10) a log line gives per-stage
p50/p99 latencies and counters. Exit 0 on a clean stop, 2 for a bad config, 3 if a model is refused.`;

export async function runCommand(argv: string[]): Promise<number> {
  const { values } = parseCommandArgs(
    argv,
    {
      config: { type: 'string', short: 'c' },
      quiet: { type: 'boolean', short: 'q' },
      'status-every': { type: 'string' },
    },
    false,
  );
  if (!values.config) throw usageError('run needs --config FILE');
  const config = loadConfig(values.config);
  const log = createRootLogger(config.logLevel).child({ line: config.line });
  const booted = await bootLine(config, log);
  const line = booted.line;
  if (!values.quiet) for (const s of line.stations) s.onResult(printPart);
  await line.start();
  log.info({ stations: line.stations.map((s) => s.name) }, 'line running');

  const statusMs = Number(values['status-every'] ?? 10) * 1000;
  const statusTimer = setInterval(() => logStatus(line, log), statusMs);
  statusTimer.unref();
  const stopped = await waitForStop(line);
  clearInterval(statusTimer);
  log.info({ signal: stopped }, 'stopping line');
  logStatus(line, log);
  await booted.stop();
  return EXIT.OK;
}

function waitForStop(line: LineRuntime): Promise<string> {
  return new Promise((resolve, reject) => {
    const onSignal = (sig: NodeJS.Signals) => resolve(sig);
    process.once('SIGINT', onSignal);
    process.once('SIGTERM', onSignal);
    line.whenStationsStopped().then(() => resolve('stations finished'), reject);
  });
}

function printPart(r: InspectionResult): void {
  const reasons = r.reasons.length > 0 ? ` ${r.reasons.map((x) => x.code).join(',')}` : '';
  const seq = String(r.sequence).padStart(6, '0');
  process.stdout.write(
    `#${seq} ${r.station.padEnd(10)} ${r.verdict.padEnd(3)} ${r.timings.totalMs.toFixed(1).padStart(6)} ms  part=${r.partId ?? '-'}${reasons}\n`,
  );
}

function logStatus(line: LineRuntime, log: ReturnType<typeof createRootLogger>): void {
  for (const s of line.stations)
    log.info({ station: s.name, counters: { ...s.counters }, latencyMs: latencyTable(s), inference: inferenceStatus(s) }, 'station status');
  for (const r of line.routers) {
    for (const d of r.dispatchers) log.info({ sink: d.sink.name, backlog: d.backlog(), counters: d.counters }, 'outbox status');
    const sinks: Record<string, { p50: number; p99: number; count: number }> = {};
    for (const rec of r.sinkLatency)
      if (rec.count > 0) sinks[rec.name] = { p50: round(rec.percentile(50)), p99: round(rec.percentile(99)), count: rec.count };
    log.info({ sinkLatencyMs: sinks }, 'sink latency');
  }
}

interface InferenceStatus {
  readonly worker: string;
  readonly restarts: number;
  readonly crashes: number;
  readonly timeouts: number;
}

/** Per model: its worker's state and restart counters (crashes, timeouts: runtime/inference/inference-worker.ts). */
function inferenceStatus(s: Station): Record<string, InferenceStatus> {
  const out: Record<string, InferenceStatus> = {};
  for (const m of s.models)
    out[m.name] = {
      worker: m.onnx.workerState,
      restarts: m.onnx.counters.restarts,
      crashes: m.onnx.counters.crashes,
      timeouts: m.onnx.counters.timeouts,
    };
  return out;
}

function latencyTable(s: Station): Record<string, { p50: number; p99: number }> {
  const out: Record<string, { p50: number; p99: number }> = {};
  for (const [name, rec] of Object.entries(s.latency)) {
    if (rec.count === 0) continue;
    out[name] = { p50: round(rec.percentile(50)), p99: round(rec.percentile(99)) };
  }
  return out;
}

function round(v: number): number {
  return Math.round(v * 100) / 100;
}
