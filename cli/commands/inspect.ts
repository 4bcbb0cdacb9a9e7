import path from 'node:path';
import { LinesightError, isLinesightError } from '../../runtime/errors.ts';
import { loadConfig } from '../boot.ts';
import { loadStationMetrology, loadStationModels } from '../../runtime/line.ts';
import { readFrameFile } from '../../runtime/frame/decode-image.ts';
import { configIdOf } from '../../runtime/config/config-id.ts';
import { buildResult, emptyTimings, frameGeometry, inspectFrame, modelRefs } from '../../runtime/pipeline/inspect-frame.ts';
import { FrameGate, reasonLabel, type ExpectedSize } from '../../runtime/pipeline/frame-gate.ts';
import type { Reason } from '../../runtime/results/result.ts';
import type { AdapterOptions } from '../../runtime/config/schema.ts';
import { parseCommandArgs, usageError } from '../args.ts';
import { EXIT } from '../exit-codes.ts';

export const HELP = `linesight inspect --config FILE --station NAME IMAGE... [--json]

Runs one station's models on each image once, without store, sinks or PLC. With --json, prints one JSON
object per image on stdout: {file, verdict, reasons, measurements, defects, timings, models, ...}; an
unreadable image gives {file, error: {code, message}}. Exit 0 if all parts are OK, 4 if any is NOK,
5 if any image could not be read (takes precedence), 2 for a bad config or station, 3 if a model is refused.`;

export async function inspectCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parseCommandArgs(
    argv,
    {
      config: { type: 'string', short: 'c' },
      station: { type: 'string', short: 's' },
      json: { type: 'boolean' },
    },
    true,
  );
  if (!values.config || !values.station) throw usageError('inspect needs --config FILE and --station NAME');
  if (positionals.length === 0) throw usageError('inspect needs at least one IMAGE');
  const config = loadConfig(values.config);
  const station = config.stations.find((s) => s.name === values.station);
  if (!station) {
    throw new LinesightError(
      'LS_ERR_STATION_UNKNOWN',
      `no station '${values.station}' in ${values.config} (stations: ${config.stations.map((s) => s.name).join(', ')})`,
      { station: values.station },
    );
  }
  const models = await loadStationModels(config, station);
  const origin = {
    line: config.line,
    station: station.name,
    recipe: station.recipe,
    models: modelRefs(models),
    configId: configIdOf(config),
    simulated: false,
    job: null,
  };
  const metrology = loadStationMetrology(config, station);
  const format = station.source.pixelFormat === 'RGB8' ? 'RGB8' : 'Mono8';
  // The station's own gate: a frame of another size than its source delivers is rejected, not resized.
  const gate = new FrameGate(station.acceptance, sourceFrameSize(station.source), station.roi ?? null);
  let code: number = EXIT.OK;
  let sequence = 0;
  for (const file of positionals) {
    const out = await inspectOne(file, format, ++sequence);
    process.stdout.write(values.json ? `${JSON.stringify(out)}\n` : `${humanLine(out)}\n`);
    if ('error' in out) code = EXIT.UNREADABLE;
    else if (out.verdict === 'NOK' && code === EXIT.OK) code = EXIT.NOK;
  }
  for (const m of models) await m.close();
  return code;

  async function inspectOne(file: string, fmt: 'Mono8' | 'RGB8', seq: number) {
    const t = emptyTimings();
    const t0 = performance.now();
    try {
      const slot = await readFrameFile(file, fmt);
      slot.sequence = seq;
      slot.captureEpochMs = Date.now();
      slot.partId = path.basename(file, path.extname(file));
      t.acquireMs = performance.now() - t0;
      const decision = await inspectFrame(models, slot, frameGeometry(station!, slot), t, { gate, metrology });
      t.totalMs = performance.now() - t0;
      const { sequence: _unstored, ...result } = buildResult(origin, slot, decision, t);
      return { file, ...result };
    } catch (err) {
      if (!isLinesightError(err) || !['LS_ERR_FRAME_CORRUPT', 'LS_ERR_FRAME_UNREADABLE', 'LS_ERR_FRAME_SIZE'].includes(err.code)) throw err;
      return { file, error: { code: err.code, message: err.message } };
    }
  }
}

function humanLine(o: { file: string; verdict?: string; reasons?: readonly Reason[]; error?: { message: string } }): string {
  if (o.error) return `${o.file}: unreadable (${o.error.message})`;
  const reasons = o.reasons && o.reasons.length ? ` ${o.reasons.map(reasonLabel).join(',')}` : '';
  return `${o.file}: ${o.verdict}${reasons}`;
}

/** The frame size the station's source is configured for (width/height options), or null when it names none. */
function sourceFrameSize(source: AdapterOptions): ExpectedSize | null {
  const { width, height } = source;
  return typeof width === 'number' && typeof height === 'number' ? { width, height } : null;
}
