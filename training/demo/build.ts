/** Builds every demo model under models/: `npm run build:models` (deterministic). */
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildDrillingDefects } from './drilling-defects/build.ts';
import { buildSurfaceAnomaly } from './surface-anomaly/build.ts';
import { scriptArgs, scriptUsageError } from '../script-args.ts';

const USAGE = `usage: npm run build:models [-- surface-anomaly|drilling-defects]
       npx tsx training/demo/build.ts [surface-anomaly|drilling-defects]

Rebuilds the demo models under models/ (deterministic: the same files every time), both unless one is named.
Exit 0 built, 2 usage error.`;

const MODELS = ['surface-anomaly', 'drilling-defects'];
const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'models');
const only = scriptArgs(process.argv.slice(2), { usage: USAGE, positionals: { max: 1 } }).positionals[0];
if (only !== undefined && !MODELS.includes(only)) scriptUsageError(`unknown model '${only}' (${MODELS.join(' or ')})`);
const t0 = performance.now();
const log = (s: string): void => console.log(`[${((performance.now() - t0) / 1000).toFixed(1)}s] ${s}`);
if (!only || only === 'surface-anomaly') await buildSurfaceAnomaly(join(root, 'surface-anomaly'), log);
if (!only || only === 'drilling-defects') await buildDrillingDefects(join(root, 'drilling-defects'), log);
log('done');
