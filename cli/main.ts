/**
 * `linesight <command>`: run, validate, inspect. Each command returns an exit code (cli/exit-codes.ts);
 * typed errors are mapped to codes here, once.
 */
import { isLinesightError } from '../runtime/errors.ts';
import { EXIT } from './exit-codes.ts';
import { runCommand, HELP as RunHelp } from './commands/run.ts';
import { validateCommand, HELP as ValidateHelp } from './commands/validate.ts';
import { inspectCommand, HELP as InspectHelp } from './commands/inspect.ts';
import { measureCommand, HELP as MeasureHelp } from './commands/measure.ts';
import { calibrateCommand, HELP as CalibrateHelp } from './commands/calibrate.ts';
import { trainCommand, HELP as TrainHelp } from './commands/train.ts';
import { evalCommand, HELP as EvalHelp } from './commands/eval.ts';

const USAGE = `linesight — line-side vision inspection runtime

Usage:
  linesight run --config FILE [--quiet]             run a production line until Ctrl-C/SIGTERM
  linesight validate FILE...                        check line YAML files (exit 2 on the first problem found)
  linesight inspect --config FILE --station NAME IMAGE... [--json]
                                                    inspect image files once, one result per image
  linesight measure holes IMAGE... --mm-per-px S [--calibration FILE] [--nominal-mm D] [--json]
                                                    measure hole diameter, position, roundness, Fd in mm
  linesight calibrate camera|telecentric --images DIR ... --out FILE
                                                    camera (ChArUco) or telecentric scale calibration
  linesight train anomaly --good DIR [--bad DIR] --out DIR [--size N] [--mode fixtured|texture|auto]
                                                    build an anomaly model from good parts (PaDiM-style)
  linesight eval --model DIR --good DIR --bad DIR [--masks DIR] [--json]
                                                    image/pixel AUROC, AUPRO, F1, miss rate of a model
  linesight <command> --help                        help for one command

Exit codes: 0 ok, 1 failure, 2 usage/config error, 3 model refused, 4 NOK part (inspect, measure), 5 unreadable image,
6 no hole found (measure)`;

/** Each command with its help text; `--help`/`-h` anywhere after a command prints that text (exit 0). */
const COMMANDS: Record<string, { run: (argv: string[]) => Promise<number>; help: string }> = {
  run: { run: runCommand, help: RunHelp },
  validate: { run: validateCommand, help: ValidateHelp },
  inspect: { run: inspectCommand, help: InspectHelp },
  measure: { run: measureCommand, help: MeasureHelp },
  calibrate: { run: calibrateCommand, help: CalibrateHelp },
  train: { run: trainCommand, help: TrainHelp },
  eval: { run: evalCommand, help: EvalHelp },
};

export async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (command === undefined || command === '--help' || command === '-h' || command === 'help') {
    process.stdout.write(`${USAGE}\n`);
    return command === undefined ? EXIT.USAGE : EXIT.OK;
  }
  const handler = COMMANDS[command];
  if (!handler) {
    process.stderr.write(`linesight: unknown command '${command}'\n\n${USAGE}\n`);
    return EXIT.USAGE;
  }
  if (rest.includes('--help') || rest.includes('-h')) {
    process.stdout.write(`${handler.help}\n`);
    return EXIT.OK;
  }
  try {
    return await handler.run(rest);
  } catch (err) {
    return reportFatal(err);
  }
}

export function reportFatal(err: unknown): number {
  if (isLinesightError(err)) {
    process.stderr.write(`linesight: ${err.message}\n`);
    if (err.code === 'LS_ERR_CONFIG_INVALID' || err.code === 'LS_ERR_CONFIG_UNREADABLE' || err.code === 'LS_ERR_USAGE' || err.code === 'LS_ERR_STATION_UNKNOWN' || err.code === 'LS_ERR_METROLOGY_SPEC' || err.code === 'LS_ERR_CALIBRATION_INVALID') return EXIT.USAGE;
    if (err.code.startsWith('LS_ERR_MODEL_')) return EXIT.MODEL_REFUSED;
    return EXIT.FAILURE;
  }
  process.stderr.write(`linesight: unexpected failure: ${(err as Error)?.stack ?? String(err)}\n`);
  return EXIT.FAILURE;
}

const isEntry = process.argv[1] && /(?:linesight(?:\.js)?|cli[\\/]main\.ts)$/.test(process.argv[1]);
if (isEntry) {
  main(process.argv.slice(2)).then((code) => {
    process.exitCode = code;
  });
}
