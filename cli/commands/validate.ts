import { createRegistry, loadConfig } from '../boot.ts';
import { isLinesightError } from '../../runtime/errors.ts';
import { parseCommandArgs, usageError } from '../args.ts';
import { EXIT, exitCodeOf } from '../exit-codes.ts';
import { preflight, reportProblems } from '../preflight.ts';

export const HELP = `linesight validate FILE...

Checks each line YAML as 'linesight run' would before it opens anything (cli/preflight.ts), without opening
anything: the schema (unknown keys are errors); the store path (not a directory, its folder there or creatable,
writable); each station's calibration file; each model as the line loads it (model.yaml, the file and its sha256
pin, inputs/outputs, golden checks); and that no two listeners of the line (simulated PLC, HTTP control, Modbus
server mode) share a host:port.
Prints 'FILE: ok' or each problem as 'FILE:LINE key.path: message' on stderr. Exit 0 if all are valid, else the
code 'run' would give for the first problem of the first failing file: 2 configuration, 3 model refused, 1 other.`;

export async function validateCommand(argv: string[]): Promise<number> {
  const { positionals } = parseCommandArgs(argv, {}, true);
  if (positionals.length === 0) throw usageError('validate needs at least one FILE');
  const registry = createRegistry();
  let worst: number = EXIT.OK;
  for (const file of positionals) {
    const code = await validateFile(file, registry);
    if (worst === EXIT.OK) worst = code;
  }
  return worst;
}

async function validateFile(file: string, registry: ReturnType<typeof createRegistry>): Promise<number> {
  let config: ReturnType<typeof loadConfig>;
  try {
    config = loadConfig(file);
  } catch (err) {
    if (!isLinesightError(err)) throw err;
    process.stderr.write(`${err.message.replace(/^LS_ERR_[A-Z_]+: /, '')}\n`);
    return exitCodeOf(err);
  }
  const problems = await preflight(config, file, registry);
  if (problems.length > 0) return reportProblems(problems, (line) => process.stderr.write(line));
  process.stdout.write(`${file}: ok (${config.stations.length} station(s))\n`);
  return EXIT.OK;
}
