/**
 * A PLC polling Linesight's Modbus server-mode map (adapters/sink/modbus-server): a modbus-serial client that
 * (re)connects to the port, raises Results Ack when Results Valid rises and drops it when Results Valid falls,
 * as the PLC side of adapters/shared/plc/handshake.ts does. It reconnects on its own when the sink restarts on the
 * same port. `acking = false` holds the ack back (a delivery then stays pending).
 */
import ModbusSerial from 'modbus-serial';
import { CONTROL_BIT, STATUS_BIT } from '../../adapters/shared/plc/handshake.ts';
import { decodeValue } from '../../adapters/shared/plc/registers.ts';
import { STATUS_OFFSET } from '../../adapters/sink/modbus-server/index.ts';
import { sleep, withDeadline } from '../helpers/wait.ts';

const ModbusRTU = ModbusSerial.default;
type ModbusClient = InstanceType<typeof ModbusRTU>;
/** Default statusAddress of the server-mode map. */
const STATUS = 1000;
const bitOf = (st: readonly number[], b: keyof typeof STATUS_BIT) => ((st[STATUS_OFFSET.status] ?? 0) >> STATUS_BIT[b]) & 1;

export class PollingPlc {
  acking = true;
  /** Inspection ids the PLC acknowledged, in order. */
  readonly acked: number[] = [];
  private status: number[] = [];
  private client: ModbusClient | null = null;
  private ackHigh = false;
  private stopped = false;
  private readonly loop: Promise<void>;
  private readonly port: number;

  constructor(port: number) {
    this.port = port;
    this.loop = this.run();
  }

  get resultsValid(): boolean {
    return this.status.length > 0 && bitOf(this.status, 'resultsValid') === 1;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await withDeadline(this.loop, 3000, 'the polling PLC loop to stop');
    this.client?.destroy(() => {});
    this.client = null;
  }

  private async run(): Promise<void> {
    while (!this.stopped) {
      try {
        const c = await this.connected();
        this.status = (await c.readHoldingRegisters(STATUS, 40)).data;
        if (this.resultsValid && !this.ackHigh && this.acking) {
          await c.writeRegister(0, 1 << CONTROL_BIT.resultsAck);
          this.ackHigh = true;
          this.acked.push(decodeValue(this.status, STATUS_OFFSET.inspectionId, 'uint32'));
        } else if (!this.resultsValid && this.ackHigh) {
          await c.writeRegister(0, 0);
          this.ackHigh = false;
        }
      } catch {
        // The sink is closed or restarting: a new server means a fresh control word, so reconnect from scratch.
        this.client?.destroy(() => {});
        this.client = null;
        this.status = [];
        this.ackHigh = false;
      }
      await sleep(5);
    }
  }

  private async connected(): Promise<ModbusClient> {
    if (this.client?.isOpen) return this.client;
    // A new connection is a new server (the sink restarted): its control word is 0, so the ack we held is gone.
    // Without this a restart between two polls (no failed poll seen) left ackHigh set and the re-shown result unacked.
    this.client?.destroy(() => {});
    this.ackHigh = false;
    this.status = [];
    const c = new ModbusRTU();
    c.on('error', () => {});
    c.setTimeout(2000); // generous: on a loaded CI box a poll can take far longer than on a PLC network
    this.client = c;
    await c.connectTCP('127.0.0.1', { port: this.port });
    c.setID(1);
    return c;
  }
}
