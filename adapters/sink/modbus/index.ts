/**
 * Modbus client mode: writes each result into a PLC's holding registers with ONE FC16 (Write Multiple Registers),
 * so the PLC never sees half a result. Durable: it goes through the outbox and is retried in order until the PLC
 * has it. Modbus TCP, or RTU over a serial line (modbus-serial with its bundled serialport prebuilds).
 *
 * Result block (holding registers, 0-based from `baseAddress`; offsets ≥ 6 are configured):
 *
 * | offset | content                                                                              |
 * |--------|--------------------------------------------------------------------------------------|
 * | +0     | verdict: 1 = OK, 2 = NOK (0 = nothing written yet; the sink never writes 0)          |
 * | +1     | reason bits 0..15: bit i set when a reason's code is `reasonCodes[i]`               |
 * | +2     | reason bits 16..31                                                                   |
 * | +3     | sequence, high word (uint32, high word first)                                        |
 * | +4     | sequence, low word                                                                   |
 * | +5     | result-ready toggle: sequence & 1, so it flips on every new result                   |
 * | +n     | `counters.offset`: good count (uint32), then bad count (uint32), in `wordOrder`       |
 * | +n     | each `values[]` entry: a measurement as int16/uint16 (scaled), int32/uint32, float32  |
 *
 * Registers between configured entries are written as 0: the block is one contiguous FC16.
 * Reason codes missing from `reasonCodes` set no bit (a NOK with a zero reason word means "other reason").
 * The toggle is derived from the sequence rather than kept in memory, so re-delivering a result writes identical
 * values. Exactly once at the PLC: after every (re)connect the sink first reads the block back (FC3); when the
 * PLC already holds exactly the block it is about to write — the write went through but its answer was lost —
 * it skips the write, and it continues the good/bad counters from the PLC's values.
 */
import ModbusSerial from 'modbus-serial';
import { z } from 'zod';
import { defineAdapter, type AdapterContext, type ResultSink } from '../../../runtime/adapter.ts';
import { LinesightError } from '../../../runtime/errors.ts';
import type { InspectionResult } from '../../../runtime/results/result.ts';
import { BacklogSchema, outboxOptions } from '../../shared/backlog-schema.ts';
import type { OutboxSinkOptions } from '../../../runtime/adapter.ts';
import { decodeValue, encodeValue, registerCount, REGISTER_TYPES, type RegisterOrder } from '../../shared/plc/registers.ts';

/** Registers of the fixed header written per result. */
export const MODBUS_RESULT_WORDS = 6;
/** FC16 carries at most 123 registers (Modbus Application Protocol v1.1b3, 6.12). */
const MAX_FC16_WORDS = 123;

const VERDICT_WORD = { OK: 1, NOK: 2 } as const;

// modbus-serial is CommonJS whose typings declare `export default`; `.default` is the client class either way.
const ModbusRTU = ModbusSerial.default;
type ModbusClient = InstanceType<typeof ModbusRTU>;

const Endian = z.enum(['big', 'little']);

const ValueSchema = z
  .object({
    measurement: z.string().min(1).describe('Key in result.measurements, e.g. "drilling.diameter-mm"'),
    offset: z
      .number()
      .int()
      .min(MODBUS_RESULT_WORDS)
      .max(MAX_FC16_WORDS - 1)
      .describe('Register offset from baseAddress (≥ 6)'),
    type: z.enum(REGISTER_TYPES).default('float32').describe('Register type; 32-bit types take two registers'),
    scale: z.number().default(1).describe('Multiplier before integer rounding, e.g. 1000 for mm → µm in an int16'),
    missing: z.number().default(0).describe('Value written when the result has no such measurement'),
  })
  .strict();

export const schema = z
  .object({
    type: z.literal('modbus').describe('Write each result to PLC holding registers (Modbus client mode).'),
    name: z.string().min(1).default('modbus').describe('Sink name, unique within the station; keys its outbox.'),
    transport: z.enum(['tcp', 'rtu']).default('tcp').describe('Modbus TCP, or RTU over the serial line in `serial`.'),
    host: z.string().min(1).default('127.0.0.1').describe('PLC address (tcp).'),
    port: z.number().int().min(1).max(65535).default(502).describe('PLC Modbus TCP port (tcp).'),
    serial: z
      .object({
        path: z.string().min(1).describe('Serial device, e.g. /dev/ttyUSB0'),
        baudRate: z.number().int().positive().default(19200).describe('Baud rate'),
        parity: z.enum(['none', 'even', 'odd']).default('even').describe('Parity (Modbus RTU default: even)'),
        dataBits: z
          .union([z.literal(7), z.literal(8)])
          .default(8)
          .describe('Data bits'),
        stopBits: z
          .union([z.literal(1), z.literal(2)])
          .default(1)
          .describe('Stop bits'),
      })
      .strict()
      .optional()
      .describe('Serial line settings (rtu).'),
    unitId: z.number().int().min(0).max(255).default(1).describe('Modbus unit (slave) id.'),
    baseAddress: z
      .number()
      .int()
      .min(0)
      .max(65536 - MODBUS_RESULT_WORDS)
      .default(0)
      .describe('First holding register of the result block, 0-based protocol address.'),
    timeoutMs: z
      .number()
      .int()
      .min(50)
      .max(60_000)
      .default(1000)
      .describe('Connect and per-request timeout; a timed-out write is retried by the outbox.'),
    reasonCodes: z
      .array(z.string().min(1))
      .max(32)
      .default([])
      .refine((codes) => new Set(codes).size === codes.length, 'reason codes must be unique')
      .describe('Reason code for each bit of the 32-bit reason word: bit i is reasonCodes[i].'),
    wordOrder: Endian.default('big').describe('32-bit values: big = high word first (ABCD), little = low word first (CDAB).'),
    byteOrder: Endian.default('big').describe('Bytes inside a register: big = Modbus standard, little = swapped (BADC).'),
    counters: z
      .object({
        offset: z
          .number()
          .int()
          .min(MODBUS_RESULT_WORDS)
          .max(MAX_FC16_WORDS - 4)
          .describe('Register offset of the good count'),
      })
      .strict()
      .optional()
      .describe('Good count (uint32) at offset, bad count (uint32) at offset+2.'),
    values: z.array(ValueSchema).max(60).default([]).describe('Per-feature values from result.measurements.'),
    heartbeat: z
      .object({
        address: z.number().int().min(0).max(65535).describe('Holding register incremented (uint16, wrapping) every period'),
        periodMs: z.number().int().min(100).max(60_000).default(1000).describe('Heartbeat period'),
      })
      .strict()
      .optional()
      .describe('A PLC-watchdog register written (FC6) independently of results.'),
    backlog: BacklogSchema.default({ max: 10_000, overflow: 'keep' }),
    readBack: z
      .boolean()
      .default(true)
      .describe('After each (re)connect read the block back and skip a result the PLC already holds (exactly once).'),
  })
  .strict()
  .superRefine((o, ctx) => {
    if (o.transport === 'rtu' && o.serial === undefined) ctx.addIssue({ code: 'custom', path: ['serial'], message: 'rtu needs serial.path' });
    const used = new Map<number, string>();
    const claim = (from: number, n: number, what: string, path: (string | number)[]) => {
      for (let r = from; r < from + n; r++) {
        const other = used.get(r);
        if (other !== undefined) ctx.addIssue({ code: 'custom', path, message: `${what} overlaps ${other} at offset ${r}` });
        used.set(r, what);
      }
    };
    if (o.counters) claim(o.counters.offset, 4, 'counters', ['counters', 'offset']);
    o.values.forEach((v, i) => {
      claim(v.offset, registerCount(v.type), `values[${i}]`, ['values', i, 'offset']);
      if (v.offset + registerCount(v.type) > MAX_FC16_WORDS)
        ctx.addIssue({ code: 'custom', path: ['values', i, 'offset'], message: `block exceeds ${MAX_FC16_WORDS} registers (one FC16)` });
    });
    if (o.baseAddress + blockWords(o) > 65536) ctx.addIssue({ code: 'custom', path: ['baseAddress'], message: 'block runs past register 65535' });
  })
  .describe('Modbus client mode: a result block written with one FC16 per result.');

export type ModbusSinkOptions = z.output<typeof schema>;

function blockWords(o: Pick<ModbusSinkOptions, 'counters' | 'values'>): number {
  let n = MODBUS_RESULT_WORDS;
  if (o.counters) n = Math.max(n, o.counters.offset + 4);
  for (const v of o.values) n = Math.max(n, v.offset + registerCount(v.type));
  return n;
}

function encodeHeader(out: number[], result: InspectionResult, reasonBit: ReadonlyMap<string, number>): void {
  let bits = 0;
  for (const reason of result.reasons) {
    const bit = reasonBit.get(reason.code);
    if (bit !== undefined) bits = (bits | (1 << bit)) >>> 0;
  }
  const seq = result.sequence >>> 0;
  out[0] = VERDICT_WORD[result.verdict];
  out[1] = bits & 0xffff;
  out[2] = bits >>> 16;
  out[3] = seq >>> 16;
  out[4] = seq & 0xffff;
  out[5] = seq & 1;
}

export class ModbusSink implements ResultSink {
  readonly type = 'modbus';
  readonly durable = true;
  readonly name: string;
  readonly outbox: OutboxSinkOptions;
  /** Results found already at the PLC after a reconnect and not written again. */
  skippedDuplicates = 0;
  good = 0;
  bad = 0;
  private readonly options: ModbusSinkOptions;
  private readonly endpoint: string;
  private readonly reasonBit: ReadonlyMap<string, number>;
  private readonly order: RegisterOrder;
  private readonly words: number;
  private readonly ctx: AdapterContext;
  private client: ModbusClient | null = null;
  /** Shared by concurrent callers so two deliveries never open two sockets. */
  private connecting: Promise<ModbusClient> | null = null;
  /** Set on each new connection: the next delivery reads the block back first. */
  private verifyNext = false;
  /** One request at a time: RTU cannot interleave, and the heartbeat must not split a result write. */
  private queue: Promise<unknown> = Promise.resolve();
  private heartbeatTimer: NodeJS.Timeout | null = null;
  private heartbeatValue = 0;
  private closed = false;

  constructor(options: ModbusSinkOptions, ctx: AdapterContext) {
    this.options = options;
    this.name = options.name;
    this.outbox = outboxOptions(options.backlog);
    this.ctx = ctx;
    this.endpoint = options.transport === 'rtu' ? `${options.serial?.path}#${options.unitId}` : `${options.host}:${options.port}`;
    this.reasonBit = new Map(options.reasonCodes.map((code, i) => [code, i]));
    this.order = { wordOrder: options.wordOrder, byteOrder: options.byteOrder };
    this.words = blockWords(options);
    this.beat = this.beat.bind(this);
  }

  /** Connects lazily on the first delivery, so a PLC that is down at boot does not stop the station. */
  async open(): Promise<void> {
    if (this.options.heartbeat) {
      // eslint-disable-next-line @typescript-eslint/unbound-method -- bound in the constructor
      this.heartbeatTimer = setInterval(this.beat, this.options.heartbeat.periodMs);
      this.heartbeatTimer.unref();
    }
  }

  /** The register values for one result with the given counters (good/bad after this result). */
  encode(result: InspectionResult, good: number, bad: number): number[] {
    const out = new Array<number>(this.words).fill(0);
    encodeHeader(out, result, this.reasonBit);
    if (this.options.counters) {
      encodeValue(out, this.options.counters.offset, 'uint32', good, 1, this.order);
      encodeValue(out, this.options.counters.offset + 2, 'uint32', bad, 1, this.order);
    }
    for (const v of this.options.values) {
      const m = result.measurements[v.measurement];
      encodeValue(out, v.offset, v.type, m === undefined ? v.missing : m, m === undefined ? 1 : v.scale, this.order);
    }
    return out;
  }

  async deliver(result: InspectionResult): Promise<void> {
    const client = await this.connect();
    const ok = result.verdict === 'OK';
    try {
      await this.serial(async () => {
        if (this.verifyNext && this.options.readBack) {
          const held = (await client.readHoldingRegisters(this.options.baseAddress, this.words)).data;
          this.verifyNext = false;
          if (this.adoptPlcState(held, result)) return;
        }
        this.verifyNext = false;
        const good = this.good + (ok ? 1 : 0);
        const bad = this.bad + (ok ? 0 : 1);
        await client.writeRegisters(this.options.baseAddress, this.encode(result, good, bad));
        this.good = good;
        this.bad = bad;
      });
    } catch (err) {
      // The socket may be half-dead (timeout, reset): start clean (and read back) on the next attempt.
      this.disconnect();
      throw new LinesightError(
        'LS_ERR_PLC_WRITE_FAILED',
        `cannot write result ${result.sequence} to ${this.endpoint}`,
        { endpoint: this.endpoint, address: this.options.baseAddress, unitId: this.options.unitId, sequence: result.sequence },
        { cause: err },
      );
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.heartbeatTimer) clearInterval(this.heartbeatTimer);
    this.heartbeatTimer = null;
    // A connect in progress would otherwise install its socket after we drop ours.
    await this.connecting?.catch(() => {});
    await this.queue.catch(() => {});
    this.disconnect();
  }

  /**
   * Takes the counters from the block the PLC holds and tells whether that block is already this result's
   * (then the write is skipped). A zero sequence means a blank PLC: counters continue from memory.
   */
  private adoptPlcState(held: readonly number[], result: InspectionResult): boolean {
    const heldSeq = held[3]! * 0x10000 + held[4]!;
    if (heldSeq === 0) return false;
    if (this.options.counters) {
      this.good = decodeValue(held, this.options.counters.offset, 'uint32', this.order);
      this.bad = decodeValue(held, this.options.counters.offset + 2, 'uint32', this.order);
    }
    if (heldSeq !== result.sequence) return false;
    const expected = this.encode(result, this.good, this.bad);
    for (let i = 0; i < this.words; i++) if (expected[i] !== held[i]) return false;
    this.skippedDuplicates++;
    this.ctx.log.info({ sink: this.name, sequence: result.sequence }, 'PLC already holds this result; not written twice');
    return true;
  }

  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.queue.then(fn, fn);
    this.queue = run.catch(() => {});
    return run;
  }

  private beat(): void {
    const hb = this.options.heartbeat;
    if (!hb || this.closed) return;
    this.heartbeatValue = (this.heartbeatValue + 1) & 0xffff;
    const value = this.heartbeatValue;
    this.connect()
      .then((client) => this.serial(() => client.writeRegister(hb.address, value)))
      .catch((err: unknown) => {
        if (this.ctx.log.isLevelEnabled('debug')) this.ctx.log.debug({ err, sink: this.name }, 'heartbeat write failed');
      });
  }

  private connect(): Promise<ModbusClient> {
    if (this.client?.isOpen) return Promise.resolve(this.client);
    this.connecting ??= this.openClient().finally(() => {
      this.connecting = null;
    });
    return this.connecting;
  }

  private async openClient(): Promise<ModbusClient> {
    this.disconnect();
    const client = new ModbusRTU();
    // modbus-serial re-emits port errors; unhandled, an 'error' event would crash the daemon.
    client.on('error', (err) => this.ctx.log.warn({ err, sink: this.name, endpoint: this.endpoint }, 'modbus client error'));
    client.setID(this.options.unitId);
    client.setTimeout(this.options.timeoutMs);
    try {
      const s = this.options.serial;
      if (this.options.transport === 'rtu' && s) {
        await client.connectRTUBuffered(s.path, { baudRate: s.baudRate, parity: s.parity, dataBits: s.dataBits, stopBits: s.stopBits });
      } else {
        await client.connectTCP(this.options.host, { port: this.options.port });
      }
    } catch (err) {
      client.destroy(() => {});
      throw new LinesightError(
        'LS_ERR_PLC_CONNECT_FAILED',
        `cannot connect to PLC at ${this.endpoint}`,
        { endpoint: this.endpoint, address: this.options.baseAddress, unitId: this.options.unitId },
        { cause: err },
      );
    }
    if (this.closed) {
      client.destroy(() => {});
      throw new LinesightError('LS_ERR_PLC_CONNECT_FAILED', 'sink closed while connecting', { endpoint: this.endpoint });
    }
    this.client = client;
    this.verifyNext = true;
    this.ctx.log.info({ sink: this.name, endpoint: this.endpoint }, 'connected to PLC');
    return client;
  }

  private disconnect(): void {
    const client = this.client;
    this.client = null;
    // destroy, not close: close waits for a FIN handshake a dead peer never completes.
    client?.destroy(() => {});
  }
}

export default defineAdapter({
  kind: 'sink',
  type: 'modbus',
  schema,
  create(options, ctx): ResultSink {
    return new ModbusSink(options, ctx);
  },
});
