/**
 * Modbus client mode against real servers on 127.0.0.1: the simulated PLC (modbus-serial ServerTCP) and, where
 * Debian's python3-pymodbus is installed, a pymodbus server. The PLC is stopped and restarted while parts flow.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import ModbusSerial from 'modbus-serial';
import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SimulatedPlc } from '../../../../sim/plc/simulated-plc.ts';
import modbusAdapter, { type ModbusSink } from '../../../../adapters/sink/modbus/index.ts';
import { decodeValue } from '../../../../adapters/shared/plc/registers.ts';
import { OutboxDispatcher } from '../../../../runtime/store/outbox.ts';
import { ResultStore } from '../../../../runtime/store/sqlite-store.ts';
import { makeResult } from '../../../fakes/make-result.ts';
import { freePort } from '../../../../runtime/net/free-port.ts';
import { commandRuns, requireTool } from '../../../helpers/tools.ts';
import { retryUntil, sleep, waitUntil, withDeadline } from '../../../helpers/wait.ts';

const PY = '/usr/bin/python3';
const pymodbus = await requireTool(
  'pymodbus',
  commandRuns(PY, ['-c', 'import pymodbus.server, serial, serial_asyncio']),
  'apt-get install python3-pymodbus python3-serial python3-serial-asyncio',
);

const BASE = 2000;
const log = pino({ level: 'silent' });
const MAP = {
  baseAddress: BASE,
  reasonCodes: ['SCRATCH'],
  counters: { offset: 6 },
  values: [
    { measurement: 'surface-anomaly.score', offset: 10, type: 'float32' },
    { measurement: 'surface-anomaly.score', offset: 12, type: 'int16', scale: 1000 },
    { measurement: 'missing.key', offset: 13, type: 'uint32', missing: 70000 },
  ],
};

let dir: string;
const cleanups: (() => unknown)[] = [];
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'ls-mbclient-'));
});
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
  rmSync(dir, { recursive: true, force: true });
});

function makeSink(port: number, over: Record<string, unknown> = {}): ModbusSink {
  const sink = modbusAdapter.create(modbusAdapter.schema.parse({ type: 'modbus', port, timeoutMs: 300, ...MAP, ...over }), {
    log,
    configDir: dir,
    line: 'line-1',
    station: 'st-10',
  }) as ModbusSink;
  cleanups.push(() => sink.close());
  return sink;
}

function outbox(sink: ModbusSink, file = join(dir, 'results.db')) {
  const store = new ResultStore(file);
  const dispatcher = new OutboxDispatcher({ store, sink, initialBackoffMs: 5, maxBackoffMs: 40 });
  cleanups.push(() => store.close());
  cleanups.push(() => dispatcher.close());
  dispatcher.start();
  const append = (verdict: 'OK' | 'NOK') => {
    store.append(makeResult({ verdict }), [sink.name]);
    dispatcher.notify();
  };
  const drained = () => withDeadline(dispatcher.drained(), 15_000, 'the outbox to drain');
  return { store, dispatcher, append, drained };
}

describe('modbus client mode', () => {
  it('writes the configured map: header, good/bad counters, float32, scaled int16 and a missing value, in one FC16', async () => {
    const plc = new SimulatedPlc();
    await plc.start();
    cleanups.push(() => plc.stop());
    const writes: number[] = [];
    plc.onWrite((w) => writes.push(w.values.length));
    const sink = makeSink(plc.port, { wordOrder: 'little' });
    const { drained, append } = outbox(sink);
    append('OK');
    append('NOK');
    await drained();
    const regs = plc.readHoldingRegisters(BASE, 15);
    const order = { wordOrder: 'little', byteOrder: 'big' } as const;
    expect(regs.slice(0, 6)).toEqual([2, 1, 0, 0, 2, 0]);
    expect([decodeValue(regs, 6, 'uint32', order), decodeValue(regs, 8, 'uint32', order)]).toEqual([1, 1]);
    expect(decodeValue(regs, 10, 'float32', order)).toBeCloseTo(0.91, 6);
    expect(decodeValue(regs, 12, 'int16', order)).toBe(910);
    expect(decodeValue(regs, 13, 'uint32', order)).toBe(70000);
    expect(writes).toEqual([15, 15]);
  });

  it('rejects overlapping map entries and rtu without a serial line', () => {
    expect(modbusAdapter.schema.safeParse({ type: 'modbus', values: [{ measurement: 'a', offset: 6 }], counters: { offset: 6 } }).success).toBe(
      false,
    );
    expect(modbusAdapter.schema.safeParse({ type: 'modbus', values: [{ measurement: 'a', offset: 5 }] }).success).toBe(false);
    expect(modbusAdapter.schema.safeParse({ type: 'modbus', transport: 'rtu' }).success).toBe(false);
    expect(modbusAdapter.schema.safeParse({ type: 'modbus', transport: 'rtu', serial: { path: '/dev/ttyUSB0' } }).success).toBe(true);
  });

  it('writes a heartbeat register the PLC can watch', async () => {
    const plc = new SimulatedPlc();
    await plc.start();
    cleanups.push(() => plc.stop());
    const sink = makeSink(plc.port, { heartbeat: { address: 10, periodMs: 100 } });
    await sink.open();
    let off = () => {};
    const beats = new Promise<void>((resolve) => {
      off = plc.onWrite((w) => {
        if (w.address === 10 && (w.values[0] ?? 0) >= 2) resolve();
      });
    });
    await withDeadline(beats, 5000, 'the second heartbeat write to register 10').finally(() => off());
    expect(plc.readHoldingRegisters(10, 1)[0]).toBeGreaterThanOrEqual(2);
  });

  it('PLC stopped and restarted 3 times while parts flow: every sequence reaches the PLC exactly once, in order', async () => {
    const plc = new SimulatedPlc();
    await plc.start();
    cleanups.push(() => plc.stop());
    const seen: number[] = [];
    // Stop the PLC right after it applied these results, before it answers: the nastiest moment (the sink cannot
    // know the write landed). The read-back after reconnecting must find it and not write it twice.
    const stopAfter = new Set([7, 19, 33]);
    let outage: Promise<void> | null = null;
    plc.onWrite((w) => {
      if (w.address !== BASE) return;
      const seq = (w.values[3] ?? 0) * 0x10000 + (w.values[4] ?? 0);
      seen.push(seq);
      if (stopAfter.has(seq) && outage === null) {
        stopAfter.delete(seq);
        outage = plc
          .stop()
          .then(() => sleep(60))
          .then(() => plc.start())
          .then(() => {
            outage = null;
          });
      }
    });
    const sink = makeSink(plc.port);
    const { store, dispatcher, append, drained } = outbox(sink);
    const N = 45;
    for (let i = 0; i < N; i++) {
      append(i % 4 === 3 ? 'NOK' : 'OK');
      await sleep(4); // parts keep coming during the outages
    }
    await waitUntil(() => stopAfter.size === 0 && outage === null, { timeoutMs: 15_000, what: 'the 3 PLC outages to happen and end' });
    await drained();
    expect(seen).toEqual(Array.from({ length: N }, (_, i) => i + 1)); // none lost, none twice, in order
    expect(store.backlog(sink.name).count).toBe(0);
    expect(sink.skippedDuplicates).toBe(3);
    expect(dispatcher.counters.failures).toBeGreaterThanOrEqual(3);
    const regs = plc.readHoldingRegisters(BASE, 10);
    const nok = Math.floor(N / 4);
    expect([decodeValue(regs, 6, 'uint32'), decodeValue(regs, 8, 'uint32')]).toEqual([N - nok, nok]); // counters not doubled
  });

  it('a restarted Linesight resumes from the outbox and continues the counters the PLC holds', async () => {
    const plc = new SimulatedPlc();
    await plc.start();
    cleanups.push(() => plc.stop());
    const file = join(dir, 'resume.db');
    const first = makeSink(plc.port);
    const run1 = outbox(first, file);
    run1.append('OK');
    run1.append('NOK');
    await run1.drained();
    await plc.stop();
    const failed = new Promise((r) => run1.dispatcher.once('failed', r));
    run1.append('OK'); // stays pending: PLC down at shutdown
    await withDeadline(failed, 5000, "the outbox's failed delivery to the stopped PLC");
    await run1.dispatcher.close();
    await first.close();
    run1.store.close();

    await plc.start();
    const second = makeSink(plc.port);
    const run2 = outbox(second, file);
    await run2.drained();
    const regs = plc.readHoldingRegisters(BASE, 10);
    expect(regs[4]).toBe(3);
    expect([decodeValue(regs, 6, 'uint32'), decodeValue(regs, 8, 'uint32')]).toEqual([2, 1]);
  });

  pymodbus.it('writes into a pymodbus server (third-party stack) that reads back the same registers', async () => {
    const port = await freePort();
    const script = `
import asyncio
from pymodbus.server import StartAsyncTcpServer
from pymodbus.datastore import ModbusSequentialDataBlock, ModbusSlaveContext, ModbusServerContext
ctx = ModbusServerContext(slaves=ModbusSlaveContext(hr=ModbusSequentialDataBlock(0, [0]*4000)), single=True)
print("ready", flush=True)
asyncio.run(StartAsyncTcpServer(context=ctx, address=("127.0.0.1", ${port})))
`;
    const py: ChildProcess = spawn(PY, ['-c', script], { stdio: ['ignore', 'pipe', 'pipe'] });
    cleanups.push(() => py.kill('SIGTERM'));
    const ready = new Promise<void>((resolve, reject) => {
      py.stdout?.on('data', (d: Buffer) => d.toString().includes('ready') && resolve());
      py.once('exit', (code) => reject(new Error(`pymodbus server exited ${code}`)));
    });
    await withDeadline(ready, 15_000, 'the pymodbus server to print "ready"');
    const sink = makeSink(port);
    const { drained, append } = outbox(sink);
    // pymodbus prints "ready" before its listener is bound: deliver until it accepts.
    const probe = Object.assign(makeResult({ verdict: 'NOK' }), { sequence: 99 });
    await retryUntil(() => sink.deliver(probe), { timeoutMs: 10_000, intervalMs: 30, what: 'the pymodbus server to accept a write' });
    append('OK');
    append('NOK');
    await drained();
    const client = new ModbusSerial.default();
    await client.connectTCP('127.0.0.1', { port });
    client.setID(1);
    client.setTimeout(2000);
    const regs = (await client.readHoldingRegisters(BASE, 15)).data;
    client.destroy(() => {});
    expect(regs.slice(0, 6)).toEqual([2, 1, 0, 0, 2, 0]);
    expect(decodeValue(regs, 10, 'float32')).toBeCloseTo(0.91, 6);
  });
});
