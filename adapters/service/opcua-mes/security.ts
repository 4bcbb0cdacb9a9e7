/**
 * Security of the MES OPC UA server, secure by default (issue 9): the node-opcua server options that follow from the
 * `security:` options (endpoints, anonymous, user manager, PKI) and the per-method role check the bound methods run
 * first. The options schema, roles, password hashes and PKI paths live in security-schema.ts (no node-opcua) and are
 * re-exported here.
 *
 * Roles are cumulative: read < mes < operator < engineer. Who holds which role is decided here from the session's
 * user identity token (anonymous → `security.anonymous`, user name → the user's `role`, anything else → no role);
 * node-opcua only authenticates. Browse and read need no method check: a session exists only once ActivateSession
 * accepted it (anonymous `off` refuses anonymous tokens there), and every session holds at least `read`.
 */
import { mkdirSync } from 'node:fs';
import {
  AnonymousIdentityToken,
  MessageSecurityMode,
  OPCUACertificateManager,
  resolveNodeId,
  SecurityPolicy,
  StatusCodes,
  UserNameIdentityToken,
  WellKnownRoles,
  type ISessionContext,
  type NodeId,
  type OPCUAServerOptions,
  type StatusCode,
} from 'node-opcua';
import type { Logger } from 'pino';
import { hashPassword, mesPkiStores, METHOD_ROLE, verifyPasswordAsync, type MesMethod, type MesRole, type MesSecurity } from './security-schema.ts';

export {
  hashPassword,
  MES_ROLES,
  mesPkiStores,
  MesSecuritySchema,
  METHOD_ROLE,
  resolveMesPkiDir,
  verifyPassword,
  verifyPasswordAsync,
  type MesMethod,
  type MesRole,
  type MesSecurity,
} from './security-schema.ts';

// ---------------------------------------------------------------------------------------------------------------
// Server options

const ROLE_RANK: Readonly<Record<MesRole, number>> = { read: 0, mes: 1, operator: 2, engineer: 3 };

/** Our roles as OPC UA well-known roles (Part 18), for node-opcua's own RolePermission checks. */
const WELL_KNOWN: Readonly<Record<MesRole, readonly number[]>> = {
  read: [WellKnownRoles.Observer],
  mes: [WellKnownRoles.Observer],
  operator: [WellKnownRoles.Observer, WellKnownRoles.Operator],
  engineer: [WellKnownRoles.Observer, WellKnownRoles.Operator, WellKnownRoles.Engineer],
};

export type MesServerSecurityOptions = Required<
  Pick<
    OPCUAServerOptions,
    'securityModes' | 'securityPolicies' | 'allowAnonymous' | 'userManager' | 'serverCertificateManager' | 'userCertificateManager'
  >
>;

/**
 * What to spread into `new OPCUAServer({...})`. The two certificate managers are initialised by the server's own
 * `initialize()` (OPCUABaseServer.initializeCM, then OPCUAServer.initializeCM for the user store); an unknown client
 * certificate is refused and written to `application/rejected/`. Logs the security set-up (a warning for None).
 */
export async function mesServerSecurityOptions(security: MesSecurity, pkiDir: string, log: Logger): Promise<MesServerSecurityOptions> {
  const stores = mesPkiStores(pkiDir);
  for (const dir of Object.values(stores)) mkdirSync(dir, { recursive: true });
  const users = new Map(security.users.map((u) => [u.name, u]));
  logSecurity(log, security, pkiDir);
  return {
    securityModes: [...(security.allowUnsecured ? [MessageSecurityMode.None] : []), ...security.modes.map((m) => MessageSecurityMode[m])],
    securityPolicies: [...(security.allowUnsecured ? [SecurityPolicy.None] : []), ...security.policies.map((p) => SecurityPolicy[p])],
    allowAnonymous: security.anonymous !== 'off',
    userManager: {
      isValidUserAsync(userName, password, callback) {
        checkLogin(users, userName, password, log).then(
          (ok) => callback(null, ok),
          (err: unknown) => callback(err instanceof Error ? err : new Error(String(err))),
        );
      },
      getUserRoles(userName: string): NodeId[] {
        const role = users.get(userName)?.role;
        return role ? WELL_KNOWN[role].map((r) => resolveNodeId(r)) : [];
      },
    },
    serverCertificateManager: new OPCUACertificateManager({ rootFolder: stores.application, automaticallyAcceptUnknownCertificate: false }),
    userCertificateManager: new OPCUACertificateManager({ rootFolder: stores.user, automaticallyAcceptUnknownCertificate: false }),
  };
}

/** Computed once, lazily: an unknown user name costs one scrypt as a known one does (no user enumeration by timing). */
let dummyHash: string | null = null;

async function checkLogin(
  users: ReadonlyMap<string, MesSecurity['users'][number]>,
  userName: string,
  password: string,
  log: Logger,
): Promise<boolean> {
  const user = users.get(userName);
  dummyHash ??= hashPassword('linesight-no-such-user');
  const ok = await verifyPasswordAsync(password, user?.passwordHash ?? dummyHash);
  if (user && ok) {
    log.info({ user: userName, role: user.role }, 'MES login');
    return true;
  }
  log.warn({ user: userName, reason: user ? 'wrong password' : 'unknown user' }, 'MES login refused');
  return false;
}

function logSecurity(log: Logger, security: MesSecurity, pkiDir: string): void {
  const summary = {
    policies: security.policies,
    modes: security.modes,
    unsecured: security.allowUnsecured,
    anonymous: security.anonymous,
    users: security.users.map((u) => `${u.name}:${u.role}`),
    pkiDir,
  };
  log.info(summary, 'MES server security');
  if (security.allowUnsecured)
    log.warn(
      { ...summary, endpoint: 'SecurityPolicy None / MessageSecurityMode None' },
      'MES server offers an UNSECURED endpoint: traffic is neither signed nor encrypted (security.allowUnsecured: true)',
    );
  if (security.anonymous !== 'off')
    log.warn({ anonymous: security.anonymous }, `MES server lets anonymous clients in with role '${security.anonymous}' (security.anonymous)`);
  if (security.anonymous === 'off' && security.users.length === 0)
    log.warn(summary, 'MES server has no users and anonymous is off: no client can open a session (add security.users)');
}

// ---------------------------------------------------------------------------------------------------------------
// Role checks

/** The role of the session calling: anonymous → `security.anonymous` (null when off), a configured user → its role, else null. */
export function roleOf(security: Pick<MesSecurity, 'anonymous' | 'users'>, context: ISessionContext): MesRole | null {
  const token = context.session?.userIdentityToken;
  if (token instanceof AnonymousIdentityToken) return security.anonymous === 'off' ? null : security.anonymous;
  if (token instanceof UserNameIdentityToken && typeof token.userName === 'string')
    return security.users.find((u) => u.name === token.userName)?.role ?? null;
  // No session (an in-process caller), a session never activated, an X509 user: no role of ours.
  return null;
}

/** Null when the caller's role reaches the method's least role; otherwise logs a warning and returns BadUserAccessDenied. */
export function requireRole(
  security: Pick<MesSecurity, 'anonymous' | 'users'>,
  context: ISessionContext,
  method: MesMethod,
  log: Logger,
): StatusCode | null {
  const held = roleOf(security, context);
  const needed: MesRole | undefined = (METHOD_ROLE as Readonly<Record<string, MesRole>>)[method]; // undefined: a name cast past the type
  if (held !== null && needed !== undefined && ROLE_RANK[held] >= ROLE_RANK[needed]) return null;
  log.warn(
    {
      method,
      user: context.session ? context.getUserName() : null,
      role: held,
      needs: needed ?? 'a role (method has none in METHOD_ROLE)',
      client: context.clientApplicationUri,
    },
    'MES method call denied',
  );
  return StatusCodes.BadUserAccessDenied;
}

/** `requireRole` bound to the config and logger: `const denied = guard(context, 'StartSingleJob'); if (denied) return { statusCode: denied };` */
export function methodGuard(
  security: Pick<MesSecurity, 'anonymous' | 'users'>,
  log: Logger,
): (context: ISessionContext, method: MesMethod) => StatusCode | null {
  return (context, method) => requireRole(security, context, method, log);
}
