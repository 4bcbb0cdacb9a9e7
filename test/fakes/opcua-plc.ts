/**
 * A node-opcua server standing in for a PLC with an OPC UA server (S7-1500, TwinCAT). Its variables live in a
 * plain object that outlives stop/start, as PLC memory outlives a network outage, and every client write is
 * recorded in order. Server start takes ≈ 0.3–1 s (PKI cached after the first run), so tests share one per file.
 */
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { tmpdir } from 'node:os';
import {
  DataType,
  MessageSecurityMode,
  OPCUACertificateManager,
  OPCUAServer,
  SecurityPolicy,
  StatusCodes,
  Variant,
  VariantArrayType,
} from 'node-opcua';
import { freePort } from '../../runtime/net/free-port.ts';

export interface PlcVariable {
  readonly name: string;
  readonly dataType: keyof typeof DataType;
  readonly value: unknown;
  readonly array?: boolean;
}

export interface OpcUaPlcOptions {
  readonly secure?: boolean;
  readonly user?: { readonly name: string; readonly password: string };
}

export class OpcUaTestPlc {
  readonly memory = new Map<string, unknown>();
  readonly writes: { name: string; value: unknown }[] = [];
  port = 0;
  private server: OPCUAServer | null = null;
  private readonly vars: readonly PlcVariable[];
  private readonly options: OpcUaPlcOptions;
  private listeners: ((name: string, value: unknown) => void)[] = [];

  constructor(vars: readonly PlcVariable[], options: OpcUaPlcOptions = {}) {
    this.vars = vars;
    this.options = options;
    for (const v of vars) this.memory.set(v.name, v.value);
  }

  get endpoint(): string {
    return `opc.tcp://127.0.0.1:${this.port}`;
  }

  nodeId(name: string): string {
    return `ns=1;s=${name}`;
  }

  /** PLC logic setting its own variable (e.g. raising Trigger). */
  set(name: string, value: unknown): void {
    this.memory.set(name, value);
  }

  onWrite(listener: (name: string, value: unknown) => void): () => void {
    this.listeners.push(listener);
    return () => {
      this.listeners = this.listeners.filter((l) => l !== listener);
    };
  }

  async start(): Promise<void> {
    if (this.server) return;
    if (this.port === 0) this.port = await freePort();
    const pki = path.join(tmpdir(), 'linesight-test-opcua-pki', this.options.secure ? 'secure' : 'plain');
    mkdirSync(pki, { recursive: true });
    const serverCertificateManager = new OPCUACertificateManager({ rootFolder: pki, automaticallyAcceptUnknownCertificate: true });
    const secure = this.options.secure === true;
    const user = this.options.user;
    const server = new OPCUAServer({
      port: this.port,
      hostname: '127.0.0.1',
      serverCertificateManager,
      securityModes: secure ? [MessageSecurityMode.SignAndEncrypt] : [MessageSecurityMode.None],
      securityPolicies: secure ? [SecurityPolicy.Basic256Sha256] : [SecurityPolicy.None],
      allowAnonymous: user === undefined,
      userManager: user ? { isValidUser: (name: string, password: string) => name === user.name && password === user.password } : undefined,
    });
    await server.initialize();
    const ns = server.engine.addressSpace!.getOwnNamespace();
    const folder = ns.addObject({ organizedBy: server.engine.addressSpace!.rootFolder.objects, browseName: 'PLC' });
    for (const v of this.vars) {
      const dataType = DataType[v.dataType];
      const arrayType = v.array ? VariantArrayType.Array : VariantArrayType.Scalar;
      ns.addVariable({
        componentOf: folder,
        browseName: v.name,
        nodeId: `s=${v.name}`,
        dataType: v.dataType,
        valueRank: v.array ? 1 : -1,
        minimumSamplingInterval: 10,
        value: {
          get: () => new Variant({ dataType, arrayType, value: this.memory.get(v.name) }),
          set: (variant: Variant) => {
            const value = variant.arrayType === VariantArrayType.Array ? Array.from(variant.value as ArrayLike<unknown>) : variant.value;
            this.memory.set(v.name, value);
            this.writes.push({ name: v.name, value });
            for (const l of this.listeners) l(v.name, value);
            return StatusCodes.Good;
          },
        },
      });
    }
    await server.start();
    this.server = server;
  }

  async stop(): Promise<void> {
    const server = this.server;
    this.server = null;
    await server?.shutdown(0);
  }
}
