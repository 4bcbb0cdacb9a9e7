/**
 * Security of the MES OPC UA server against real node-opcua servers and clients on 127.0.0.1: scrypt hashes and the
 * schema; with None allowed and anonymous `read`, an anonymous client reads but its operator method call is denied
 * (and logged), a wrong password cannot activate a session, an operator user calls; with the secure defaults, no
 * None endpoint and no anonymous session, an unknown client certificate is refused and lands in `rejected/`, and
 * after `linesight pki trust` the same client works over SignAndEncrypt / Basic256Sha256 (and not after `reject`).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import {
  AttributeIds,
  DataType,
  EndpointDescription,
  MessageSecurityMode,
  OPCUACertificateManager,
  OPCUAClient,
  OPCUAServer,
  SecurityPolicy,
  StatusCodes,
  UserTokenPolicy,
  UserTokenType,
  Variant,
  type ClientSession,
  type ISessionContext,
  type UserIdentityInfo,
} from 'node-opcua';
import { pino } from 'pino';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  hashPassword,
  MES_ROLES,
  mesPkiStores,
  MesSecuritySchema,
  mesServerSecurityOptions,
  METHOD_ROLE,
  methodGuard,
  resolveMesPkiDir,
  verifyPassword,
  verifyPasswordAsync,
  type MesSecurity,
} from '../../../../adapters/service/opcua-mes/security.ts';
import { listPkiCertificates, pkiCommand } from '../../../../cli/commands/pki.ts';
import { freePort } from '../../../../runtime/net/free-port.ts';
import { retryUntil, waitUntil, withDeadline } from '../../../helpers/wait.ts';

const STEP_MS = 20_000; // a deadline, not a speed goal: certificate generation on a loaded 2-core machine
const OPERATOR = { name: 'op1', password: 'op-secret-1' };
const MES = { name: 'mes1', password: 'mes-secret-1' };
/** What node-opcua's client reports when the server refuses its certificate at OpenSecureChannel. */
const CERT_REFUSED = /rejected by server: BadSecurityChecksFailed/;

const dir = mkdtempSync(join(tmpdir(), 'ls-mes-security-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('password hashes and the security schema', () => {
  const hash = hashPassword('correct horse');

  it('verifies the password it hashed and refuses another one', async () => {
    expect(hash).toMatch(/^scrypt\$16384\$8\$1\$[A-Za-z0-9+/]{22}==\$[A-Za-z0-9+/]{43}=$/);
    expect(verifyPassword('correct horse', hash)).toBe(true);
    expect(verifyPassword('correct horsf', hash)).toBe(false);
    expect(verifyPassword('', hash)).toBe(false);
    expect(await verifyPasswordAsync('correct horse', hash)).toBe(true);
    expect(await verifyPasswordAsync('wrong', hash)).toBe(false);
    expect(hashPassword('correct horse')).not.toBe(hash);
  });

  it('never verifies a malformed hash', () => {
    const [, , , , salt, key] = hash.split('$');
    const malformed = [
      'correct horse',
      '',
      `scrypt$16384$8$1$${salt}`,
      `scrypt$16385$8$1$${salt}$${key}`, // N not a power of two
      `scrypt$${1 << 22}$8$1$${salt}$${key}`, // cost beyond the bound
      `scrypt$16384$0$1$${salt}$${key}`,
      `scrypt$16384$8$1$${salt}$${key}$`,
      `bcrypt$16384$8$1$${salt}$${key}`,
      `scrypt$16384$8$1$c2FsdA==$${key}`, // 4-byte salt
    ];
    for (const m of malformed) expect(verifyPassword('correct horse', m), m).toBe(false);
    expect(MesSecuritySchema.safeParse({ users: [{ name: 'u', role: 'mes', passwordHash: malformed[3] }] }).success).toBe(false);
  });

  it('has secure defaults and refuses a plain password with a hint how to hash it', () => {
    expect(MesSecuritySchema.parse({})).toEqual({
      policies: ['Basic256Sha256', 'Aes128_Sha256_RsaOaep', 'Aes256_Sha256_RsaPss'],
      modes: ['Sign', 'SignAndEncrypt'],
      allowUnsecured: false,
      anonymous: 'off',
      users: [],
    });
    const plain = MesSecuritySchema.safeParse({ users: [{ name: 'mes1', role: 'mes', passwordHash: 'hunter2' }] });
    expect(plain.success).toBe(false);
    expect(plain.error?.issues[0]?.path).toEqual(['users', 0, 'passwordHash']);
    expect(plain.error?.issues[0]?.message).toContain('linesight mes-password');
    expect(MesSecuritySchema.safeParse({ users: [{ name: 'mes1', role: 'mes', password: 'hunter2' }] }).success).toBe(false);
    expect(MesSecuritySchema.safeParse({ users: [{ name: 'anonymous', role: 'mes', passwordHash: hash }] }).success).toBe(false);
    expect(MesSecuritySchema.safeParse({ anonymous: 'engineer' }).success).toBe(false);
    expect(MesSecuritySchema.safeParse({ policies: ['None'] }).success).toBe(false);
    expect(MesSecuritySchema.safeParse({ modes: ['None'] }).success).toBe(false);
    expect(MesSecuritySchema.safeParse({ allowUnsecure: true }).success).toBe(false);
  });

  it('gives each method the least role of issue 9 (roles cumulative: read < mes < operator < engineer)', () => {
    expect(MES_ROLES).toEqual(['read', 'mes', 'operator', 'engineer']);
    const byRole = (role: string) =>
      Object.keys(METHOD_ROLE)
        .filter((m) => METHOD_ROLE[m as keyof typeof METHOD_ROLE] === role)
        .sort();
    expect(byRole('read')).toEqual([]);
    expect(byRole('mes')).toEqual([
      'GetRecipeListFiltered',
      'GetResultById',
      'GetResultComponentsById',
      'GetResultListFiltered',
      'ReleaseResultHandle',
    ]);
    expect(byRole('operator')).toEqual(['Abort', 'SimulationMode', 'StartContinuous', 'StartSingleJob', 'Stop']);
    expect(byRole('engineer')).toEqual(['ConfirmAll', 'Halt', 'PrepareRecipe', 'Reset', 'SelectModeAutomatic', 'UnprepareRecipe']);
  });

  it('puts the PKI beside the result store unless pkiDir says otherwise', () => {
    expect(resolveMesPkiDir({}, '/etc/linesight', '/var/lib/linesight/results.sqlite')).toBe('/var/lib/linesight/opcua-mes-pki');
    expect(resolveMesPkiDir({}, '/etc/linesight', 'state/results.sqlite')).toBe('/etc/linesight/state/opcua-mes-pki');
    expect(resolveMesPkiDir({ pkiDir: 'pki' }, '/etc/linesight', 'state/results.sqlite')).toBe('/etc/linesight/pki');
  });
});

// ------------------------------------------------------------------------------------------------------------------

interface TestServer {
  readonly server: OPCUAServer;
  readonly endpoint: string;
  readonly logged: Record<string, unknown>[];
  /** Successful StartSingleJob calls. */
  calls: number;
}

/** A plain node-opcua server with our security options, one variable `Counter` and one method `StartSingleJob` guarded for operators. */
async function startServer(security: MesSecurity, pkiDir: string): Promise<TestServer> {
  const logged: Record<string, unknown>[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, cb) {
      for (const line of chunk.toString().split('\n')) if (line.trim()) logged.push(JSON.parse(line) as Record<string, unknown>);
      cb();
    },
  });
  const log = pino({ level: 'info' }, sink);
  const port = await freePort();
  const options = await mesServerSecurityOptions(security, pkiDir, log);
  const server = new OPCUAServer({ port, hostname: '127.0.0.1', ...options });
  await withDeadline(server.initialize(), STEP_MS, 'OPC UA server initialize (certificate)');
  const t: TestServer = { server, endpoint: `opc.tcp://127.0.0.1:${port}`, logged, calls: 0 };
  const addressSpace = server.engine.addressSpace!;
  const ns = addressSpace.getOwnNamespace();
  const station = ns.addObject({ organizedBy: addressSpace.rootFolder.objects, browseName: 'Station', nodeId: 's=Station' });
  ns.addVariable({
    componentOf: station,
    browseName: 'Counter',
    nodeId: 's=Counter',
    dataType: 'UInt32',
    value: { get: () => new Variant({ dataType: DataType.UInt32, value: t.calls }) },
  });
  const guard = methodGuard(security, log);
  const method = ns.addMethod(station, { browseName: 'StartSingleJob', nodeId: 's=StartSingleJob', inputArguments: [], outputArguments: [] });
  method.bindMethod(async function startSingleJob(inputArguments: Variant[], context: ISessionContext) {
    void inputArguments;
    const denied = guard(context, 'StartSingleJob');
    if (denied) return { statusCode: denied };
    t.calls++;
    return { statusCode: StatusCodes.Good };
  });
  await withDeadline(server.start(), STEP_MS, 'OPC UA server start');
  return t;
}

interface TestClient {
  readonly client: OPCUAClient;
  readonly session: ClientSession;
}

const clientPki = join(dir, 'client-pki');
const open: TestClient[] = [];

/**
 * A client session on the server. `forge` edits the endpoint list the client got from the server before it creates
 * its session, so that it asks for what the server never offered (as a hostile or careless client would; node-opcua's
 * own client refuses to by itself), and the server's refusal is what is tested.
 */
/** A message security mode, with `/policy` (default Basic256Sha256; None for None). */
type Channel = 'None' | 'SignAndEncrypt' | `${'Sign' | 'SignAndEncrypt'}/${'Basic256Sha256' | 'Aes128_Sha256_RsaOaep' | 'Aes256_Sha256_RsaPss'}`;

async function connect(
  t: TestServer,
  mode: Channel,
  user: UserIdentityInfo = { type: UserTokenType.Anonymous },
  forge?: (endpoints: EndpointDescription[]) => void,
): Promise<TestClient> {
  const [securityMode, securityPolicy = securityMode === 'None' ? 'None' : 'Basic256Sha256'] = mode.split('/') as [
    keyof typeof MessageSecurityMode,
    keyof typeof SecurityPolicy | undefined,
  ];
  const client = OPCUAClient.create({
    endpointMustExist: false,
    connectionStrategy: { maxRetry: 0 },
    securityMode: MessageSecurityMode[securityMode],
    securityPolicy: SecurityPolicy[securityPolicy],
    clientCertificateManager: new OPCUACertificateManager({ rootFolder: clientPki, automaticallyAcceptUnknownCertificate: true }),
    applicationName: 'linesight-test-mes-client',
  });
  try {
    await withDeadline(client.connect(t.endpoint), STEP_MS, `client connect (${mode})`);
    forge?.((client as unknown as { _serverEndpoints: EndpointDescription[] })._serverEndpoints);
    const session = await withDeadline(client.createSession(user), STEP_MS, `createSession (${mode})`);
    const c = { client, session };
    open.push(c);
    return c;
  } catch (err) {
    await client.disconnect().catch(() => {});
    throw err;
  }
}

/** The error (message) a connect + session attempt fails with; fails the test when it succeeds. */
async function refusal(t: TestServer, mode: Channel, user?: UserIdentityInfo, forge?: (endpoints: EndpointDescription[]) => void): Promise<string> {
  const c = await connect(t, mode, user, forge).then(
    (ok) => ok,
    (err: unknown) => (err instanceof Error ? err : new Error(String(err))),
  );
  if (!(c instanceof Error)) throw new Error(`expected ${mode} ${user?.type ?? 'anonymous'} to be refused, but a session opened`);
  return c.message;
}

async function callStart(c: TestClient) {
  const result = await withDeadline(
    c.session.call({ objectId: 'ns=1;s=Station', methodId: 'ns=1;s=StartSingleJob', inputArguments: [] }),
    5000,
    'call',
  );
  return result.statusCode;
}

async function closeAll(): Promise<void> {
  for (const c of open.splice(0)) {
    await withDeadline(c.session.close(), 5000, 'session close').catch(() => {});
    await withDeadline(c.client.disconnect(), 5000, 'client disconnect').catch(() => {});
  }
}

afterEach(closeAll);

/** Forgeries: an anonymous token policy on every endpoint; a None/None endpoint (the server keeps one, hidden, for discovery). */
const anonymousPolicy = (endpoints: EndpointDescription[]) => {
  for (const e of endpoints)
    e.userIdentityTokens = [...(e.userIdentityTokens ?? []), new UserTokenPolicy({ policyId: 'anonymous', tokenType: UserTokenType.Anonymous })];
};
const noneEndpoint = (endpoints: EndpointDescription[]) => {
  const e = new EndpointDescription({ ...endpoints[0]!, securityMode: MessageSecurityMode.None, securityPolicyUri: SecurityPolicy.None });
  endpoints.push(e);
  anonymousPolicy([e]);
};

const userIdentity = (u: { name: string; password: string }): UserIdentityInfo => ({
  type: UserTokenType.UserName,
  userName: u.name,
  password: u.password,
});
const users = () => [
  { name: OPERATOR.name, role: 'operator' as const, passwordHash: hashPassword(OPERATOR.password) },
  { name: MES.name, role: 'mes' as const, passwordHash: hashPassword(MES.password) },
];

describe('MES server with None allowed and anonymous read', () => {
  let t: TestServer;
  beforeAll(async () => {
    t = await startServer(MesSecuritySchema.parse({ allowUnsecured: true, anonymous: 'read', users: users() }), join(dir, 'pki-open'));
  }, 60_000);
  afterAll(async () => {
    await closeAll();
    await t?.server.shutdown(0);
  });

  it('warns loudly about the None endpoint and anonymous access at start', () => {
    const warns = t.logged.filter((l) => l.level === 40).map((l) => String(l.msg));
    expect(warns.some((m) => m.includes('UNSECURED endpoint'))).toBe(true);
    expect(warns.some((m) => m.includes("anonymous clients in with role 'read'"))).toBe(true);
  });

  it('lets an anonymous client read, denies its operator method call with BadUserAccessDenied and logs it', async () => {
    const c = await connect(t, 'None');
    const dv = await withDeadline(c.session.read({ nodeId: 'ns=1;s=Counter', attributeId: AttributeIds.Value }), 5000, 'read Counter');
    expect(dv.statusCode).toBe(StatusCodes.Good);
    expect(dv.value.value).toBe(0);
    expect(await callStart(c)).toBe(StatusCodes.BadUserAccessDenied);
    expect(t.calls).toBe(0);
    const denial = t.logged.find((l) => l.msg === 'MES method call denied');
    expect(denial).toMatchObject({ level: 40, method: 'StartSingleJob', user: 'anonymous', role: 'read', needs: 'operator' });
  });

  it('refuses a wrong password at ActivateSession', async () => {
    const message = await refusal(t, 'None', userIdentity({ name: OPERATOR.name, password: 'not-it' }));
    expect(message).toMatch(/BadUserAccessDenied/);
    expect(await refusal(t, 'None', userIdentity({ name: 'nobody', password: OPERATOR.password }))).toMatch(/BadUserAccessDenied/);
    expect(t.logged.filter((l) => l.msg === 'MES login refused').map((l) => l.reason)).toEqual(['wrong password', 'unknown user']);
    expect(JSON.stringify(t.logged)).not.toContain(OPERATOR.password);
  });

  it('lets an operator call the method, but not a mes user', async () => {
    const op = await connect(t, 'None', userIdentity(OPERATOR));
    expect(await callStart(op)).toBe(StatusCodes.Good);
    expect(t.calls).toBe(1);
    const mes = await connect(t, 'None', userIdentity(MES));
    expect(await callStart(mes)).toBe(StatusCodes.BadUserAccessDenied);
    expect(t.logged.filter((l) => l.msg === 'MES method call denied').at(-1)).toMatchObject({ user: MES.name, role: 'mes', needs: 'operator' });
  });
});

describe('MES server with the secure defaults', () => {
  let t: TestServer;
  const pkiDir = join(dir, 'pki-secure');
  beforeAll(async () => {
    t = await startServer(MesSecuritySchema.parse({ users: users() }), pkiDir);
  }, 60_000);
  afterAll(async () => {
    await closeAll();
    await t?.server.shutdown(0);
  });

  it('offers no None endpoint and no anonymous token', async () => {
    const endpoints = t.server.endpoints.flatMap((e) => e.endpointDescriptions()).filter((d) => !(d as { restricted?: boolean }).restricted);
    expect(endpoints.map((d) => `${MessageSecurityMode[d.securityMode]}/${d.securityPolicyUri?.split('#')[1]}`).sort()).toEqual(
      ['Sign', 'SignAndEncrypt'].flatMap((m) => ['Aes128_Sha256_RsaOaep', 'Aes256_Sha256_RsaPss', 'Basic256Sha256'].map((p) => `${m}/${p}`)).sort(),
    );
    for (const d of endpoints) expect(d.userIdentityTokens?.map((u) => u.tokenType)).not.toContain(UserTokenType.Anonymous);
    // node-opcua's client refuses by itself to open a channel the server does not list
    expect(await refusal(t, 'None')).toMatch(/End point must exist .* securityMode = None/);
    // and the server refuses a session on its discovery-only None channel
    expect(await refusal(t, 'None', undefined, noneEndpoint)).toMatch(/BadSecurityModeRejected/);
  });

  it('refuses an unknown client certificate into rejected/, and after pki trust the client works as an operator', async () => {
    const message = await refusal(t, 'SignAndEncrypt', userIdentity(OPERATOR));
    expect(message).toMatch(CERT_REFUSED);
    const rejected = await waitUntil(() => listPkiCertificates(pkiDir).find((c) => c.status === 'rejected'), {
      what: 'the client certificate in rejected/',
    });
    expect(rejected.file.startsWith(join(mesPkiStores(pkiDir).application, 'rejected'))).toBe(true);
    expect(rejected.applicationUri).toMatch(/linesight-test-mes-client/);
    expect(t.calls).toBe(0);

    expect(await pkiCommand(['trust', rejected.fingerprint.slice(0, 10), '--pki-dir', pkiDir])).toBe(0);
    expect(listPkiCertificates(pkiDir).map((c) => `${c.status} ${c.fingerprint}`)).toEqual([`trusted ${rejected.fingerprint}`]);

    // the running server sees the move (node-opcua watches the folders): retry until it does
    const op = await retryUntil(() => connect(t, 'SignAndEncrypt', userIdentity(OPERATOR)), {
      what: 'a SignAndEncrypt session after pki trust',
      timeoutMs: STEP_MS,
      intervalMs: 200,
    });
    expect(await callStart(op)).toBe(StatusCodes.Good);
    expect(t.calls).toBe(1);
    expect(await refusal(t, 'SignAndEncrypt')).toMatch(/Cannot find ANONYMOUS user token policy/);
    expect(await refusal(t, 'SignAndEncrypt', undefined, anonymousPolicy)).toMatch(/BadIdentityTokenInvalid/);
    expect(await refusal(t, 'SignAndEncrypt', userIdentity({ name: OPERATOR.name, password: 'wrong' }))).toMatch(/BadUserAccessDenied/);
    for (const mode of ['Sign', 'SignAndEncrypt'] as const)
      for (const policy of ['Basic256Sha256', 'Aes128_Sha256_RsaOaep', 'Aes256_Sha256_RsaPss'] as const) {
        const mes = await connect(t, `${mode}/${policy}`, userIdentity(MES));
        const dv = await withDeadline(
          mes.session.read({ nodeId: 'ns=1;s=Counter', attributeId: AttributeIds.Value }),
          5000,
          `read over ${mode}/${policy}`,
        );
        expect(dv.value.value, `${mode}/${policy}`).toBe(1);
      }
    await closeAll();

    expect(await pkiCommand(['reject', rejected.fingerprint, '--pki-dir', pkiDir])).toBe(0);
    const again = await retryUntil(() => refusal(t, 'SignAndEncrypt', userIdentity(OPERATOR)), {
      what: 'the client refused again after pki reject',
      timeoutMs: STEP_MS,
      intervalMs: 200,
    });
    expect(again).toMatch(CERT_REFUSED);
  });
});
