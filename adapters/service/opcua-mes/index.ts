/**
 * The MES server as a line service (`services: [{ type: opcua-mes, … }]`): an OPC UA server following OPC 40100
 * Machine Vision on the line's stations and result store (docs/mes-opcua.md). node-opcua and the server modules are
 * loaded on open(), which the line does not wait for: stations inspect from the first second, the server joins when
 * ready (≈ 1–4 s, certificate creation included on a first start).
 */
import { z } from 'zod';
import { defineAdapter, type LineService, type ServiceContext } from '../../../runtime/adapter.ts';
import { MesSecuritySchema } from './security-schema.ts';
import type { MesServer } from './mes-server.ts';

const schema = z
  .object({
    type: z.literal('opcua-mes').describe('OPC UA server for the MES, OPC 40100 Machine Vision'),
    name: z.string().min(1).default('mes').describe('Name in logs'),
    host: z.string().min(1).default('127.0.0.1').describe('Address to listen on (0.0.0.0: every interface)'),
    port: z.number().int().min(0).max(65535).default(4840).describe('TCP port (4840 is the OPC UA default; 0: any free port)'),
    maxResultsPerCall: z.number().int().min(1).max(10_000).default(100).describe('Most results one GetResultListFiltered call returns'),
    maxSessions: z.number().int().min(1).max(1000).default(50).describe('Most client sessions at once'),
    security: MesSecuritySchema.default(MesSecuritySchema.parse({})),
  })
  .strict();

type Options = z.output<typeof schema>;

class OpcUaMesService implements LineService {
  readonly type = 'opcua-mes';
  readonly name: string;
  private readonly options: Options;
  private readonly ctx: ServiceContext;
  private server: MesServer | null = null;

  constructor(options: Options, ctx: ServiceContext) {
    this.options = options;
    this.name = options.name;
    this.ctx = ctx;
  }

  /** The running server (tests, benchmarks); null until open() resolved. */
  get running(): MesServer | null {
    return this.server;
  }

  async open(): Promise<void> {
    const [{ startMesServer }, security] = await Promise.all([import('./mes-server.ts'), import('./security.ts')]);
    const o = this.options;
    const log = this.ctx.log;
    const pkiDir = security.resolveMesPkiDir(o.security, this.ctx.configDir, this.ctx.storeFile);
    const guard = security.methodGuard(o.security, log);
    this.server = await startMesServer(this.ctx, {
      host: o.host,
      port: o.port,
      maxResultsPerCall: o.maxResultsPerCall,
      maxSessions: o.maxSessions,
      security: await security.mesServerSecurityOptions(o.security, pkiDir, log),
      guard: (context, method) => guard(context, method as Parameters<typeof guard>[1]),
    });
    log.info(
      { endpoint: this.server.endpoint, pkiDir, anonymous: o.security.anonymous, unsecured: o.security.allowUnsecured },
      'MES OPC UA server listening',
    );
  }

  async close(): Promise<void> {
    await this.server?.shutdown();
    this.server = null;
  }
}

export default defineAdapter({
  kind: 'service',
  type: 'opcua-mes',
  schema,
  create: (options, ctx) => new OpcUaMesService(options, ctx),
  listeners: (options) => (options.port === 0 ? [] : [{ host: options.host, port: options.port, what: 'the MES OPC UA server' }]),
});

export type { OpcUaMesService };
