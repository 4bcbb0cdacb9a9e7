/**
 * `npm run bench`: runs each bench/*.bench.ts in its own process (so one benchmark's heap and JIT state
 * cannot colour another's) with --expose-gc, and prints their tables. `npm run bench -- NAME` runs one.
 */
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { scriptArgs, scriptUsageError } from '../training/script-args.ts';

const USAGE = `usage: npm run bench [-- NAME]
       npx tsx bench/run-all.ts [NAME]

Runs each bench/*.bench.ts (those whose file name contains NAME, if given) in its own process and prints its
tables. Exit 0 all ran, 1 a benchmark failed, 2 usage error.`;

const dir = import.meta.dirname;
const only = scriptArgs(process.argv.slice(2), { usage: USAGE, positionals: { max: 1 } }).positionals[0];
const files = readdirSync(dir)
  .filter((f) => f.endsWith('.bench.ts') && (!only || f.includes(only)))
  .sort();
if (files.length === 0) scriptUsageError(`no benchmark matches '${only}'`);
let failed = 0;
for (const f of files) {
  process.stdout.write(`\n=== ${f} ===\n`);
  const r = spawnSync(process.execPath, ['--expose-gc', '--import', 'tsx', path.join(dir, f)], { stdio: 'inherit' });
  if (r.status !== 0) failed++;
}
process.exitCode = failed === 0 ? 0 : 1;
