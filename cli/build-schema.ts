/**
 * Writes configs/linesight.schema.json from the zod schema so editors can complete and check line YAML
 * (`# yaml-language-server: $schema=linesight.schema.json`). A test fails when the committed file is stale.
 */
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import { z } from 'zod';
import { scriptArgs } from '../training/script-args.ts';
import { lineSchema } from './boot.ts';

export const SCHEMA_FILE = fileURLToPath(new URL('../configs/linesight.schema.json', import.meta.url));

export function renderJsonSchema(): string {
  // io 'input': keys with defaults are optional in the file, as a line engineer writes it.
  const schema = z.toJSONSchema(lineSchema(), { io: 'input', unrepresentable: 'any' });
  return `${JSON.stringify({ ...schema, title: 'Linesight line configuration' }, null, 2)}\n`;
}

const USAGE = `usage: npm run build:schema
       npx tsx cli/build-schema.ts

Writes configs/linesight.schema.json from the line schema (zod), for editors' completion and checks of line
YAML. Takes no options. Exit 0 written, 2 usage error.`;

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  scriptArgs(process.argv.slice(2), { usage: USAGE });
  writeFileSync(SCHEMA_FILE, renderJsonSchema());
  process.stdout.write(`wrote ${path.relative(process.cwd(), SCHEMA_FILE)}\n`);
}
