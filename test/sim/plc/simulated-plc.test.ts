import { once } from 'node:events';
import { connect } from 'node:net';
import ModbusSerial from 'modbus-serial';
import { afterEach, describe, expect, it } from 'vitest';
import { isLinesightError, type LinesightError } from '../../../runtime/errors.ts';
import { SimulatedPlc, type PlcWrite } from '../../../sim/plc/simulated-plc.ts';
import { withDeadline } from '../../helpers/wait.ts';

const ModbusRTU = ModbusSerial.default;
type Client = InstanceType<typeof ModbusRTU>;

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function startPlc(): Promise<SimulatedPlc> {
  const plc = new SimulatedPlc({ registers: 2000 });
  await plc.start();
  cleanups.push(() => plc.stop());
  return plc;
}

async function client(plc: SimulatedPlc): Promise<Client> {
  const c = new ModbusRTU();
  c.on('error', () => {});
  c.setTimeout(2000);
  await c.connectTCP(plc.host, { port: plc.port });
  c.setID(1);
  cleanups.push(() => new Promise<void>((resolve) => c.destroy(() => resolve())));
  return c;
}

describe('SimulatedPlc', () => {
  it('picks a free port, applies FC16 writes to its table and reports them', async () => {
    const plc = await startPlc();
    expect(plc.port).toBeGreaterThan(0);
    const writes: PlcWrite[] = [];
    plc.onWrite((w) => writes.push(w));
    const c = await client(plc);
    await c.writeRegisters(100, [1, 2, 3]);
    expect(plc.readHoldingRegisters(99, 5)).toEqual([0, 1, 2, 3, 0]);
    expect(writes).toEqual([{ address: 100, values: [1, 2, 3], unitId: 1 }]);
    const read = await c.readHoldingRegisters(100, 3);
    expect(read.data).toEqual([1, 2, 3]);
  });

  it('answers writes outside its table with a Modbus exception and changes nothing', async () => {
    const plc = await startPlc();
    const c = await client(plc);
    await expect(c.writeRegisters(1998, [7, 7, 7])).rejects.toMatchObject({ modbusCode: 2 });
    expect(plc.readHoldingRegisters(1998, 2)).toEqual([0, 0]);
    expect(plc.writeCount).toBe(0);
  });

  it('keeps serving after a client vanishes before its answer', async () => {
    const plc = await startPlc();
    const applied = once(plc, 'write');
    const raw = connect(plc.port, plc.host);
    await withDeadline(once(raw, 'connect'), 5000, 'the raw socket to connect');
    // FC16: one register at address 7 = 0x0101, then the client is gone before the PLC can answer.
    raw.write(Buffer.from([0, 1, 0, 0, 0, 9, 1, 16, 0, 7, 0, 1, 2, 1, 1]));
    raw.destroy(); // FIN after the request: TCP still delivers the request, the answer finds no one
    const [write] = await withDeadline(applied, 5000, 'the PLC to apply the FC16 of a vanished client');
    expect(write).toEqual({ address: 7, values: [0x0101], unitId: 1 });
    const c = await client(plc);
    await c.writeRegisters(5, [42]);
    expect(plc.readHoldingRegisters(5, 3)).toEqual([42, 0, 0x0101]);
  });

  it('releases its port on stop so it restarts on the same port with its registers intact', async () => {
    const plc = await startPlc();
    const port = plc.port;
    const first = await client(plc);
    await first.writeRegisters(10, [11, 12]);
    await plc.stop();
    expect(plc.running).toBe(false);
    await plc.start();
    expect(plc.port).toBe(port);
    const second = await client(plc);
    expect((await second.readHoldingRegisters(10, 2)).data).toEqual([11, 12]);
    // Restarting twice more shows nothing lingers on the port.
    await plc.stop();
    await plc.start();
    await plc.stop();
    await plc.start();
    expect((await (await client(plc)).readHoldingRegisters(10, 2)).data).toEqual([11, 12]);
  });

  it('refuses a port in use with LS_ERR_PLC_LISTEN_FAILED naming host:port and the cause', async () => {
    const first = await startPlc();
    const second = new SimulatedPlc({ port: first.port });
    const err: unknown = await withDeadline(
      second.start().then(
        () => null,
        (e: unknown) => e,
      ),
      5000,
      'the second start to fail',
    );
    expect(isLinesightError(err, 'LS_ERR_PLC_LISTEN_FAILED')).toBe(true);
    const e = err as LinesightError;
    expect(e.message).toBe(
      `LS_ERR_PLC_LISTEN_FAILED: simulated PLC cannot listen on 127.0.0.1:${first.port}: listen EADDRINUSE: address already in use 127.0.0.1:${first.port}`,
    );
    expect(e.context).toMatchObject({ endpoint: `127.0.0.1:${first.port}`, port: first.port, errno: 'EADDRINUSE' });
    expect(e.cause).toBeInstanceOf(Error);
    expect(second.running).toBe(false);
  });
});
