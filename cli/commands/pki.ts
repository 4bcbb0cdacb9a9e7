/**
 * `linesight pki list|trust|reject`: the client certificates the MES OPC UA server trusts. A client whose certificate
 * the server does not know is refused and its certificate lands in the PKI's `application/rejected/`; `trust` moves
 * it to `application/trusted/certs/` (the running server sees the move at once: node-opcua watches those folders),
 * `reject` moves a trusted one back. The moves go through node-opcua's own certificate manager, loaded for them
 * only (`list` reads the folders with node:crypto), its warnings sent to stderr so that stdout stays parseable.
 */
import { X509Certificate } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { format } from 'node:util';
import { LinesightError } from '../../runtime/errors.ts';
import { mesPkiStores, MesSecuritySchema, resolveMesPkiDir } from '../../adapters/service/opcua-mes/security-schema.ts';
import { parseCommandArgs, usageError } from '../args.ts';
import { loadConfig } from '../boot.ts';
import { EXIT } from '../exit-codes.ts';

export const HELP = `linesight pki list   (--config FILE | --pki-dir DIR) [--json]
linesight pki trust  CERT (--config FILE | --pki-dir DIR)
linesight pki reject CERT (--config FILE | --pki-dir DIR)

Manages the client certificates of the MES OPC UA server (the line's services entry of type opcua-mes): its PKI
folder is security.pkiDir, or opcua-mes-pki beside the result store; --pki-dir names the folder directly.
list prints each trusted and rejected client certificate: status, sha1 fingerprint, subject CN, application URI,
valid-to date and file. trust moves a rejected certificate to trusted; reject moves a trusted one to rejected.
CERT is a fingerprint prefix (at least 6 hex digits; colons and case ignored), a file name in the PKI, or the
path of a certificate file from elsewhere (PEM or DER), which is then added as trusted or rejected.
Exit 0 ok, 1 failure, 2 usage/config error (no opcua-mes service, CERT not found or ambiguous).`;

type CertStatus = 'trusted' | 'rejected';

export interface PkiCertificate {
  readonly status: CertStatus;
  /** sha1 of the DER, lower-case hex without colons (node-opcua's thumbprint). */
  readonly fingerprint: string;
  readonly commonName: string | null;
  readonly applicationUri: string | null;
  readonly validTo: string;
  readonly file: string;
  readonly der: Buffer;
}

export async function pkiCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parseCommandArgs(
    argv,
    { config: { type: 'string', short: 'c' }, 'pki-dir': { type: 'string' }, json: { type: 'boolean' } },
    true,
  );
  const [action, target, ...extra] = positionals;
  if (action !== 'list' && action !== 'trust' && action !== 'reject') throw usageError('pki needs list, trust or reject');
  if ((values.config === undefined) === (values['pki-dir'] === undefined)) throw usageError('pki needs --config FILE or --pki-dir DIR (one of them)');
  const pkiDir = values.config !== undefined ? pkiDirFromLine(values.config) : path.resolve(values['pki-dir']!);
  if (action === 'list') {
    if (target !== undefined) throw usageError('pki list takes no CERT');
    printList(pkiDir, values.json === true);
    return EXIT.OK;
  }
  if (target === undefined || extra.length > 0) throw usageError(`pki ${action} needs one CERT (fingerprint prefix or file)`);
  await move(pkiDir, target, action === 'trust' ? 'trusted' : 'rejected');
  return EXIT.OK;
}

/** The PKI folder of the line's opcua-mes service: its `security.pkiDir`, or `opcua-mes-pki` beside the result store. */
export function pkiDirFromLine(file: string): string {
  const config = loadConfig(file);
  const services = (config as { services?: unknown }).services;
  const mes = (Array.isArray(services) ? (services as unknown[]) : []).filter(
    (s): s is { type: string; security?: unknown } => typeof s === 'object' && s !== null && (s as { type?: unknown }).type === 'opcua-mes',
  );
  if (mes.length !== 1)
    throw new LinesightError(
      'LS_ERR_CONFIG_INVALID',
      `${config.file}: ${mes.length === 0 ? 'no services entry of type opcua-mes' : 'several opcua-mes services: name the folder with --pki-dir'}`,
      { file: config.file },
    );
  const parsed = MesSecuritySchema.safeParse(mes[0]!.security ?? {});
  if (!parsed.success)
    throw new LinesightError('LS_ERR_CONFIG_INVALID', `${config.file}: opcua-mes security: ${parsed.error.issues[0]?.message ?? 'invalid'}`, {
      file: config.file,
    });
  return resolveMesPkiDir(parsed.data, config.dir, config.store.path);
}

/** Every trusted and rejected client certificate of the PKI folder (none when the folder does not exist yet). */
export function listPkiCertificates(pkiDir: string): PkiCertificate[] {
  const root = mesPkiStores(pkiDir).application;
  const folders: readonly [CertStatus, string][] = [
    ['trusted', path.join(root, 'trusted', 'certs')],
    ['rejected', path.join(root, 'rejected')],
  ];
  const out: PkiCertificate[] = [];
  for (const [status, folder] of folders) {
    if (!existsSync(folder)) continue;
    for (const name of readdirSync(folder).sort()) {
      const file = path.join(folder, name);
      if (!/\.(pem|der|crt|cer)$/i.test(name) || !statSync(file).isFile()) continue;
      const cert = readCertificate(file);
      if (cert) out.push(describeCertificate(cert, status, file));
    }
  }
  return out;
}

function readCertificate(file: string): X509Certificate | null {
  try {
    return new X509Certificate(readFileSync(file));
  } catch {
    return null;
  }
}

function describeCertificate(cert: X509Certificate, status: CertStatus, file: string): PkiCertificate {
  const cn = /^CN=(.*)$/m.exec(cert.subject)?.[1] ?? null;
  const uri = /(?:^|,\s*)URI:([^,]+)/.exec(cert.subjectAltName ?? '')?.[1] ?? null;
  return {
    status,
    fingerprint: cert.fingerprint.replace(/:/g, '').toLowerCase(),
    commonName: cn,
    applicationUri: uri,
    validTo: new Date(cert.validTo).toISOString(),
    file,
    der: cert.raw,
  };
}

function printList(pkiDir: string, json: boolean): void {
  const certs = listPkiCertificates(pkiDir);
  if (json) {
    for (const c of certs) process.stdout.write(`${JSON.stringify({ ...c, der: undefined })}\n`);
    return;
  }
  process.stdout.write(
    `PKI ${mesPkiStores(pkiDir).application}${existsSync(pkiDir) ? '' : ' (not created yet: the MES server makes it at its first start)'}\n`,
  );
  if (certs.length === 0) process.stdout.write('no client certificates\n');
  for (const c of certs) {
    const uri = c.applicationUri ?? '-';
    process.stdout.write(
      `${c.status.padEnd(8)} ${c.fingerprint} CN=${c.commonName ?? '-'} uri=${uri} validTo=${c.validTo} ${path.basename(c.file)}\n`,
    );
  }
}

/** The certificate `target` names: a fingerprint prefix or a file name in the PKI, else a certificate file path (inPki false). */
function findTarget(pkiDir: string, target: string): { readonly cert: PkiCertificate; readonly inPki: boolean } {
  const certs = listPkiCertificates(pkiDir);
  const hex = target.replace(/:/g, '').toLowerCase();
  const byName = certs.filter((c) => path.basename(c.file) === target || path.parse(c.file).name === target);
  const byPrint = /^[0-9a-f]{6,40}$/.test(hex) ? certs.filter((c) => c.fingerprint.startsWith(hex)) : [];
  const found = byName.length > 0 ? byName : byPrint;
  if (found.length > 1)
    throw usageError(
      `${target} names ${found.length} certificates: ${found.map((c) => `${c.status} ${c.fingerprint}`).join(', ')}; give more digits`,
    );
  if (found.length === 1) return { cert: found[0]!, inPki: true };
  const outside = path.resolve(target);
  const cert = existsSync(outside) && statSync(outside).isFile() ? readCertificate(outside) : null;
  if (cert) return { cert: describeCertificate(cert, 'rejected', outside), inPki: false };
  throw usageError(`no certificate ${target} in ${mesPkiStores(pkiDir).application} (see linesight pki list), nor a certificate file of that name`);
}

async function move(pkiDir: string, target: string, to: CertStatus): Promise<void> {
  const { cert, inPki } = findTarget(pkiDir, target);
  const label = `${cert.fingerprint} CN=${cert.commonName ?? '-'}`;
  if (inPki && cert.status === to) {
    process.stdout.write(`already ${to}: ${label}\n`);
    return;
  }
  const { OPCUACertificateManager, setWarningLogger } = await import('node-opcua');
  setWarningLogger((_context, ...args) => process.stderr.write(`node-opcua: ${format(...args)}\n`));
  const manager = new OPCUACertificateManager({
    rootFolder: mesPkiStores(pkiDir).application,
    automaticallyAcceptUnknownCertificate: false,
    disableFileWatchers: true,
  });
  try {
    await manager.initialize();
    await (to === 'trusted' ? manager.trustCertificate(cert.der) : manager.rejectCertificate(cert.der));
  } catch (err) {
    throw new LinesightError('LS_ERR_PKI_FAILED', `cannot move ${label} to ${to}: ${(err as Error).message}`, { pkiDir }, { cause: err });
  } finally {
    await manager.dispose();
  }
  process.stdout.write(`${to}: ${label}\n`);
}
