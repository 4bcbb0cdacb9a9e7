/**
 * Modbus server mode: Linesight serves a Modbus TCP register map that the PLC polls, as Banner iVu/VE and Cognex
 * In-Sight cameras do. The PLC writes control bits (and a part id) and reads status, ids, counters and the
 * result; the handshake itself is adapters/shared/plc/handshake.ts. Durable: the outbox offers each result in order
 * and a delivery completes when the PLC acknowledges it (or at once with `handshake.requireAck: false`).
 *
 * Default map (holding registers; FC4 input registers mirror them). "ref" is the 1-based reference PLC tools
 * and mbpoll use, "addr" the 0-based protocol address:
 *
 *   ref 1    addr 0       control bits (PLC → LS): 0 Trigger Enable, 1 Trigger, 2 Results Ack, 3 Set Part Id, 4 Clear Error
 *   ref 2-17 addr 1-16    part id, ASCII, 2 chars/register, high byte first, NUL padded (PLC → LS)
 *   ref 1001 addr 1000    status bits (LS → PLC): 0 Trigger Ready, 1 Trigger Ack, 2 Busy, 3 Inspection Completed
 *                         (toggles), 4 Results Valid, 5 Error, 6 Missed Trigger, 7 Set Part Id Ack, 8 Result OK,
 *                         9 Result NOK, 10 Buffer Full
 *   ref 1002             error code (0 none, 1 ack timeout, 2 inspection timeout, 3 result store failed)
 *   ref 1003-1004        acquisition id (uint32): accepted triggers
 *   ref 1005-1006        inspection id (uint32): store sequence of the result shown
 *   ref 1007-1008        acquisition id of the result shown (0 when not PLC-triggered)
 *   ref 1009-1010        pass count        ref 1011-1012 fail count        ref 1013-1014 missed triggers
 *   ref 1015-1016        inspection time of the result shown, ms (float32)
 *   ref 1017             verdict of the result shown (0 none, 1 OK, 2 NOK)
 *   ref 1018-1019        reason bits of the result shown (uint32, bit i = reasonCodes[i])
 *   ref 1020             results waiting (shown one included)
 *   ref 1021             heartbeat, +1 per second
 *   ref 1022-1037        part id of the result shown (ASCII as above)
 *   ref 1038             control word echo (what Linesight last read from ref 1)
 *   ref 1041-…           result values, `values[]` in order (float32 by default, 2 registers each)
 *
 * 32-bit values follow `wordOrder`/`byteOrder` (default high word first). Only the control and part id registers
 * are writable (Modbus exception 02 elsewhere). Clients outside `allowlist` are disconnected on connect.
 */
import type { Server, Socket } from 'node:net';
import { ServerTCP } from 'modbus-serial';
import { z } from 'zod';
import { defineAdapter, type AdapterContext, type OutboxSinkOptions, type ResultSink } from '../../../runtime/adapter.ts';
import { LinesightError, reasonOf } from '../../../runtime/errors.ts';
import type { InspectionResult } from '../../../runtime/results/result.ts';
import type { StationHealthView } from '../../../runtime/pipeline/station-health.ts';
import { PlcHandshake, type HandshakePort, type PresentedResult } from '../../shared/plc/handshake.ts';
import { HandshakeSchema, handshakeOptions } from '../../shared/plc/handshake-schema.ts';
import { BacklogSchema, outboxOptions } from '../../shared/backlog-schema.ts';
import { decodeAscii, encodeAscii, encodeValue, registerCount, REGISTER_TYPES, type RegisterOrder } from '../../shared/plc/registers.ts';
import { freePort } from '../../../runtime/net/free-port.ts';

/** Offsets inside the status block (from statusAddress). */
export const STATUS_OFFSET = {
  status: 0,
  errorCode: 1,
  acquisitionId: 2,
  inspectionId: 4,
  resultAcquisitionId: 6,
  pass: 8,
  fail: 10,
  missed: 12,
  inspectionTimeMs: 14,
  verdict: 16,
  reasonBits: 17,
  waiting: 19,
  heartbeat: 20,
  partId: 21,
  controlEcho: 37,
} as const;
export const PART_ID_WORDS = 16;
const STATUS_WORDS = 38;

const Endian = z.enum(['big', 'little']);
const addr = () => z.number().int().min(0).max(65535);

export const schema = z
  .object({
    type: z.literal('modbus-server').describe('Serve a Modbus TCP map the PLC polls (server mode, Banner/Cognex style).'),
    name: z.string().min(1).default('modbus-server').describe('Sink name, unique within the station; keys its outbox.'),
    host: z.string().min(1).default('127.0.0.1').describe('Address to listen on (0.0.0.0 = all interfaces).'),
    port: z.number().int().min(0).max(65535).default(502).describe('TCP port; 0 picks a free one (tests).'),
    unitId: z.number().int().min(1).max(255).default(1).describe('Unit id answered; 255 answers any.'),
    allowlist: z
      .array(z.string().regex(/^\d{1,3}(\.\d{1,3}){3}(\/\d{1,2})?$/, 'IPv4 address or CIDR'))
      .optional()
      .describe('Client IPv4 addresses or CIDR blocks allowed to connect; absent = any (a warning is logged).'),
    controlAddress: addr().default(0).describe('Control word (0-based address); the part id follows it.'),
    statusAddress: addr().default(1000).describe('First register of the status block (0-based).'),
    valuesAddress: addr().default(1040).describe('First register of the result values (0-based).'),
    reasonCodes: z
      .array(z.string().min(1))
      .max(32)
      .default([])
      .refine((codes) => new Set(codes).size === codes.length, 'reason codes must be unique')
      .describe('Reason code for each bit of the reason word: bit i is reasonCodes[i].'),
    values: z
      .array(
        z
          .object({
            measurement: z.string().min(1).describe('Key in result.measurements'),
            type: z.enum(REGISTER_TYPES).default('float32').describe('Register type'),
            scale: z.number().default(1).describe('Multiplier before integer rounding'),
            missing: z.number().default(0).describe('Value when the result lacks the measurement'),
          })
          .strict(),
      )
      .max(100)
      .default([])
      .describe('Result values placed one after the other from valuesAddress.'),
    wordOrder: Endian.default('big').describe('32-bit values: big = high word first (ABCD), little = CDAB.'),
    byteOrder: Endian.default('big').describe('Bytes inside a register: big = Modbus standard, little = swapped.'),
    handshake: HandshakeSchema.default(HandshakeSchema.parse({})),
    backlog: BacklogSchema.default({ max: 10_000, overflow: 'keep' }),
  })
  .strict()
  .superRefine((o, ctx) => {
    const ranges: [string, number, number][] = [
      ['controlAddress', o.controlAddress, 1 + PART_ID_WORDS],
      ['statusAddress', o.statusAddress, STATUS_WORDS],
      ['valuesAddress', o.valuesAddress, o.values.reduce((n, v) => n + registerCount(v.type), 0)],
    ];
    for (const [key, start, n] of ranges) {
      if (start + n > 65536) ctx.addIssue({ code: 'custom', path: [key], message: 'block runs past register 65535' });
      for (const [other, s2, n2] of ranges) {
        if (other !== key && n > 0 && n2 > 0 && start < s2 + n2 && s2 < start + n && key < other) {
          ctx.addIssue({ code: 'custom', path: [key], message: `overlaps ${other}` });
        }
      }
    }
  })
  .describe('Modbus server mode with the smart-camera handshake.');

export type ModbusServerOptions = z.output<typeof schema>;

function modbusException(code: number, message: string): Error {
  return Object.assign(new Error(message), { modbusErrorCode: code });
}

/** IPv4 allowlist of exact addresses and CIDR blocks; IPv4-mapped IPv6 ("::ffff:a.b.c.d") is unwrapped. */
export function compileAllowlist(entries: readonly string[]): (ip: string | undefined) => boolean {
  const nets = entries.map((e) => {
    const [ip, bits = '32'] = e.split('/');
    const prefix = Number(bits);
    const mask = prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0;
    return { net: (ipv4(ip ?? '') ?? 0) & mask, mask };
  });
  return (remote) => {
    const v = ipv4((remote ?? '').replace(/^::ffff:/, ''));
    return v !== null && nets.some((n) => (v & n.mask) >>> 0 === n.net >>> 0);
  };
}

function ipv4(s: string): number | null {
  const p = s.split('.');
  if (p.length !== 4) return null;
  let v = 0;
  for (const x of p) {
    const n = Number(x);
    if (!Number.isInteger(n) || n < 0 || n > 255 || x === '') return null;
    v = v * 256 + n;
  }
  return v >>> 0;
}

export class ModbusServerSink implements ResultSink {
  readonly type = 'modbus-server';
  readonly durable = true;
  readonly name: string;
  readonly outbox: OutboxSinkOptions;
  readonly handshake: PlcHandshake;
  /** The PLC's trigger bit, through the handshake: the composition root binds it to the station it triggers. */
  readonly triggers: PlcHandshake;
  /** Connections refused by the allowlist. */
  rejectedClients = 0;
  private readonly options: ModbusServerOptions;
  private readonly ctx: AdapterContext;
  private readonly order: RegisterOrder;
  private readonly image = new Uint16Array(65536);
  private readonly allowed: ((ip: string | undefined) => boolean) | null;
  private readonly reasonBit: ReadonlyMap<string, number>;
  private readonly status: number;
  private server: ServerTCP | null = null;
  private boundPort = 0;
  private heartbeatTimer: NodeJS.Timeout | null = null;

  constructor(options: ModbusServerOptions, ctx: AdapterContext) {
    this.options = options;
    this.name = options.name;
    this.ctx = ctx;
    this.outbox = outboxOptions(options.backlog);
    this.order = { wordOrder: options.wordOrder, byteOrder: options.byteOrder };
    this.allowed = options.allowlist ? compileAllowlist(options.allowlist) : null;
    this.reasonBit = new Map(options.reasonCodes.map((c, i) => [c, i]));
    this.status = options.statusAddress;
    const port: HandshakePort = {
      writeResult: (p) => this.renderResult(p),
      publish: () => this.renderStatus(),
      readPartId: () => decodeAscii(this.image, options.controlAddress + 1, PART_ID_WORDS),
    };
    this.handshake = new PlcHandshake(handshakeOptions(options.handshake), port, ctx.log.child({ sink: options.name }));
    this.handshake.origin = options.name;
    this.triggers = this.handshake;
    this.renderStatus();
    this.onConnection = this.onConnection.bind(this);
  }

  /** The port served (useful with port 0). */
  get port(): number {
    return this.boundPort;
  }

  get endpoint(): string {
    return `${this.options.host}:${this.boundPort}`;
  }

  async open(): Promise<void> {
    if (this.server) return;
    this.boundPort = this.options.port === 0 ? await freePort(this.options.host) : this.options.port;
    // Synchronous (non-callback) vector forms: modbus-serial picks the calling convention by function arity.
    const vector = {
      getHoldingRegister: (a: number) => this.read(a, 1)[0],
      getMultipleHoldingRegisters: (a: number, n: number) => this.read(a, n),
      getInputRegister: (a: number) => this.read(a, 1)[0],
      getMultipleInputRegisters: (a: number, n: number) => this.read(a, n),
      setRegister: (a: number, v: number) => this.write(a, [v]),
      setRegisterArray: (a: number, v: number[]) => this.write(a, v),
    };
    const server = new ServerTCP(vector, { host: this.options.host, port: this.boundPort, unitID: this.options.unitId });
    // The allowlist check must run before ServerTCP's own connection handler wires the socket, and ServerTCP
    // does not expose its net.Server in the typings: prepend our listener on the private field.
    const net = (server as unknown as { _server: Server })._server;
    // eslint-disable-next-line @typescript-eslint/unbound-method -- bound in the constructor
    net.prependListener('connection', this.onConnection);
    server.on('socketError', (err) => this.ctx.log.debug({ err, sink: this.name }, 'modbus server client socket error'));
    server.on('error', (err) => this.ctx.log.warn({ err, sink: this.name }, 'modbus server error'));
    await new Promise<void>((resolve, reject) => {
      server.once('initialized', () => resolve());
      server.once('serverError', (err) =>
        reject(
          new LinesightError(
            'LS_ERR_PLC_LISTEN_FAILED',
            `cannot listen on ${this.endpoint}: ${reasonOf(err)}`,
            { endpoint: this.endpoint },
            { cause: err },
          ),
        ),
      );
    });
    this.server = server;
    this.heartbeatTimer = setInterval(() => {
      this.image[this.status + STATUS_OFFSET.heartbeat] = (this.image[this.status + STATUS_OFFSET.heartbeat]! + 1) & 0xffff;
    }, 1000);
    this.heartbeatTimer.unref();
    if (!this.allowed && this.options.host !== '127.0.0.1') {
      this.ctx.log.warn(
        { sink: this.name, endpoint: this.endpoint },
        'modbus server without allowlist: any client on the network may trigger and acknowledge',
      );
    }
    this.ctx.log.info({ sink: this.name, endpoint: this.endpoint, unitId: this.options.unitId }, 'modbus server mode listening');
  }

  deliver(result: InspectionResult): Promise<void> {
    return this.handshake.present(result);
  }

  interrupt(): void {
    this.handshake.interrupt();
  }

  /** Store failure: error code 3 and, under stop-line, Trigger Ready low (the handshake renders the status). */
  stationHealth(h: StationHealthView): void {
    this.handshake.stationHealth(h);
  }

  async close(): Promise<void> {
    this.handshake.close();
    if (this.heartbeatTimer) clearInterval(this.heartbeatTimer);
    this.heartbeatTimer = null;
    const server = this.server;
    this.server = null;
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  private onConnection(sock: Socket): void {
    if (this.allowed === null || this.allowed(sock.remoteAddress)) return;
    this.rejectedClients++;
    this.ctx.log.warn(
      { sink: this.name, client: sock.remoteAddress, rejected: this.rejectedClients },
      'modbus client not in allowlist; disconnected',
    );
    sock.destroy();
  }

  private read(address: number, count: number): number[] {
    if (address + count > 65536) throw modbusException(0x02, 'illegal data address');
    return Array.from(this.image.subarray(address, address + count));
  }

  private write(address: number, values: readonly number[]): void {
    const first = this.options.controlAddress;
    const last = first + PART_ID_WORDS; // control word + part id
    if (address < first || address + values.length - 1 > last) throw modbusException(0x02, 'register not writable');
    for (let i = 0; i < values.length; i++) this.image[address + i] = values[i]!;
    this.image[this.status + STATUS_OFFSET.controlEcho] = this.image[first]!;
    // Every write reaching the control word re-evaluates edges; a part-id-only write just stores the text.
    if (address === first) this.handshake.setControl(this.image[first]!);
  }

  private renderResult(p: PresentedResult): void {
    const img = this.image;
    const s = this.status;
    const r = p.result;
    encodeValue(img, s + STATUS_OFFSET.inspectionId, 'uint32', r.sequence, 1, this.order);
    encodeValue(img, s + STATUS_OFFSET.resultAcquisitionId, 'uint32', p.acquisitionId, 1, this.order);
    encodeValue(img, s + STATUS_OFFSET.inspectionTimeMs, 'float32', r.timings.totalMs, 1, this.order);
    img[s + STATUS_OFFSET.verdict] = r.verdict === 'OK' ? 1 : 2;
    let bits = 0;
    for (const reason of r.reasons) {
      const b = this.reasonBit.get(reason.code);
      if (b !== undefined) bits = (bits | (1 << b)) >>> 0;
    }
    encodeValue(img, s + STATUS_OFFSET.reasonBits, 'uint32', bits, 1, this.order);
    encodeAscii(img, s + STATUS_OFFSET.partId, PART_ID_WORDS, r.partId ?? '');
    let a = this.options.valuesAddress;
    for (const v of this.options.values) {
      const m = r.measurements[v.measurement];
      encodeValue(img, a, v.type, m === undefined ? v.missing : m, m === undefined ? 1 : v.scale, this.order);
      a += registerCount(v.type);
    }
  }

  private renderStatus(): void {
    const img = this.image;
    const s = this.status;
    const h = this.handshake;
    img[s + STATUS_OFFSET.status] = h.statusWord;
    img[s + STATUS_OFFSET.errorCode] = h.errorCode;
    encodeValue(img, s + STATUS_OFFSET.acquisitionId, 'uint32', h.acquisitionId, 1, this.order);
    encodeValue(img, s + STATUS_OFFSET.pass, 'uint32', h.counters.pass, 1, this.order);
    encodeValue(img, s + STATUS_OFFSET.fail, 'uint32', h.counters.fail, 1, this.order);
    encodeValue(img, s + STATUS_OFFSET.missed, 'uint32', h.counters.missed, 1, this.order);
    img[s + STATUS_OFFSET.waiting] = Math.min(h.waiting, 0xffff);
  }
}

export default defineAdapter({
  kind: 'sink',
  type: 'modbus-server',
  schema,
  create(options, ctx): ResultSink {
    return new ModbusServerSink(options, ctx);
  },
  listeners(options) {
    return options.port === 0 ? [] : [{ host: options.host, port: options.port, what: 'Modbus server mode', key: 'port' }];
  },
});
