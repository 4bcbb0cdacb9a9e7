/**
 * One OPC UA client connection to a PLC's server (S7-1500, TwinCAT, …), owned by the opcua sink. It connects
 * lazily, keeps the session alive, and on any failure (connection lost, keep-alive failure, a write that times
 * out) tears the whole client down and reconnects fresh behind a circuit breaker. node-opcua's own reconnection is
 * switched off (maxRetry 0): a restarted PLC has forgotten our session, and re-activating it costs several
 * round trips and timeouts before node-opcua falls back to a new session; a fresh connect takes ≈ 5 ms on
 * loopback. Every call has a deadline, so a dead PLC never holds the outbox longer than `timeoutMs`.
 */
import path from 'node:path';
import {
  AttributeIds,
  ClientMonitoredItem,
  type ClientSubscription,
  MessageSecurityMode,
  OPCUACertificateManager,
  OPCUAClient,
  SecurityPolicy,
  TimestampsToReturn,
  UserTokenType,
  type ClientSession,
  type DataValue,
  type UserIdentityInfo,
  type WriteValueOptions,
} from 'node-opcua';
import type { Logger } from 'pino';
import { LinesightError } from '../../../runtime/errors.ts';
import { CircuitBreaker } from '../../shared/plc/circuit-breaker.ts';

export interface OpcUaLinkOptions {
  readonly endpoint: string;
  readonly securityMode: 'None' | 'Sign' | 'SignAndEncrypt';
  readonly securityPolicy: 'None' | 'Basic256Sha256' | 'Aes128_Sha256_RsaOaep' | 'Aes256_Sha256_RsaPss';
  /** Username and password; the password is resolved by the caller and held only here. */
  readonly user: { readonly name: string; readonly password: string } | null;
  readonly pkiDir: string | null;
  readonly acceptUnknownServerCertificate: boolean;
  readonly timeoutMs: number;
  readonly breaker: { readonly failureThreshold: number; readonly initialBackoffMs: number; readonly maxBackoffMs: number };
  /** Nodes to monitor while connected (handshake control nodes); empty = no subscription. */
  readonly monitored: readonly string[];
  readonly samplingIntervalMs: number;
  /** Reconnect in the background (needed to receive PLC triggers while no result is being written). */
  readonly keepConnected: boolean;
}

export interface OpcUaLinkEvents {
  /** A session is up (after the subscription was created). */
  up(session: ClientSession): void;
  down(): void;
  /** A monitored node changed; `first` is the initial value after (re)subscribing. */
  changed(nodeId: string, value: unknown, first: boolean): void;
}

const SECURITY_MODE = {
  None: MessageSecurityMode.None,
  Sign: MessageSecurityMode.Sign,
  SignAndEncrypt: MessageSecurityMode.SignAndEncrypt,
} as const;

const SECURITY_POLICY = {
  None: SecurityPolicy.None,
  Basic256Sha256: SecurityPolicy.Basic256Sha256,
  Aes128_Sha256_RsaOaep: SecurityPolicy.Aes128_Sha256_RsaOaep,
  Aes256_Sha256_RsaPss: SecurityPolicy.Aes256_Sha256_RsaPss,
} as const;

export class OpcUaLink {
  readonly breaker: CircuitBreaker;
  /** Sessions established (1 + reconnections). */
  connects = 0;
  private readonly options: OpcUaLinkOptions;
  private readonly log: Logger;
  private readonly events: OpcUaLinkEvents;
  private client: OPCUAClient | null = null;
  private session: ClientSession | null = null;
  private subscription: ClientSubscription | null = null;
  private connecting: Promise<ClientSession> | null = null;
  private reconnectTimer: NodeJS.Timeout | null = null;
  private certificateManager: OPCUACertificateManager | null = null;
  private closed = false;

  constructor(options: OpcUaLinkOptions, log: Logger, events: OpcUaLinkEvents) {
    this.options = options;
    this.log = log;
    this.events = events;
    this.breaker = new CircuitBreaker(options.breaker);
  }

  get up(): boolean {
    return this.session !== null;
  }

  /** Starts background connecting when the link must receive triggers; otherwise connects on first use. */
  start(): void {
    if (this.options.keepConnected) this.scheduleReconnect(0);
  }

  /** The live session, connecting first if needed. Throws at once while the breaker is open. */
  ensure(): Promise<ClientSession> {
    if (this.session) return Promise.resolve(this.session);
    if (this.closed) return Promise.reject(this.error('LS_ERR_PLC_CONNECT_FAILED', 'link closed'));
    if (this.connecting) return this.connecting;
    if (!this.breaker.tryAcquire()) {
      return Promise.reject(
        this.error('LS_ERR_PLC_CIRCUIT_OPEN', `PLC link paused after failures; next try in ${Math.round(this.breaker.retryInMs)} ms`, {
          retryInMs: Math.round(this.breaker.retryInMs),
        }),
      );
    }
    this.connecting = this.connect().finally(() => {
      this.connecting = null;
    });
    return this.connecting;
  }

  /** One Write service call for all nodes (applied in order by the server); every status must be Good. */
  async write(nodes: WriteValueOptions[], what: string): Promise<void> {
    const session = await this.ensure();
    let codes;
    try {
      codes = await this.deadline(session.write(nodes), what);
    } catch (err) {
      this.fail(err);
      throw this.error('LS_ERR_PLC_WRITE_FAILED', `${what} failed`, { nodes: nodes.length }, err);
    }
    const bad = codes.findIndex((c) => !c.isGood());
    if (bad >= 0) {
      // A node-level refusal (wrong type, no access) is a configuration problem, not a link problem.
      throw this.error('LS_ERR_PLC_WRITE_FAILED', `${what}: ${String(nodes[bad]!.nodeId)} refused: ${codes[bad]!.toString()}`, {
        nodeId: String(nodes[bad]!.nodeId),
      });
    }
    this.breaker.success();
  }

  async read(nodeIds: readonly string[], what: string): Promise<DataValue[]> {
    const session = await this.ensure();
    try {
      const values = await this.deadline(session.read(nodeIds.map((nodeId) => ({ nodeId, attributeId: AttributeIds.Value }))), what);
      this.breaker.success();
      return values;
    } catch (err) {
      this.fail(err);
      throw this.error('LS_ERR_PLC_WRITE_FAILED', `${what} failed`, {}, err);
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.reconnectTimer) clearTimeout(this.reconnectTimer);
    this.reconnectTimer = null;
    await this.connecting?.catch(() => {});
    await this.teardown();
    await this.certificateManager?.dispose().catch(() => {});
  }

  private async connect(): Promise<ClientSession> {
    const o = this.options;
    if (o.pkiDir !== null && this.certificateManager === null) {
      this.certificateManager = new OPCUACertificateManager({
        rootFolder: path.resolve(o.pkiDir),
        automaticallyAcceptUnknownCertificate: o.acceptUnknownServerCertificate,
      });
    }
    const client = OPCUAClient.create({
      applicationName: 'Linesight',
      endpointMustExist: false,
      securityMode: SECURITY_MODE[o.securityMode],
      securityPolicy: SECURITY_POLICY[o.securityPolicy],
      connectionStrategy: { maxRetry: 0, initialDelay: 100, maxDelay: 200 },
      keepSessionAlive: true,
      keepAliveInterval: Math.max(1000, o.timeoutMs),
      requestedSessionTimeout: 60_000,
      transportTimeout: o.timeoutMs,
      ...(this.certificateManager ? { clientCertificateManager: this.certificateManager } : {}),
    });
    this.client = client;
    const lost = (why: string) => () => {
      if (this.client === client) this.fail(new Error(why));
    };
    client.on('connection_lost', lost('connection lost'));
    client.on('close', lost('connection closed'));
    try {
      await this.deadline(client.connect(o.endpoint), 'connect');
      const identity: UserIdentityInfo = o.user
        ? { type: UserTokenType.UserName, userName: o.user.name, password: o.user.password }
        : { type: UserTokenType.Anonymous };
      const session = await this.deadline(client.createSession(identity), 'create session');
      session.on('keepalive_failure', lost('session keep-alive failed'));
      session.on('session_closed', lost('session closed'));
      if (o.monitored.length > 0) await this.subscribe(session);
      if (this.closed || this.client !== client) throw new Error('link closed while connecting');
      this.session = session;
      this.connects++;
      this.breaker.success();
      this.log.info({ endpoint: o.endpoint, securityMode: o.securityMode, connects: this.connects }, 'OPC UA session up');
      this.events.up(session);
      return session;
    } catch (err) {
      if (this.client === client) await this.teardown();
      else await client.disconnect().catch(() => {});
      this.breaker.failure();
      this.scheduleReconnect(this.breaker.retryInMs);
      // Connect errors from node-opcua can be long; the cause keeps them, the message stays short.
      throw this.error('LS_ERR_PLC_CONNECT_FAILED', `cannot connect to ${o.endpoint}`, { retryInMs: Math.round(this.breaker.retryInMs) }, err);
    }
  }

  private async subscribe(session: ClientSession): Promise<void> {
    const sub = await this.deadline(
      session.createSubscription2({
        requestedPublishingInterval: this.options.samplingIntervalMs,
        requestedLifetimeCount: 600,
        requestedMaxKeepAliveCount: 20,
        maxNotificationsPerPublish: 1000,
        publishingEnabled: true,
        priority: 10,
      }),
      'create subscription',
    );
    this.subscription = sub;
    for (const nodeId of this.options.monitored) {
      let first = true;
      const item = ClientMonitoredItem.create(
        sub,
        { nodeId, attributeId: AttributeIds.Value },
        // queueSize > 1 and discardOldest false: a pulse shorter than the publishing interval still arrives as
        // two changes instead of being folded away (OPC UA Part 4, 5.12.1.5).
        { samplingInterval: this.options.samplingIntervalMs, queueSize: 10, discardOldest: false },
        TimestampsToReturn.Neither,
      );
      item.on('changed', (dv: DataValue) => {
        const f = first;
        first = false;
        if (sub === this.subscription) this.events.changed(nodeId, dv.value.value, f);
      });
      item.on('err', (msg: string) => this.log.warn({ nodeId, err: msg }, 'OPC UA monitored item failed'));
    }
  }

  /** Any failure: drop the client and reconnect behind the breaker. */
  private fail(err: unknown): void {
    if (this.client === null) return;
    this.breaker.failure();
    this.log.warn({ err, endpoint: this.options.endpoint, retryInMs: Math.round(this.breaker.retryInMs) }, 'OPC UA link down');
    void this.teardown();
    this.scheduleReconnect(this.breaker.retryInMs);
  }

  private async teardown(): Promise<void> {
    const client = this.client;
    const wasUp = this.session !== null;
    this.client = null;
    this.session = null;
    this.subscription = null;
    if (wasUp) this.events.down();
    if (client) await client.disconnect().catch(() => {});
  }

  private scheduleReconnect(delayMs: number): void {
    if (!this.options.keepConnected || this.closed || this.reconnectTimer) return;
    this.reconnectTimer = setTimeout(
      () => {
        this.reconnectTimer = null;
        if (this.session || this.connecting || this.closed) return;
        this.ensure().catch(() => {}); // failures re-schedule themselves
      },
      Math.max(10, delayMs),
    );
    this.reconnectTimer.unref();
  }

  private deadline<T>(p: Promise<T>, what: string): Promise<T> {
    let timer: NodeJS.Timeout;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${what} timed out after ${this.options.timeoutMs} ms`)), this.options.timeoutMs);
    });
    return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
  }

  private error(
    code: 'LS_ERR_PLC_CONNECT_FAILED' | 'LS_ERR_PLC_WRITE_FAILED' | 'LS_ERR_PLC_CIRCUIT_OPEN',
    detail: string,
    extra: object = {},
    cause?: unknown,
  ): LinesightError {
    return new LinesightError(code, detail, { endpoint: this.options.endpoint, ...extra }, cause === undefined ? undefined : { cause });
  }
}
