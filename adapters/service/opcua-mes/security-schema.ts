/**
 * The configuration side of the MES server's security (issue 9), free of node-opcua so that the line schema, `linesight
 * validate`, `mes-password` and `pki list` load none of it: the `security:` options schema (secure by default), the
 * roles and the least role of each method, scrypt password hashes and where the PKI lives. security.ts builds the
 * server options and the role checks on it, and re-exports all of this.
 */
import { randomBytes, scrypt, scryptSync, timingSafeEqual } from 'node:crypto';
import path from 'node:path';
import { z } from 'zod';

export const MES_ROLES = ['read', 'mes', 'operator', 'engineer'] as const;
export type MesRole = (typeof MES_ROLES)[number];

/** The least role that may call each method (OPC 40100 names). A method missing here cannot be guarded. */
export const METHOD_ROLE = {
  GetResultById: 'mes',
  GetResultComponentsById: 'mes',
  GetResultListFiltered: 'mes',
  ReleaseResultHandle: 'mes',
  GetRecipeListFiltered: 'mes',
  StartSingleJob: 'operator',
  StartContinuous: 'operator',
  Stop: 'operator',
  Abort: 'operator',
  SimulationMode: 'operator',
  PrepareRecipe: 'engineer',
  UnprepareRecipe: 'engineer',
  Halt: 'engineer',
  Reset: 'engineer',
  ConfirmAll: 'engineer',
  SelectModeAutomatic: 'engineer',
} as const satisfies Record<string, MesRole>;
export type MesMethod = keyof typeof METHOD_ROLE;

// ---------------------------------------------------------------------------------------------------------------
// Password hashes: scrypt$N$r$p$saltB64$hashB64

const SCRYPT = { N: 16384, r: 8, p: 1, saltBytes: 16, keyBytes: 32 } as const;
const HASH_RE = /^scrypt\$(\d{1,8})\$(\d{1,3})\$(\d{1,3})\$([A-Za-z0-9+/]{22,}={0,2})\$([A-Za-z0-9+/]{22,}={0,2})$/;
const MAKE_HASH_HINT = 'make one with `linesight mes-password` (it reads the password from stdin and prints the hash)';

interface ParsedHash {
  readonly N: number;
  readonly r: number;
  readonly p: number;
  readonly salt: Buffer;
  readonly key: Buffer;
}

/** The parts of a hash in our format, or null: bounded cost (N a power of 2 up to 2^20, r ≤ 32, p ≤ 16), salt ≥ 16 and key 16–64 bytes. */
function parseHash(hash: string): ParsedHash | null {
  const m = HASH_RE.exec(hash);
  if (!m) return null;
  const [N, r, p] = [Number(m[1]), Number(m[2]), Number(m[3])];
  const salt = Buffer.from(m[4]!, 'base64');
  const key = Buffer.from(m[5]!, 'base64');
  const powerOfTwo = N >= 2 && N <= 1 << 20 && (N & (N - 1)) === 0;
  if (!powerOfTwo || r < 1 || r > 32 || p < 1 || p > 16 || salt.length < 16 || key.length < 16 || key.length > 64) return null;
  return { N, r, p, salt, key };
}

const scryptOptions = (h: Pick<ParsedHash, 'N' | 'r' | 'p'>) => ({ N: h.N, r: h.r, p: h.p, maxmem: 256 * h.N * h.r + 1024 * 1024 });

/** An scrypt hash of `password` (N=16384 r=8 p=1, 16-byte random salt, 32-byte key) as `scrypt$N$r$p$salt$key`. */
export function hashPassword(password: string): string {
  const salt = randomBytes(SCRYPT.saltBytes);
  const key = scryptSync(password, salt, SCRYPT.keyBytes, scryptOptions(SCRYPT));
  return `scrypt$${SCRYPT.N}$${SCRYPT.r}$${SCRYPT.p}$${salt.toString('base64')}$${key.toString('base64')}`;
}

/** True when `password` matches `hash` (constant-time compare); a malformed hash never verifies. */
export function verifyPassword(password: string, hash: string): boolean {
  const h = parseHash(hash);
  if (!h) return false;
  return timingSafeEqual(scryptSync(password, h.salt, h.key.length, scryptOptions(h)), h.key);
}

/** verifyPassword off the event loop (libuv's thread pool): what the server uses, so a login never stalls inspection. */
export function verifyPasswordAsync(password: string, hash: string): Promise<boolean> {
  const h = parseHash(hash);
  if (!h) return Promise.resolve(false);
  return new Promise((resolve) => {
    scrypt(password, h.salt, h.key.length, scryptOptions(h), (err, key) => resolve(!err && timingSafeEqual(key, h.key)));
  });
}

// ---------------------------------------------------------------------------------------------------------------
// Schema

const POLICIES = ['Basic256Sha256', 'Aes128_Sha256_RsaOaep', 'Aes256_Sha256_RsaPss'] as const;
const MODES = ['Sign', 'SignAndEncrypt'] as const;

const MesUser = z
  .object({
    name: z
      .string()
      .min(1)
      .max(128)
      .refine((n) => n !== 'anonymous', { message: "'anonymous' is node-opcua's name for the anonymous user; choose another name" })
      .describe('User name the MES client logs in with'),
    passwordHash: z
      .string()
      .refine((h) => parseHash(h) !== null, {
        message: `passwordHash must be an scrypt hash (scrypt$N$r$p$salt$key), never a plain password: ${MAKE_HASH_HINT}`,
      })
      .describe(`scrypt hash of the password: ${MAKE_HASH_HINT}`),
    role: z.enum(['mes', 'operator', 'engineer']).describe('mes: browse, read, results; operator: + jobs; engineer: + recipes, state machine'),
  })
  .strict()
  .describe('One user of the MES server');

export const MesSecuritySchema = z
  .object({
    policies: z
      .array(z.enum(POLICIES))
      .min(1)
      .default([...POLICIES])
      .refine((p) => new Set(p).size === p.length, 'policies must be unique')
      .describe('Security policies of the secure endpoints'),
    modes: z
      .array(z.enum(MODES))
      .min(1)
      .default([...MODES])
      .refine((m) => new Set(m).size === m.length, 'modes must be unique')
      .describe('Message security modes of the secure endpoints'),
    allowUnsecured: z
      .boolean()
      .default(false)
      .describe('Also offer SecurityPolicy None / MessageSecurityMode None (no signing, no encryption; logged as a warning at start)'),
    anonymous: z
      .enum(['off', 'read', 'mes', 'operator'])
      .default('off')
      .describe('Role of an anonymous session; off: anonymous sessions are refused at ActivateSession'),
    users: z
      .array(MesUser)
      .default([])
      .refine((u) => new Set(u.map((x) => x.name)).size === u.length, 'user names must be unique')
      .describe('Users who log in with a user name and password'),
    pkiDir: z
      .string()
      .min(1)
      .optional()
      .describe(
        'PKI folder (server certificate, trusted/rejected client certificates), relative to the line YAML; default: opcua-mes-pki beside the result store',
      ),
  })
  .strict()
  .describe('Security of the MES server: endpoints, users and roles, PKI (secure by default)');

export type MesSecurity = z.output<typeof MesSecuritySchema>;

/** The PKI folder: `pkiDir` relative to the line YAML, or `opcua-mes-pki` in the result store's folder (the state directory). */
export function resolveMesPkiDir(security: Pick<MesSecurity, 'pkiDir'>, configDir: string, storeFile: string): string {
  if (security.pkiDir !== undefined) return path.resolve(configDir, security.pkiDir);
  return path.join(path.dirname(path.resolve(configDir, storeFile)), 'opcua-mes-pki');
}

/** The two node-opcua stores under the PKI folder: client applications (and the server's own certificate), X509 users. */
export function mesPkiStores(pkiDir: string): { readonly application: string; readonly user: string } {
  return { application: path.join(pkiDir, 'application'), user: path.join(pkiDir, 'user') };
}
