import { createRootLogger } from '../../runtime/log.ts';
import { bootLine, createRegistry, loadConfig, type BootedLine } from '../boot.ts';
import type { LineRuntime } from '../../runtime/line.ts';
import type { InspectionResult } from '../../runtime/results/result.ts';
import { reasonLabel } from '../../runtime/pipeline/frame-gate.ts';
import type { Station } from '../../runtime/pipeline/station.ts';
import { parseCommandArgs, usageError } from '../args.ts';
import { numberOption } from '../option-values.ts';
import { EXIT } from '../exit-codes.ts';
import { preflight, reportProblems } from '../preflight.ts';
import { SHUTDOWN_DEADLINE_MS, SIGNAL_COPY_MS, watchStopSignals } from '../shutdown.ts';

type Log = ReturnType<typeof createRootLogger>;

export const HELP = `linesight run --config FILE [--quiet] [--status-every SECONDS]

Checks the line YAML as 'linesight validate' does (store path, calibration files, models, ports) before it opens
anything, then runs the line until Ctrl-C/SIGTERM, or until every station has stopped by itself (finite source,
maxParts). Prints one line per part on stdout (sequence, station, verdict, latency, reasons) unless --quiet;
structured logs go to stderr as JSON lines. Every --status-every seconds (1 to 86400, default 10) a log line gives
per-stage p50/p99 latencies and counters.
Ctrl-C or SIGTERM stops cleanly (in-flight parts finish, outboxes drain, the store closes; at most ${SHUTDOWN_DEADLINE_MS / 1000} s);
a second one more than ${SIGNAL_COPY_MS / 1000} s later cuts the stop short (store closed as it is, exit 130/143).
Exit 0 on a clean stop, 2 for a bad config or command line, 3 if a model is refused, 1 otherwise.`;

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
  const statusEverySeconds = numberOption('--status-every', values['status-every'], { min: 1, max: 86_400 }, 10);
  const config = loadConfig(values.config);
  const log = createRootLogger(config.logLevel).child({ line: config.line });
  let booted: BootedLine | null = null;
  const signals = watchStopSignals(log, () => booted?.line.store.close());
  try {
    const problems = await preflight(config, values.config, createRegistry());
    if (problems.length > 0) {
      const code = reportProblems(problems, (line) => process.stderr.write(line));
      process.stderr.write(`linesight: ${values.config}: ${problems.length} problem(s) found before anything opened; the line was not started\n`);
      return code;
    }
    const line = (booted = await bootLine(config, log));
    try {
      await runUntilStopped(line, log, { quiet: values.quiet === true, statusMs: statusEverySeconds * 1000, stopRequested: signals.first });
    } catch (err) {
      // A start that failed (the HTTP port taken by another process) takes down what booted, or the process would stay.
      await signals.stopWithin(() => line.stop()).catch((stopErr: unknown) => log.error({ err: stopErr }, 'stop after a failed start failed'));
      throw err;
    }
    await signals.stopWithin(() => line.stop());
    return EXIT.OK;
  } finally {
    signals.dispose();
  }
}

interface RunOptions {
  readonly quiet: boolean;
  readonly statusMs: number;
  readonly stopRequested: Promise<string>;
}

/** Starts the line and resolves once a stop is asked for (a signal) or every station has stopped by itself. */
async function runUntilStopped(booted: BootedLine, log: Log, options: RunOptions): Promise<void> {
  const line = booted.line;
  if (!options.quiet) printParts(line, log);
  await line.start();
  log.info({ stations: line.stations.map((s) => s.name) }, 'line running');
  const statusTimer = setInterval(() => logStatus(line, log), options.statusMs);
  statusTimer.unref();
  const stopped = await Promise.race([options.stopRequested, line.whenStationsStopped().then(() => 'stations finished')]);
  clearInterval(statusTimer);
  log.info({ signal: stopped }, 'stopping line');
  logStatus(line, log);
}

/** One line per part on stdout; a closed stdout (`run | head`, a terminal gone) stops the printing, not the line. */
function printParts(line: LineRuntime, log: Log): void {
  let printing = true;
  process.stdout.on('error', (err: NodeJS.ErrnoException) => {
    if (!printing) return;
    printing = false;
    log.warn({ err: { code: err.code, message: err.message } }, 'stdout closed: per-part lines no longer printed');
  });
  for (const s of line.stations)
    s.onResult((r) => {
      if (printing) printPart(r);
    });
}

function printPart(r: InspectionResult): void {
  const reasons = r.reasons.length > 0 ? ` ${r.reasons.map(reasonLabel).join(',')}` : '';
  const seq = String(r.sequence).padStart(6, '0');
  process.stdout.write(
    `#${seq} ${r.station.padEnd(10)} ${r.verdict.padEnd(3)} ${r.timings.totalMs.toFixed(1).padStart(6)} ms  part=${r.partId ?? '-'}${reasons}\n`,
  );
}

function logStatus(line: LineRuntime, log: Log): void {
  const health = line.health;
  for (const s of line.stations) {
    const h = health.stations.find((x) => x.station === s.name);
    const store = h && { degraded: h.degraded, faults: h.faults.map((f) => f.fault), held: h.held, counters: h.counters };
    log.info(
      { station: s.name, counters: { ...s.counters }, latencyMs: latencyTable(s), inference: inferenceStatus(s), health: store },
      'station status',
    );
  }
  if (health.disk) log.info({ disk: health.disk, allowsArchive: health.allowsArchive }, 'store disk');
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
