/**
 * `linesight <command>`: run, validate, inspect, trigger, measure, calibrate, train, eval, mes-password, pki. Each command returns an exit code (cli/exit-codes.ts);
 * typed errors are mapped to codes here, once.
 */
import { isLinesightError } from '../runtime/errors.ts';
import { EXIT, exitCodeOf } from './exit-codes.ts';

const USAGE = `linesight — line-side vision inspection runtime

Usage:
  linesight run --config FILE [--quiet] [--status-every S]
                                                    run a production line until Ctrl-C/SIGTERM
  linesight validate FILE...                        check line YAML files as run does before it opens anything
  linesight inspect --config FILE --station NAME IMAGE... [--json]
                                                    inspect image files once, one result per image
  linesight trigger --config FILE --station NAME [--part-id ID] [--wait] [--json]
                                                    trigger one part on a running line's software-triggered station
  linesight measure holes IMAGE... --mm-per-px S [--calibration FILE] [--nominal-mm D] [--json]
                                                    measure hole diameter, position, roundness, Fd in mm
  linesight calibrate camera|telecentric --images DIR ... --out FILE
                                                    camera (ChArUco) or telecentric scale calibration
  linesight train anomaly --good DIR [--bad DIR] --out DIR [--size N] [--mode fixtured|texture|auto]
                                                    build an anomaly model from good parts (PaDiM-style)
  linesight eval --model DIR --good DIR --bad DIR [--masks DIR] [--json]
                                                    image/pixel AUROC, AUPRO, F1, miss rate of a model
  linesight mes-password                            hash a password (stdin) for a MES server user
  linesight pki list|trust|reject --config FILE [CERT]   (or --pki-dir DIR)
                                                    client certificates the MES OPC UA server trusts
  linesight <command> --help                        help for one command

Exit codes: 0 ok, 1 failure, 2 usage/config error, 3 model refused, 4 NOK part (inspect, measure), 5 unreadable image,
6 no hole found (measure)`;

/** A command module: its help text and its entry point. */
interface CommandModule {
  readonly HELP: string;
  readonly command: (argv: string[]) => Promise<number>;
}

/**
 * Each command, loaded only when it is the one asked for: `linesight run` never loads the trainers, opencv or the
 * evaluators, and `--help` loads nothing. `--help`/`-h` anywhere after a command prints that command's help (exit 0).
 */
const lazy =
  <M extends { readonly HELP: string }>(load: () => Promise<M>, pick: (m: M) => CommandModule['command']) =>
  async (): Promise<CommandModule> => {
    const m = await load();
    return { HELP: m.HELP, command: pick(m) };
  };

const COMMANDS: Record<string, () => Promise<CommandModule>> = {
  run: lazy(
    () => import('./commands/run.ts'),
    (m) => m.runCommand,
  ),
  validate: lazy(
    () => import('./commands/validate.ts'),
    (m) => m.validateCommand,
  ),
  inspect: lazy(
    () => import('./commands/inspect.ts'),
    (m) => m.inspectCommand,
  ),
  trigger: lazy(
    () => import('./commands/trigger.ts'),
    (m) => m.triggerCommand,
  ),
  measure: lazy(
    () => import('./commands/measure.ts'),
    (m) => m.measureCommand,
  ),
  calibrate: lazy(
    () => import('./commands/calibrate.ts'),
    (m) => m.calibrateCommand,
  ),
  train: lazy(
    () => import('./commands/train.ts'),
    (m) => m.trainCommand,
  ),
  eval: lazy(
    () => import('./commands/eval.ts'),
    (m) => m.evalCommand,
  ),
  'mes-password': lazy(
    () => import('./commands/mes-password.ts'),
    (m) => m.mesPasswordCommand,
  ),
  pki: lazy(
    () => import('./commands/pki.ts'),
    (m) => m.pkiCommand,
  ),
};

export async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (command === undefined || command === '--help' || command === '-h' || command === 'help') {
    process.stdout.write(`${USAGE}\n`);
    return command === undefined ? EXIT.USAGE : EXIT.OK;
  }
  const load = Object.hasOwn(COMMANDS, command) ? COMMANDS[command] : undefined;
  if (!load) {
    process.stderr.write(`linesight: unknown command '${command}'\n\n${USAGE}\n`);
    return EXIT.USAGE;
  }
  try {
    const handler = await load();
    if (rest.includes('--help') || rest.includes('-h')) {
      process.stdout.write(`${handler.HELP}\n`);
      return EXIT.OK;
    }
    return await handler.command(rest);
  } catch (err) {
    return reportFatal(err);
  }
}

export function reportFatal(err: unknown): number {
  if (isLinesightError(err)) {
    process.stderr.write(`linesight: ${err.message}\n`);
    return exitCodeOf(err);
  }
  process.stderr.write(`linesight: unexpected failure: ${(err as Error)?.stack ?? String(err)}\n`);
  return EXIT.FAILURE;
}

const isEntry = process.argv[1] && /(?:linesight(?:\.js)?|cli[\\/]main\.ts)$/.test(process.argv[1]);
if (isEntry) {
  main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (err: unknown) => {
      process.exitCode = reportFatal(err);
    },
  );
}
