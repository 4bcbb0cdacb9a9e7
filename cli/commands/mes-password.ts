/**
 * `linesight mes-password`: reads one password line from stdin and prints its scrypt hash, the `passwordHash` of a
 * user of the MES OPC UA server (adapters/service/opcua-mes/security-schema.ts). The password is never echoed or logged.
 */
import { hashPassword } from '../../adapters/service/opcua-mes/security-schema.ts';
import { parseCommandArgs, usageError } from '../args.ts';
import { EXIT } from '../exit-codes.ts';

export const HELP = `linesight mes-password

Reads a password from stdin (the first line; a trailing CR/LF is dropped) and prints its scrypt hash
(scrypt$N$r$p$salt$key) on stdout, for a user's passwordHash in the line YAML's opcua-mes service:

  security:
    users:
      - { name: mes1, role: mes, passwordHash: 'scrypt$16384$8$1$…' }

Example: read -rs PW && printf '%s\\n' "$PW" | linesight mes-password
Each run salts anew, so the same password gives a different hash each time. Exit 0 ok, 2 empty password.`;

export async function mesPasswordCommand(argv: string[]): Promise<number> {
  parseCommandArgs(argv, {}, false);
  if (process.stdin.isTTY) process.stderr.write('password (not hidden; end with Enter): ');
  const password = await readFirstLine(process.stdin);
  if (password.length === 0) throw usageError('mes-password: empty password on stdin');
  process.stdout.write(`${hashPassword(password)}\n`);
  return EXIT.OK;
}

/** The first line of a stream (without its CR/LF), read until a newline or the end of the stream. */
export async function readFirstLine(stream: NodeJS.ReadableStream): Promise<string> {
  let text = '';
  for await (const chunk of stream) {
    text += typeof chunk === 'string' ? chunk : chunk.toString('utf8');
    if (text.includes('\n')) break;
  }
  return text.split('\n')[0]!.replace(/\r$/, '');
}
