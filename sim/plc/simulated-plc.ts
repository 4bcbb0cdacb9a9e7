/**
 * An embedded simulated PLC for the demo line and tests: a Modbus TCP server on 127.0.0.1 over a table of holding
 * registers. The table outlives stop/start, as a real PLC's memory outlives a network outage.
 */
import { EventEmitter } from 'node:events';
import { ServerTCP } from 'modbus-serial';
import { LinesightError } from '../../runtime/errors.ts';
import { freePort } from '../../runtime/net/free-port.ts';

export interface SimulatedPlcOptions {
  readonly host?: string;
  /** TCP port; 0 or absent picks a free one at the first start and keeps it for later restarts. */
  readonly port?: number;
  /** Number of holding registers, addresses 0..registers-1. */
  readonly registers?: number;
  /** Unit id answered; 255 answers any. */
  readonly unitId?: number;
}

/** One write request as the PLC applied it. */
export interface PlcWrite {
  readonly address: number;
  readonly values: readonly number[];
  readonly unitId: number;
}

export interface SimulatedPlcEvents {
  write: [PlcWrite];
  /** A client socket failed (reset, abrupt close); the server keeps serving others. */
  clientError: [Error];
}

/** modbus-serial answers a thrown error carrying `modbusErrorCode` with that Modbus exception code. */
function modbusException(code: number, message: string): Error {
  return Object.assign(new Error(message), { modbusErrorCode: code });
}

export class SimulatedPlc extends EventEmitter<SimulatedPlcEvents> {
  readonly host: string;
  private readonly unitId: number;
  private readonly table: Uint16Array;
  private requestedPort: number;
  private server: ServerTCP | null = null;
  /** Writes applied since construction, across restarts. */
  writeCount = 0;

  constructor(options: SimulatedPlcOptions = {}) {
    super();
    this.host = options.host ?? '127.0.0.1';
    this.requestedPort = options.port ?? 0;
    this.unitId = options.unitId ?? 255;
    this.table = new Uint16Array(options.registers ?? 10_000);
  }

  /** The port served (or to be served after a restart); 0 before the first start when none was given. */
  get port(): number {
    return this.requestedPort;
  }

  get running(): boolean {
    return this.server !== null;
  }

  get endpoint(): string {
    return `${this.host}:${this.requestedPort}`;
  }

  async start(): Promise<void> {
    if (this.server !== null) return;
    // ServerTCP treats port 0 as "use 502", so find a free port ourselves.
    if (this.requestedPort === 0) this.requestedPort = await freePort(this.host);
    const server = new ServerTCP(
      {
        // Three-argument (synchronous) forms: modbus-serial picks the calling convention by function arity.
        getHoldingRegister: (addr: number) => this.read(addr, 1)[0],
        getMultipleHoldingRegisters: (addr: number, length: number) => this.read(addr, length),
        setRegister: (addr: number, value: number, unitId: number) => this.write(addr, [value], unitId),
        setRegisterArray: (addr: number, values: number[], unitId: number) => this.write(addr, values, unitId),
      },
      { host: this.host, port: this.requestedPort, unitID: this.unitId },
    );
    // Without listeners these would be lost or, for 'error', crash the process on a client hiccup.
    server.on('socketError', (err) => this.emit('clientError', asError(err)));
    server.on('error', (err) => this.emit('clientError', asError(err)));
    await new Promise<void>((resolve, reject) => {
      server.once('initialized', () => resolve());
      server.once('serverError', (err) => {
        const cause = asError(err);
        reject(
          new LinesightError(
            'LS_ERR_PLC_LISTEN_FAILED',
            `simulated PLC cannot listen on ${this.endpoint}: ${cause.message}`,
            { endpoint: this.endpoint, host: this.host, port: this.requestedPort, errno: (cause as NodeJS.ErrnoException).code },
            { cause },
          ),
        );
      });
    });
    this.server = server;
  }

  /** Closes the listener and every client socket; resolves once the port is free to listen on again. */
  async stop(): Promise<void> {
    const server = this.server;
    if (server === null) return;
    this.server = null;
    // ServerTCP.close destroys the client sockets right after net.Server.close, whose callback waits for them.
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  readHoldingRegisters(address: number, count: number): number[] {
    return this.read(address, count);
  }

  /** Sets registers directly, as PLC logic would (e.g. a handshake word). Does not emit `write`. */
  setHoldingRegisters(address: number, values: readonly number[]): void {
    this.check(address, values.length);
    for (let i = 0; i < values.length; i++) this.table[address + i] = values[i]!;
  }

  /** Calls `listener` for every write a client makes; returns a function that removes it. */
  onWrite(listener: (write: PlcWrite) => void): () => void {
    this.on('write', listener);
    return () => this.off('write', listener);
  }

  private read(address: number, count: number): number[] {
    this.check(address, count);
    return Array.from(this.table.subarray(address, address + count));
  }

  private write(address: number, values: readonly number[], unitId: number): void {
    // A request parsed just before stop() still reaches here; a stopped PLC must not change state.
    if (this.server === null) throw modbusException(0x04, 'PLC stopped'); // slave device failure
    this.check(address, values.length);
    for (let i = 0; i < values.length; i++) this.table[address + i] = values[i]!;
    this.writeCount++;
    this.emit('write', { address, values: [...values], unitId });
  }

  private check(address: number, count: number): void {
    if (!Number.isInteger(address) || address < 0 || count < 1 || address + count > this.table.length) {
      throw modbusException(0x02, `illegal data address ${address}+${count}`);
    }
  }
}

function asError(err: unknown): Error {
  return err instanceof Error ? err : new Error(String(err));
}
