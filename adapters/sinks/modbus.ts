/**
 * Modbus TCP sink: writes each result to a PLC's holding registers with ONE FC16 (Write Multiple Registers), so the
 * PLC never sees half a result. Durable: it goes through the outbox and is retried in order until the PLC has it.
 *
 * Register map (holding registers, 0-based from `baseAddress`):
 *
 * | offset | content                                                                              |
 * |--------|--------------------------------------------------------------------------------------|
 * | +0     | verdict: 1 = OK, 2 = NOK (0 = nothing written yet; the sink never writes 0)          |
 * | +1     | reason bits 0..15: bit i set when a reason's code is `reasonCodes[i]`               |
 * | +2     | reason bits 16..31                                                                   |
 * | +3     | sequence, high word (uint32, high word first)                                        |
 * | +4     | sequence, low word                                                                   |
 * | +5     | result-ready toggle: sequence & 1, so it flips on every new result                   |
 *
 * Reason codes missing from `reasonCodes` set no bit (a NOK with a zero reason word means "other reason").
 * The toggle is derived from the sequence rather than kept in memory, so re-delivering a result after a restart
 * (at-least-once) writes identical values and does not fake a new result.
 */
import ModbusSerial from 'modbus-serial';
import { z } from 'zod';
import { defineAdapter, type AdapterContext, type ResultSink } from '../../runtime/adapter.ts';
import { LinesightError } from '../../runtime/errors.ts';
import type { InspectionResult } from '../../runtime/results/result.ts';

/** Registers written per result. */
export const MODBUS_RESULT_WORDS = 6;

const VERDICT_WORD = { OK: 1, NOK: 2 } as const;

// modbus-serial is CommonJS whose typings declare `export default`; `.default` is the client class either way.
const ModbusRTU = ModbusSerial.default;
type ModbusClient = InstanceType<typeof ModbusRTU>;

export const schema = z
  .object({
    type: z.literal('modbus').describe('Write each result to PLC holding registers over Modbus TCP.'),
    name: z.string().min(1).default('modbus').describe('Sink name, unique within the station; keys its outbox.'),
    host: z.string().min(1).default('127.0.0.1').describe('PLC address.'),
    port: z.number().int().min(1).max(65535).default(502).describe('PLC Modbus TCP port.'),
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
  })
  .strict()
  .describe('Modbus TCP result block written with one FC16 per result.');

export type ModbusSinkOptions = z.output<typeof schema>;

/** The register values for one result, in map order. Exported for the simulated PLC demo and tests. */
export function encodeResult(result: InspectionResult, reasonBit: ReadonlyMap<string, number>): number[] {
  let bits = 0;
  for (const reason of result.reasons) {
    const bit = reasonBit.get(reason.code);
    if (bit !== undefined) bits = (bits | (1 << bit)) >>> 0;
  }
  const seq = result.sequence >>> 0;
  return [VERDICT_WORD[result.verdict], bits & 0xffff, bits >>> 16, seq >>> 16, seq & 0xffff, seq & 1];
}

export class ModbusSink implements ResultSink {
  readonly type = 'modbus';
  readonly durable = true;
  readonly name: string;
  private readonly options: ModbusSinkOptions;
  private readonly endpoint: string;
  private readonly reasonBit: ReadonlyMap<string, number>;
  private readonly ctx: AdapterContext;
  private client: ModbusClient | null = null;
  /** Shared by concurrent callers so two deliveries never open two sockets. */
  private connecting: Promise<ModbusClient> | null = null;

  constructor(options: ModbusSinkOptions, ctx: AdapterContext) {
    this.options = options;
    this.name = options.name;
    this.ctx = ctx;
    this.endpoint = `${options.host}:${options.port}`;
    this.reasonBit = new Map(options.reasonCodes.map((code, i) => [code, i]));
  }

  /** Connects lazily on the first delivery, so a PLC that is down at boot does not stop the station. */
  async open(): Promise<void> {}

  async deliver(result: InspectionResult): Promise<void> {
    const client = await this.connect();
    const values = encodeResult(result, this.reasonBit);
    try {
      await client.writeRegisters(this.options.baseAddress, values);
    } catch (err) {
      // The socket may be half-dead (timeout, reset): start clean on the next attempt.
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
    // A connect in progress would otherwise install its socket after we drop ours.
    await this.connecting?.catch(() => {});
    this.disconnect();
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
      await client.connectTCP(this.options.host, { port: this.options.port });
    } catch (err) {
      client.destroy(() => {});
      throw new LinesightError(
        'LS_ERR_PLC_CONNECT_FAILED',
        `cannot connect to PLC at ${this.endpoint}`,
        { endpoint: this.endpoint, address: this.options.baseAddress, unitId: this.options.unitId },
        { cause: err },
      );
    }
    this.client = client;
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
