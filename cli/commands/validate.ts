import { loadConfig } from '../boot.ts';
import { isLinesightError } from '../../runtime/errors.ts';
import { readManifest } from '../../runtime/inference/onnx-model.ts';
import path from 'node:path';
import { parseCommandArgs, usageError } from '../args.ts';
import { EXIT } from '../exit-codes.ts';

export const HELP = `linesight validate FILE...

Checks each line YAML against the schema (unknown keys are errors) and that every model.yaml it names parses.
Prints 'FILE: ok' or each problem as 'FILE:LINE key.path: message'. Exit 0 if all are valid, 2 otherwise.`;

export async function validateCommand(argv: string[]): Promise<number> {
  const { positionals } = parseCommandArgs(argv, {}, true);
  if (positionals.length === 0) throw usageError('validate needs at least one FILE');
  let worst: number = EXIT.OK;
  for (const file of positionals) {
    try {
      const config = loadConfig(file);
      for (const st of config.stations) for (const m of st.models) readManifest(path.resolve(config.dir, m.manifest));
      process.stdout.write(`${file}: ok (${config.stations.length} station(s))\n`);
    } catch (err) {
      if (!isLinesightError(err)) throw err;
      process.stderr.write(`${err.message.replace(/^LS_ERR_[A-Z_]+: /, '')}\n`);
      worst = EXIT.USAGE;
    }
  }
  return worst;
}
