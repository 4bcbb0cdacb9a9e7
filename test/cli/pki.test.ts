/**
 * `linesight pki list|trust|reject` on a real node-opcua PKI folder: two client certificates made by node-opcua-pki,
 * one refused the way the server refuses it (into rejected/); list shows it (CN, application URI, sha1, valid-to),
 * trust and reject move it by fingerprint prefix or file name, a certificate file from elsewhere can be trusted
 * directly, and usage errors exit 2. The PKI folder is found from the line YAML's opcua-mes service.
 */
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { OPCUACertificateManager } from 'node-opcua';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mesPkiStores } from '../../adapters/service/opcua-mes/security.ts';
import { listPkiCertificates, pkiCommand, pkiDirFromLine } from '../../cli/commands/pki.ts';
import { main } from '../../cli/main.ts';
import { isLinesightError } from '../../runtime/errors.ts';
import { linesight } from '../helpers/cli.ts';
import { MINIMAL_LINE_YAML } from '../fakes/line-yaml.ts';
import { withDeadline } from '../helpers/wait.ts';

const STEP_MS = 30_000; // a deadline for key generation on a loaded 2-core machine, not a speed goal

const dir = mkdtempSync(join(tmpdir(), 'ls-pki-cli-'));
const pkiDir = join(dir, 'pki');
afterAll(() => rmSync(dir, { recursive: true, force: true }));

interface ClientCert {
  readonly file: string;
  readonly der: Buffer;
  readonly fingerprint: string;
}

/** A self-signed client application certificate made by node-opcua-pki in a store of its own. */
async function makeClientCert(name: string): Promise<ClientCert> {
  const manager = new OPCUACertificateManager({ rootFolder: join(dir, name), disableFileWatchers: true });
  try {
    await withDeadline(manager.initialize(), STEP_MS, `${name} PKI initialize`);
    const file = join(dir, name, 'own', 'certs', `${name}.pem`);
    await withDeadline(
      manager.createSelfSignedCertificate({
        subject: `/CN=${name}/O=Linesight test`,
        applicationUri: `urn:linesight-test:${name}`,
        dns: ['localhost'],
        startDate: new Date(),
        validity: 365,
        outputFile: file,
      }),
      STEP_MS,
      `${name} certificate`,
    );
    const cert = new X509Certificate(readFileSync(file));
    return { file, der: cert.raw, fingerprint: cert.fingerprint.replace(/:/g, '').toLowerCase() };
  } finally {
    await manager.dispose();
  }
}

let a: ClientCert;
let b: ClientCert;

beforeAll(async () => {
  a = await makeClientCert('mes-client-a');
  b = await makeClientCert('mes-client-b');
  // what the server's certificate manager does with a client certificate it does not know
  const server = new OPCUACertificateManager({ rootFolder: mesPkiStores(pkiDir).application, disableFileWatchers: true });
  await withDeadline(server.initialize(), STEP_MS, 'server PKI initialize');
  await server.rejectCertificate(a.der);
  await server.dispose();
}, 120_000);

const statuses = () => listPkiCertificates(pkiDir).map((c) => `${c.status} ${c.fingerprint}`);

describe('linesight pki', () => {
  it('lists a rejected client certificate with its CN, application URI, fingerprint and end of validity', async () => {
    const r = await linesight('pki', 'list', '--pki-dir', pkiDir);
    expect(r.code).toBe(0);
    const line = r.stdout.split('\n').find((l) => l.startsWith('rejected'));
    const validTo = new Date(new X509Certificate(a.der).validTo).toISOString();
    expect(line).toMatch(
      new RegExp(`^rejected +${a.fingerprint} CN=mes-client-a uri=urn:linesight-test:mes-client-a validTo=${validTo} \\S+\\.pem$`),
    );
    const json = await linesight('pki', 'list', '--pki-dir', pkiDir, '--json');
    expect(
      json.stdout
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as Record<string, unknown>),
    ).toEqual([
      expect.objectContaining({
        status: 'rejected',
        fingerprint: a.fingerprint,
        commonName: 'mes-client-a',
        applicationUri: 'urn:linesight-test:mes-client-a',
      }),
    ]);
  });

  it('trusts by fingerprint prefix (colons and case ignored) and rejects by file name', async () => {
    const prefix = a.fingerprint
      .slice(0, 8)
      .toUpperCase()
      .replace(/(..)(?=.)/g, '$1:');
    expect(await pkiCommand(['trust', prefix, '--pki-dir', pkiDir])).toBe(0);
    expect(statuses()).toEqual([`trusted ${a.fingerprint}`]);
    expect(await pkiCommand(['trust', a.fingerprint, '--pki-dir', pkiDir])).toBe(0); // already trusted: no change
    expect(statuses()).toEqual([`trusted ${a.fingerprint}`]);
    const file = listPkiCertificates(pkiDir)[0]!.file.split('/').at(-1)!;
    expect(await pkiCommand(['reject', file, '--pki-dir', pkiDir])).toBe(0);
    expect(statuses()).toEqual([`rejected ${a.fingerprint}`]);
  });

  it('trusts a certificate file from elsewhere', async () => {
    expect(await pkiCommand(['trust', b.file, '--pki-dir', pkiDir])).toBe(0);
    expect(statuses().sort()).toEqual([`rejected ${a.fingerprint}`, `trusted ${b.fingerprint}`].sort());
  });

  it('exits 2 for a certificate it cannot find and for a wrong command line', async () => {
    expect(await main(['pki', 'trust', 'ffffffffffff', '--pki-dir', pkiDir])).toBe(2);
    expect(await main(['pki', 'trust', a.fingerprint.slice(0, 4), '--pki-dir', pkiDir])).toBe(2); // too short a prefix
    expect(await main(['pki', 'list'])).toBe(2);
    expect(await main(['pki', 'list', '--pki-dir', pkiDir, '--config', join(dir, 'line.yaml')])).toBe(2);
    expect(await main(['pki', 'trust', '--pki-dir', pkiDir])).toBe(2);
    expect(await main(['pki', 'forget', a.fingerprint, '--pki-dir', pkiDir])).toBe(2);
  });

  it('says so when the PKI folder does not exist yet', async () => {
    const r = await linesight('pki', 'list', '--pki-dir', join(dir, 'nothing-here'));
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('not created yet');
    expect(r.stdout).toContain('no client certificates');
  });
});

describe('the PKI folder of a line YAML', () => {
  it('refuses a line without an opcua-mes service', () => {
    const file = join(dir, 'no-mes.yaml');
    writeFileSync(file, MINIMAL_LINE_YAML);
    let err: unknown;
    try {
      pkiDirFromLine(file);
    } catch (e) {
      err = e;
    }
    expect(isLinesightError(err, 'LS_ERR_CONFIG_INVALID')).toBe(true);
    expect((err as Error).message).toContain('no services entry of type opcua-mes');
  });

  // Needs the opcua-mes service in the line schema (services: in runtime/config/schema.ts, the adapter in the
  // catalog): until it is registered, loadConfig refuses the services entry and this test fails.
  it('is security.pkiDir relative to the YAML, else opcua-mes-pki beside the store', () => {
    const withDir = join(dir, 'with-pki-dir.yaml');
    writeFileSync(
      withDir,
      `${MINIMAL_LINE_YAML}services:\n  - type: opcua-mes\n    host: 127.0.0.1\n    port: 4840\n    security: { pkiDir: pki }\n`,
    );
    expect(pkiDirFromLine(withDir)).toBe(pkiDir);
    const byDefault = join(dir, 'default-pki.yaml');
    writeFileSync(
      byDefault,
      `${MINIMAL_LINE_YAML.replace('results.sqlite', 'state/results.sqlite')}services:\n  - type: opcua-mes\n    host: 127.0.0.1\n    port: 4840\n`,
    );
    expect(pkiDirFromLine(byDefault)).toBe(join(dir, 'state', 'opcua-mes-pki'));
  });
});
