/**
 * Secrets (PLC passwords) come from a file or an environment variable, never from the line YAML itself, and are
 * never logged: the config carries only where to find them. A file is read with a trailing newline trimmed (as
 * written by `echo` or a Docker/systemd credential).
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { LinesightError, reasonOf } from '../../../runtime/errors.ts';

export const SecretSchema = z
  .object({
    file: z.string().min(1).optional().describe('File holding the secret, relative to the line YAML unless absolute'),
    env: z
      .string()
      .regex(/^[A-Za-z_][A-Za-z0-9_]*$/)
      .optional()
      .describe('Environment variable holding the secret'),
  })
  .strict()
  .refine((s) => (s.file === undefined) !== (s.env === undefined), 'give exactly one of file or env')
  .describe('Where a secret is read from (never written in the YAML)');

export type SecretRef = z.output<typeof SecretSchema>;

export function readSecret(ref: SecretRef, configDir: string, what: string): string {
  if (ref.env !== undefined) {
    const v = process.env[ref.env];
    if (v === undefined || v === '') {
      throw new LinesightError('LS_ERR_PLC_SECRET_UNREADABLE', `${what}: environment variable ${ref.env} is not set`, { env: ref.env, what });
    }
    return v;
  }
  const file = path.resolve(configDir, ref.file as string);
  try {
    return readFileSync(file, 'utf8').replace(/\r?\n$/, '');
  } catch (err) {
    // The path is safe to log; the content never is.
    throw new LinesightError(
      'LS_ERR_PLC_SECRET_UNREADABLE',
      `${what}: cannot read secret file ${file}: ${reasonOf(err)}`,
      { file, what },
      { cause: err },
    );
  }
}
