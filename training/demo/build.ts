/** Builds every demo model under models/: `npm run build:models` (deterministic). */
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildDrillingDefects } from './drilling-defects/build.ts';
import { buildSurfaceAnomaly } from './surface-anomaly/build.ts';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'models');
const only = process.argv[2];
const t0 = performance.now();
const log = (s: string): void => console.log(`[${((performance.now() - t0) / 1000).toFixed(1)}s] ${s}`);
if (!only || only === 'surface-anomaly') await buildSurfaceAnomaly(join(root, 'surface-anomaly'), log);
if (!only || only === 'drilling-defects') await buildDrillingDefects(join(root, 'drilling-defects'), log);
log('done');
