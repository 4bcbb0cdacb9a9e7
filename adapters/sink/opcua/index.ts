/**
 * OPC UA client sink: writes each result to node ids of the PLC's OPC UA server (S7-1500, TwinCAT, CODESYS…) with
 * ONE Write service call (all configured nodes, applied in order by the server), typed per node. Durable through
 * the outbox; the link (adapters/sink/opcua/opcua-link.ts) reconnects behind a circuit breaker so a dead PLC costs at most
 * `timeoutMs` per attempt and never touches the frame path.
 *
 * Optional `handshake:` runs the same profile as the Modbus server mode (adapters/shared/plc/handshake.ts) over nodes:
 * Linesight subscribes to the PLC's Trigger / Results Ack / Trigger Enable / Clear Error booleans (and reads a
 * Part Id string at each trigger) and writes the status nodes you map. With a handshake a delivery completes
 * when the PLC acknowledges; without one, when the Write succeeded.
 *
 * Exactly once without a handshake: after each (re)connect, the node fed by `source: sequence` is read back; if it
 * already holds the result about to be written (the previous Write went through, its answer was lost), the write
 * is skipped. Secrets (the user password) come from a file or an environment variable and are never logged.
 */
import path from 'node:path';
import type { WriteValueOptions } from 'node-opcua';
import { z } from 'zod';
import { defineAdapter, type AdapterContext, type OutboxSinkOptions, type ResultSink } from '../../../runtime/adapter.ts';
import type { InspectionResult } from '../../../runtime/results/result.ts';
import type { StationHealthView } from '../../../runtime/pipeline/station-health.ts';
import { LinesightError } from '../../../runtime/errors.ts';
import { BacklogSchema, outboxOptions } from '../../shared/backlog-schema.ts';
import { CONTROL_BIT, PlcHandshake, STATUS_BIT, type PresentedResult, type StatusField } from '../../shared/plc/handshake.ts';
import { HandshakeSchema, handshakeOptions } from '../../shared/plc/handshake-schema.ts';
import { readSecret, SecretSchema } from '../../shared/plc/secrets.ts';
import type { OpcUaLink, OpcUaLinkOptions } from './opcua-link.ts';

/*
 * node-opcua is loaded on open(), not at import: importing it costs ≈ 0.7 s and prints a PKCS#1 warning on stdout,
 * which every CLI command (validate, inspect) would pay for. The few protocol constants needed here are fixed by
 * the specification: built-in DataType ids (OPC UA Part 6, 5.1.2), AttributeId Value = 13 (Part 6, A.1),
 * VariantArrayType as node-opcua encodes it.
 */
const DATA_TYPE_ID = {
  Boolean: 1,
  SByte: 2,
  Byte: 3,
  Int16: 4,
  UInt16: 5,
  Int32: 6,
  UInt32: 7,
  Float: 10,
  Double: 11,
  String: 12,
  DateTime: 13,
} as const;
const ATTRIBUTE_VALUE = 13;
const ARRAY_TYPE = { Scalar: 0, Array: 1 } as const;

const DATA_TYPES = ['Boolean', 'SByte', 'Byte', 'Int16', 'UInt16', 'Int32', 'UInt32', 'Float', 'Double', 'String', 'DateTime'] as const;
type OpcDataType = (typeof DATA_TYPES)[number];

const SOURCES = [
  'sequence',
  'verdict',
  'reason-bits',
  'reasons',
  'part-id',
  'measurement',
  'measurements',
  'inspection-time-ms',
  'decided-at',
  'result-json',
  'good-count',
  'bad-count',
  'acquisition-id',
] as const;
type Source = (typeof SOURCES)[number];

const NodeId = z.string().min(3).describe('Node id, e.g. ns=3;s="DB_Vision"."Verdict" or ns=4;i=12');

const ResultNode = z
  .object({
    nodeId: NodeId,
    source: z
      .enum(SOURCES)
      .describe(
        'What to write: sequence, verdict (Boolean: true = OK; String: OK/NOK; number: 1 OK / 2 NOK), reason-bits, reasons ' +
          '(array: String[]; scalar: comma-joined), part-id, measurement, measurements (array), inspection-time-ms, ' +
          'decided-at, result-json (the whole result as one String: a single structured write), good-count, bad-count, acquisition-id',
      ),
    dataType: z.enum(DATA_TYPES).describe('OPC UA built-in type of the node'),
    array: z.boolean().default(false).describe('Write a one-dimensional array (reasons, measurements)'),
    measurement: z.string().min(1).optional().describe('source measurement: key in result.measurements'),
    measurements: z.array(z.string().min(1)).optional().describe('source measurements: keys, in array order'),
    scale: z.number().default(1).describe('Multiplier for numeric measurements'),
    missing: z.number().default(0).describe('Value when the result lacks the measurement'),
  })
  .strict()
  .superRefine((n, ctx) => {
    if (n.source === 'measurement' && !n.measurement)
      ctx.addIssue({ code: 'custom', path: ['measurement'], message: 'source measurement needs `measurement`' });
    if (n.source === 'measurements' && !(n.measurements && n.array))
      ctx.addIssue({ code: 'custom', path: ['measurements'], message: 'source measurements needs `measurements` and array: true' });
    if (n.array && n.source !== 'measurements' && n.source !== 'reasons')
      ctx.addIssue({ code: 'custom', path: ['array'], message: 'only reasons and measurements can be arrays' });
  });

const STATUS_NODE_FIELDS = [
  'statusWord',
  'errorCode',
  'acquisitionId',
  'resultAcquisitionId',
  'inspectionId',
  'passCount',
  'failCount',
  'missedTriggers',
  ...(Object.keys(STATUS_BIT) as StatusField[]),
] as const;
type StatusNodeField = (typeof STATUS_NODE_FIELDS)[number];

const HandshakeNodes = z
  .object({
    trigger: NodeId.describe('PLC → LS Boolean: Trigger (rising edge acquires)'),
    resultsAck: NodeId.describe('PLC → LS Boolean: Results Ack (rising edge releases the shown result)'),
    triggerEnable: NodeId.optional().describe('PLC → LS Boolean: Trigger Enable (needed when requireTriggerEnable)'),
    clearError: NodeId.optional().describe('PLC → LS Boolean: Clear Error (rising edge)'),
    partId: NodeId.optional().describe('PLC → LS String: part id, read at each trigger'),
    status: z
      .partialRecord(z.enum(STATUS_NODE_FIELDS), NodeId)
      .default({})
      .describe('LS → PLC status nodes: statusWord/errorCode (UInt16), ids and counters (UInt32), or single flags (Boolean) by name'),
  })
  .strict();

export const schema = z
  .object({
    type: z.literal('opcua').describe('Write results to PLC nodes over OPC UA (client).'),
    name: z.string().min(1).default('opcua').describe('Sink name, unique within the station; keys its outbox.'),
    endpoint: z
      .string()
      .regex(/^opc\.tcp:\/\/.+/)
      .describe('Server endpoint, e.g. opc.tcp://192.168.0.10:4840'),
    securityMode: z.enum(['None', 'Sign', 'SignAndEncrypt']).default('None').describe('Message security mode'),
    securityPolicy: z.enum(['None', 'Basic256Sha256', 'Aes128_Sha256_RsaOaep', 'Aes256_Sha256_RsaPss']).default('None').describe('Security policy'),
    user: z
      .object({ name: z.string().min(1).describe('User name'), password: SecretSchema })
      .strict()
      .optional()
      .describe('User name login; anonymous when absent'),
    pkiDir: z
      .string()
      .min(1)
      .optional()
      .describe("Client PKI folder (own certificate, trusted servers), relative to the line YAML; default: node-opcua's per-user folder"),
    acceptUnknownServerCertificate: z
      .boolean()
      .default(false)
      .describe('Trust a server certificate not in the PKI trusted folder (commissioning only)'),
    timeoutMs: z.number().int().min(100).max(60_000).default(2000).describe('Deadline for connect and each call'),
    breaker: z
      .object({
        failureThreshold: z.number().int().min(1).max(100).default(3).describe('Consecutive failures before the breaker opens'),
        initialBackoffMs: z.number().int().min(10).max(60_000).default(500).describe('First open period'),
        maxBackoffMs: z.number().int().min(10).max(600_000).default(30_000).describe('Longest open period (doubles per failed trial)'),
      })
      .strict()
      .default({ failureThreshold: 3, initialBackoffMs: 500, maxBackoffMs: 30_000 })
      .describe('Circuit breaker of the PLC link'),
    reasonCodes: z
      .array(z.string().min(1))
      .max(32)
      .default([])
      .refine((codes) => new Set(codes).size === codes.length, 'reason codes must be unique')
      .describe('For source reason-bits: bit i is reasonCodes[i]'),
    nodes: z.array(ResultNode).min(1).max(200).describe('Result nodes, written in this order in one Write call'),
    readBack: z.boolean().default(true).describe('After (re)connect, skip a result the sequence node already holds (exactly once)'),
    samplingIntervalMs: z.number().int().min(0).max(10_000).default(20).describe('Sampling/publishing interval of the handshake control nodes'),
    handshake: HandshakeSchema.extend({ nodes: HandshakeNodes }).optional().describe('PLC handshake over nodes'),
    backlog: BacklogSchema.default({ max: 10_000, overflow: 'keep' }),
  })
  .strict()
  .describe('OPC UA client sink');

export type OpcUaSinkOptions = z.output<typeof schema>;
type ResultNodeSpec = OpcUaSinkOptions['nodes'][number];

const INT_RANGE: Partial<Record<OpcDataType, [number, number]>> = {
  SByte: [-128, 127],
  Byte: [0, 255],
  Int16: [-0x8000, 0x7fff],
  UInt16: [0, 0xffff],
  Int32: [-0x80000000, 0x7fffffff],
  UInt32: [0, 0xffffffff],
};

/** Converts a JS value to what node-opcua needs for the node's type (integers rounded and saturated). */
function coerce(dataType: OpcDataType, v: unknown): unknown {
  if (Array.isArray(v)) return v.map((x) => coerce(dataType, x));
  const range = INT_RANGE[dataType];
  if (range) {
    const n = typeof v === 'boolean' ? (v ? 1 : 0) : Number(v);
    return Number.isNaN(n) ? 0 : Math.min(range[1], Math.max(range[0], Math.round(n)));
  }
  if (dataType === 'Float' || dataType === 'Double') return typeof v === 'boolean' ? (v ? 1 : 0) : Number(v);
  if (dataType === 'Boolean') return Boolean(v);
  if (dataType === 'DateTime') return v instanceof Date ? v : new Date(String(v));
  return typeof v === 'string' ? v : v instanceof Date ? v.toISOString() : String(v);
}

export class OpcUaSink implements ResultSink {
  readonly type = 'opcua';
  readonly durable = true;
  readonly name: string;
  readonly outbox: OutboxSinkOptions;
  /** Set by open(). */
  link: OpcUaLink | null = null;
  readonly handshake: PlcHandshake | null;
  /** With a handshake, the PLC's trigger node: the composition root binds it to the station it triggers. */
  readonly triggers?: PlcHandshake;
  skippedDuplicates = 0;
  good = 0;
  bad = 0;
  private readonly options: OpcUaSinkOptions;
  private readonly ctx: AdapterContext;
  private readonly reasonBit: ReadonlyMap<string, number>;
  private readonly sequenceNode: ResultNodeSpec | undefined;
  private verifyNext = false;
  private readonly linkOptions: OpcUaLinkOptions;
  private readonly log: AdapterContext['log'];
  private control = 0;
  private partIdCache = '';
  private statusDirty = false;
  private statusWriting: Promise<void> | null = null;
  /** Control changes are applied one at a time, in arrival order (a part id read may sit between). */
  private controlChain: Promise<void> = Promise.resolve();

  constructor(options: OpcUaSinkOptions, ctx: AdapterContext) {
    this.options = options;
    this.name = options.name;
    this.ctx = ctx;
    this.outbox = outboxOptions(options.backlog);
    this.reasonBit = new Map(options.reasonCodes.map((c, i) => [c, i]));
    this.sequenceNode = options.nodes.find((n) => n.source === 'sequence' && !n.array);
    const hs = options.handshake;
    const monitored = hs
      ? [hs.nodes.trigger, hs.nodes.resultsAck, hs.nodes.triggerEnable, hs.nodes.clearError].filter((n): n is string => n !== undefined)
      : [];
    const log = ctx.log.child({ sink: options.name });
    // The password is read now (fails boot when missing) and handed to the link only; options never hold it.
    const user = options.user
      ? { name: options.user.name, password: readSecret(options.user.password, ctx.configDir, `${options.name} OPC UA password`) }
      : null;
    this.linkOptions = {
      endpoint: options.endpoint,
      securityMode: options.securityMode,
      securityPolicy: options.securityPolicy,
      user,
      pkiDir: options.pkiDir ? path.resolve(ctx.configDir, options.pkiDir) : null,
      acceptUnknownServerCertificate: options.acceptUnknownServerCertificate,
      timeoutMs: options.timeoutMs,
      breaker: options.breaker,
      monitored,
      samplingIntervalMs: options.samplingIntervalMs,
      keepConnected: hs !== undefined,
    };
    this.log = log;
    this.handshake = hs
      ? new PlcHandshake(
          handshakeOptions({
            bufferDepth: hs.bufferDepth,
            requireAck: hs.requireAck,
            ackTimeoutMs: hs.ackTimeoutMs,
            onAckTimeout: hs.onAckTimeout,
            requireTriggerEnable: hs.requireTriggerEnable,
            inspectionTimeoutMs: hs.inspectionTimeoutMs,
          }),
          { writeResult: (p) => this.writeResult(p), publish: () => this.publishStatus(), readPartId: () => this.partIdCache },
          log,
        )
      : null;
    if (this.handshake) {
      this.handshake.origin = options.name;
      this.triggers = this.handshake;
    }
  }

  async open(): Promise<void> {
    if (this.link) return;
    const { OpcUaLink } = await import('./opcua-link.ts');
    this.link = new OpcUaLink(this.linkOptions, this.log, {
      up: () => {
        this.verifyNext = true;
        this.publishStatus();
      },
      down: () => {},
      changed: (nodeId, value, first) => this.onControlNode(nodeId, value, first),
    });
    this.link.start();
  }

  private get openLink(): OpcUaLink {
    if (!this.link) throw new LinesightError('LS_ERR_PLC_CONNECT_FAILED', 'OPC UA sink used before open()', { sink: this.name });
    return this.link;
  }

  async deliver(result: InspectionResult): Promise<void> {
    if (this.handshake) return this.handshake.present(result);
    await this.writeResult({ result, acquisitionId: 0 });
  }

  interrupt(): void {
    this.handshake?.interrupt();
  }

  /** With a handshake: store failure shows as error code 3 and, under stop-line, Trigger Ready low. */
  stationHealth(h: StationHealthView): void {
    this.handshake?.stationHealth(h);
  }

  async close(): Promise<void> {
    this.handshake?.close();
    await this.statusWriting?.catch(() => {});
    await this.link?.close();
  }

  /** The WriteValues for one result (exported shape for the bench and tests). */
  resultWrites(p: PresentedResult, good: number, bad: number): WriteValueOptions[] {
    return this.options.nodes.map((n) => ({
      nodeId: n.nodeId,
      attributeId: ATTRIBUTE_VALUE,
      value: {
        value: {
          dataType: DATA_TYPE_ID[n.dataType],
          arrayType: n.array ? ARRAY_TYPE.Array : ARRAY_TYPE.Scalar,
          value: coerce(n.dataType, this.sourceValue(n, p, good, bad)),
        },
      },
    }));
  }

  private async writeResult(p: PresentedResult): Promise<void> {
    const r = p.result;
    if (this.verifyNext && this.options.readBack && this.sequenceNode && !this.handshake) {
      const [held] = await this.openLink.read([this.sequenceNode.nodeId], 'read back sequence');
      this.verifyNext = false;
      if (Number(held?.value.value) === r.sequence) {
        this.skippedDuplicates++;
        this.ctx.log.info({ sink: this.name, sequence: r.sequence }, 'PLC already holds this result; not written twice');
        if (r.verdict === 'OK') this.good++;
        else this.bad++;
        return;
      }
    }
    const good = this.good + (r.verdict === 'OK' ? 1 : 0);
    const bad = this.bad + (r.verdict === 'OK' ? 0 : 1);
    await this.openLink.write(this.resultWrites(p, good, bad), `write result ${r.sequence}`);
    this.verifyNext = false;
    this.good = good;
    this.bad = bad;
  }

  private sourceValue(n: ResultNodeSpec, p: PresentedResult, good: number, bad: number): unknown {
    const r = p.result;
    const src: Source = n.source;
    switch (src) {
      case 'sequence':
        return r.sequence;
      case 'verdict':
        if (n.dataType === 'Boolean') return r.verdict === 'OK';
        if (n.dataType === 'String') return r.verdict;
        return r.verdict === 'OK' ? 1 : 2;
      case 'reason-bits': {
        let bits = 0;
        for (const reason of r.reasons) {
          const b = this.reasonBit.get(reason.code);
          if (b !== undefined) bits = (bits | (1 << b)) >>> 0;
        }
        return bits;
      }
      case 'reasons':
        return n.array ? r.reasons.map((x) => x.code) : r.reasons.map((x) => x.code).join(',');
      case 'part-id':
        return r.partId ?? '';
      case 'measurement': {
        const m = r.measurements[n.measurement as string];
        return m === undefined ? n.missing : m * n.scale;
      }
      case 'measurements':
        return (n.measurements ?? []).map((k) => {
          const m = r.measurements[k];
          return m === undefined ? n.missing : m * n.scale;
        });
      case 'inspection-time-ms':
        return r.timings.totalMs;
      case 'decided-at':
        return n.dataType === 'DateTime' ? new Date(r.decidedAt) : r.decidedAt;
      case 'result-json':
        return JSON.stringify(r);
      case 'good-count':
        return good;
      case 'bad-count':
        return bad;
      case 'acquisition-id':
        return p.acquisitionId;
    }
  }

  private onControlNode(nodeId: string, value: unknown, first: boolean): void {
    const nodes = this.options.handshake?.nodes;
    const hs = this.handshake;
    if (!nodes || !hs) return;
    const on = value === true || value === 1;
    const setBit = (b: number) => {
      this.control = on ? this.control | (1 << b) : this.control & ~(1 << b);
    };
    if (nodeId === nodes.trigger) {
      if (on && first) {
        // A trigger already high when the session (re)starts is not an edge we saw: the part it meant is gone.
        setBit(CONTROL_BIT.trigger);
        hs.setControl(this.control, true);
        return;
      }
      setBit(CONTROL_BIT.trigger);
    } else if (nodeId === nodes.resultsAck) setBit(CONTROL_BIT.resultsAck);
    else if (nodeId === nodes.triggerEnable) setBit(CONTROL_BIT.triggerEnable);
    else if (nodeId === nodes.clearError) setBit(CONTROL_BIT.clearError);
    const word = this.control;
    const isTriggerEdge = nodeId === nodes.trigger && on && nodes.partId !== undefined;
    // The part id is read at the trigger edge (one round trip) so it belongs to this part, whatever order the
    // PLC's writes reached the subscription in. Later changes queue behind it to keep their order.
    this.controlChain = this.controlChain.then(async () => {
      if (isTriggerEdge && nodes.partId) {
        try {
          const [dv] = await this.openLink.read([nodes.partId], 'read part id');
          this.partIdCache = typeof dv?.value.value === 'string' ? dv.value.value : '';
        } catch {
          this.partIdCache = '';
        }
        hs.setControl(word | (1 << CONTROL_BIT.setPartId));
        hs.setControl(word & ~(1 << CONTROL_BIT.setPartId));
        return;
      }
      hs.setControl(word & ~(1 << CONTROL_BIT.setPartId));
    });
  }

  /** Coalesced: at most one status Write in flight; changes during it are sent right after, latest state only. */
  private publishStatus(): void {
    const status = this.options.handshake?.nodes.status;
    if (!this.handshake || !status || Object.keys(status).length === 0) return;
    this.statusDirty = true;
    if (this.statusWriting || !this.link?.up) return;
    this.statusWriting = this.flushStatus().finally(() => {
      this.statusWriting = null;
      if (this.statusDirty && this.link?.up) this.publishStatus();
    });
  }

  private async flushStatus(): Promise<void> {
    const hs = this.handshake as PlcHandshake;
    const status = this.options.handshake?.nodes.status ?? {};
    this.statusDirty = false;
    const writes: WriteValueOptions[] = [];
    for (const [field, nodeId] of Object.entries(status) as [StatusNodeField, string][]) {
      let dataType: number = DATA_TYPE_ID.UInt32;
      let value: number | boolean;
      switch (field) {
        case 'statusWord':
          dataType = DATA_TYPE_ID.UInt16;
          value = hs.statusWord;
          break;
        case 'errorCode':
          dataType = DATA_TYPE_ID.UInt16;
          value = hs.errorCode;
          break;
        case 'acquisitionId':
          value = hs.acquisitionId;
          break;
        case 'resultAcquisitionId':
          value = hs.shown?.acquisitionId ?? 0;
          break;
        case 'inspectionId':
          value = hs.shown?.result.sequence ?? 0;
          break;
        case 'passCount':
          value = hs.counters.pass;
          break;
        case 'failCount':
          value = hs.counters.fail;
          break;
        case 'missedTriggers':
          value = hs.counters.missed;
          break;
        default:
          dataType = DATA_TYPE_ID.Boolean;
          value = hs.status(field);
      }
      writes.push({ nodeId, attributeId: ATTRIBUTE_VALUE, value: { value: { dataType, value } } });
    }
    try {
      await this.openLink.write(writes, 'write handshake status');
    } catch (err) {
      this.statusDirty = true; // re-sent on reconnect (link 'up')
      if (this.ctx.log.isLevelEnabled('debug')) this.ctx.log.debug({ err, sink: this.name }, 'status write failed');
    }
  }
}

export default defineAdapter({
  kind: 'sink',
  type: 'opcua',
  schema,
  create(options, ctx): ResultSink {
    return new OpcUaSink(options, ctx);
  },
});
