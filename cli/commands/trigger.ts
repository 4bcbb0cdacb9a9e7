/**
 * `linesight trigger`: fires one software trigger on a running line (the daemon's HTTP control listener,
 * runtime/control/http-control.ts) — what an operator's button, a script or a test rig does.
 */
import { LinesightError } from '../../runtime/errors.ts';
import { loadConfig } from '../boot.ts';
import { parseCommandArgs, usageError } from '../args.ts';
import { EXIT } from '../exit-codes.ts';
import { numberOption } from '../option-values.ts';
import type { InspectionResult } from '../../runtime/results/result.ts';

export const HELP = `linesight trigger --config FILE --station NAME [--part-id ID] [--wait] [--timeout SECONDS] [--json]

Triggers one part on a station whose trigger is { mode: software }, on the line that FILE describes and that
\`linesight run\` is running (its http: listener). With --wait, waits for the verdict and prints it (exit 4 for a
NOK part, as inspect does); --timeout: seconds to wait for the answer, more than 0 up to 3600 (default 30);
--json prints the listener's answer. Exit 0 accepted (or OK), 1 refused or unreachable,
2 usage/config error.`;

interface TriggerAnswer {
  readonly accepted?: boolean;
  readonly reason?: string;
  readonly error?: string;
  readonly result?: InspectionResult | null;
}

export async function triggerCommand(argv: string[]): Promise<number> {
  const { values } = parseCommandArgs(
    argv,
    {
      config: { type: 'string', short: 'c' },
      station: { type: 'string', short: 's' },
      'part-id': { type: 'string' },
      wait: { type: 'boolean' },
      timeout: { type: 'string' },
      json: { type: 'boolean' },
    },
    false,
  );
  if (!values.config || !values.station) throw usageError('trigger needs --config FILE and --station NAME');
  const timeoutS = numberOption('--timeout', values.timeout, { above: 0, max: 3600 }, 30);
  const config = loadConfig(values.config);
  if (!config.http) throw usageError(`${config.file}: the line has no http: listener to trigger through`);
  const host = config.http.host.includes(':') ? `[${config.http.host}]` : config.http.host;
  const url = `http://${host}:${config.http.port}/stations/${encodeURIComponent(values.station)}/trigger`;
  const answer = await post(url, { partId: values['part-id'] ?? null, wait: values.wait === true }, timeoutS * 1000);
  if (values.json) process.stdout.write(`${JSON.stringify(answer.body)}\n`);
  if (!answer.body.accepted) {
    throw new LinesightError(
      'LS_ERR_TRIGGER_FAILED',
      `station ${values.station}: ${answer.body.error ?? answer.body.reason ?? `HTTP ${answer.status}`}`,
      { url, status: answer.status },
    );
  }
  const result = answer.body.result;
  if (!values.json)
    process.stdout.write(
      result
        ? `${result.station} #${result.sequence} ${result.verdict} part=${result.partId ?? '-'}\n`
        : values.wait
          ? 'triggered: no part came of it\n'
          : 'triggered\n',
    );
  return result?.verdict === 'NOK' ? EXIT.NOK : EXIT.OK;
}

async function post(url: string, body: object, timeoutMs: number): Promise<{ status: number; body: TriggerAnswer }> {
  let res: Response;
  try {
    res = await fetch(url, {
      method: 'POST',
      body: JSON.stringify(body),
      headers: { 'content-type': 'application/json' },
      signal: AbortSignal.timeout(timeoutMs),
    });
  } catch (err) {
    throw new LinesightError(
      'LS_ERR_TRIGGER_FAILED',
      `cannot reach ${url}: ${(err as Error).message} (is the line running?)`,
      { url },
      { cause: err },
    );
  }
  const text = await res.text();
  try {
    return { status: res.status, body: JSON.parse(text) as TriggerAnswer };
  } catch (err) {
    throw new LinesightError('LS_ERR_TRIGGER_FAILED', `${url} answered HTTP ${res.status} with no JSON`, { url, status: res.status }, { cause: err });
  }
}
