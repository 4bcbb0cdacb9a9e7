/**
 * Linesight's Modbus server mode polled the way a PLC does: a modbus-serial client on 127.0.0.1 writes the control
 * word and reads the status block. Results come from a real store + outbox; the "station" makes one result per
 * trigger. mbpoll (libmodbus) reads the same map where installed.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type Database from 'better-sqlite3';
import ModbusSerial from 'modbus-serial';
import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import serverAdapter, { STATUS_OFFSET, type ModbusServerSink } from '../../../../adapters/sink/modbus-server/index.ts';
import { CONTROL_BIT, STATUS_BIT } from '../../../../adapters/shared/plc/handshake.ts';
import { decodeAscii, decodeValue, encodeAscii } from '../../../../adapters/shared/plc/registers.ts';
import type { InspectionResult } from '../../../../runtime/results/result.ts';
import { OutboxDispatcher } from '../../../../runtime/store/outbox.ts';
import { ResultStore } from '../../../../runtime/store/sqlite-store.ts';
import { ResultRouter } from '../../../../runtime/results/router.ts';
import { makeResult } from '../../../fakes/make-result.ts';
import { commandRuns, requireTool } from '../../../helpers/tools.ts';
import { waitUntil, withDeadline } from '../../../helpers/wait.ts';

const ModbusRTU = ModbusSerial.default;
type Client = InstanceType<typeof ModbusRTU>;
const run = promisify(execFile);
const mbpoll = await requireTool('mbpoll', commandRuns('mbpoll', ['-V']), 'apt-get install mbpoll');

const EN = 1 << CONTROL_BIT.triggerEnable;
const TRIG = 1 << CONTROL_BIT.trigger;
const ACK = 1 << CONTROL_BIT.resultsAck;
const PART = 1 << CONTROL_BIT.setPartId;
const S = 1000;
const log = pino({ level: 'silent' });

let dir: string;
const cleanups: (() => unknown)[] = [];
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'ls-mbserver-'));
});
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
  rmSync(dir, { recursive: true, force: true });
});

async function setup(options: Record<string, unknown> = {}, file = join(dir, 'results.db')) {
  const sink = serverAdapter.create(
    serverAdapter.schema.parse({
      type: 'modbus-server',
      port: 0,
      values: [{ measurement: 'surface-anomaly.score' }],
      reasonCodes: ['SCRATCH'],
      ...options,
    }),
    { log, configDir: dir, line: 'line-1', station: 'st-10' },
  ) as ModbusServerSink;
  const store = new ResultStore(file);
  const dispatcher = new OutboxDispatcher({ store, sink, initialBackoffMs: 5, maxBackoffMs: 50 });
  const produced: InspectionResult[] = [];
  sink.triggers.bindTrigger({
    name: 'st-10',
    // The station: each accepted PLC trigger yields one stored result, in order.
    trigger: ({ partId, onDecided }) => {
      setImmediate(() => {
        const r = store.append(makeResult({ verdict: produced.length % 3 === 2 ? 'NOK' : 'OK', partId }), [sink.name]);
        produced.push(r);
        onDecided?.(r);
        dispatcher.notify();
      });
      return { accepted: true };
    },
  });
  await sink.open();
  dispatcher.start();
  const client: Client = new ModbusRTU();
  await client.connectTCP('127.0.0.1', { port: sink.port });
  client.setID(1);
  client.setTimeout(1000);
  let closed = false;
  const close = async () => {
    if (closed) return;
    closed = true;
    client.destroy(() => {});
    await dispatcher.close();
    await sink.close();
    store.close();
  };
  cleanups.push(close);
  const status = async () => (await client.readHoldingRegisters(S, 40)).data;
  let polled: number[] = [];
  const waitFor = (pred: (st: number[]) => boolean): Promise<number[]> =>
    waitUntil(
      async () => {
        polled = await status();
        return pred(polled) && polled;
      },
      {
        timeoutMs: 5000,
        intervalMs: 2,
        what: `status registers where ${pred.toString()}`,
        detail: () => `last status word 0b${(polled[STATUS_OFFSET.status] ?? 0).toString(2)}, error code ${polled[STATUS_OFFSET.errorCode] ?? '?'}`,
      },
    );
  const drained = () => withDeadline(dispatcher.drained(), 5000, 'the outbox to drain');
  const bitOf = (st: number[], b: keyof typeof STATUS_BIT) => ((st[STATUS_OFFSET.status] ?? 0) >> STATUS_BIT[b]) & 1;
  return { sink, store, dispatcher, client, produced, status, waitFor, drained, bitOf, close };
}

const u32 = (st: number[], off: number) => decodeValue(st, off, 'uint32');

describe('modbus server mode', () => {
  it('runs the full handshake for a PLC-triggered part with a part id, and shows the result map', async () => {
    const { client, waitFor, bitOf, status } = await setup();
    await client.writeRegister(0, EN);
    await waitFor((s) => bitOf(s, 'triggerReady') === 1);
    const part: number[] = new Array(16).fill(0);
    encodeAscii(part, 0, 16, 'SN-4711');
    await client.writeRegisters(1, part);
    await client.writeRegister(0, EN | PART);
    let st = await status();
    expect(bitOf(st, 'setPartIdAck')).toBe(1);
    await client.writeRegister(0, EN | TRIG);
    st = await waitFor((s) => bitOf(s, 'resultsValid') === 1);
    expect(bitOf(st, 'triggerAck')).toBe(1); // Trigger still held by the PLC
    expect(bitOf(st, 'inspectionCompleted')).toBe(1);
    expect(u32(st, STATUS_OFFSET.acquisitionId)).toBe(1);
    expect(u32(st, STATUS_OFFSET.inspectionId)).toBe(1);
    expect(u32(st, STATUS_OFFSET.resultAcquisitionId)).toBe(1);
    expect(u32(st, STATUS_OFFSET.pass)).toBe(1);
    expect(st[STATUS_OFFSET.verdict]).toBe(1);
    expect(decodeAscii(st, STATUS_OFFSET.partId, 16)).toBe('SN-4711');
    expect(decodeValue(st, STATUS_OFFSET.inspectionTimeMs, 'float32')).toBeCloseTo(11.85, 4);
    const values = (await client.readHoldingRegisters(1040, 2)).data;
    expect(decodeValue(values, 0, 'float32')).toBeCloseTo(0.12, 6);
    expect(st[STATUS_OFFSET.controlEcho]).toBe(EN | TRIG);

    await client.writeRegister(0, EN); // drop Trigger
    await client.writeRegister(0, EN | ACK);
    st = await waitFor((s) => bitOf(s, 'resultsValid') === 0);
    expect([bitOf(st, 'triggerAck'), bitOf(st, 'busy'), bitOf(st, 'triggerReady')]).toEqual([0, 0, 1]);
    expect(st[STATUS_OFFSET.waiting]).toBe(0);
  });

  it('buffers results until acknowledged, counts triggers on a full buffer as missed and releases them in order', async () => {
    const { client, waitFor, bitOf, drained, produced, sink } = await setup({ handshake: { bufferDepth: 3 } });
    await client.writeRegister(0, EN);
    const pulse = async () => {
      await client.writeRegister(0, EN | TRIG);
      await client.writeRegister(0, EN);
    };
    for (let i = 0; i < 3; i++) {
      await pulse();
      await waitFor((s) => bitOf(s, 'busy') === 0 && u32(s, STATUS_OFFSET.acquisitionId) === i + 1);
    }
    await pulse(); // 3 waiting: missed
    let st = await waitFor((s) => u32(s, STATUS_OFFSET.missed) === 1);
    expect(bitOf(st, 'bufferFull')).toBe(1);
    expect(bitOf(st, 'missedTrigger')).toBe(1);
    expect(u32(st, STATUS_OFFSET.acquisitionId)).toBe(3);

    const seen: number[] = [];
    let toggle = bitOf(st, 'inspectionCompleted');
    for (let i = 0; i < 3; i++) {
      st = await waitFor((s) => bitOf(s, 'resultsValid') === 1);
      expect(bitOf(st, 'inspectionCompleted')).toBe(toggle);
      toggle ^= 1;
      seen.push(u32(st, STATUS_OFFSET.inspectionId));
      expect(u32(st, STATUS_OFFSET.resultAcquisitionId)).toBe(u32(st, STATUS_OFFSET.inspectionId));
      await client.writeRegister(0, EN | ACK);
      await waitFor((s) => bitOf(s, 'resultsValid') === 0);
      await client.writeRegister(0, EN);
    }
    expect(seen).toEqual([1, 2, 3]);
    await drained();
    expect(produced.length).toBe(3);
    expect(sink.handshake.counters).toMatchObject({ accepted: 3, missed: 1, missedBufferFull: 1, acked: 3 });
  });

  it('raises the ack-timeout error while the PLC does not acknowledge and clears it on the ack', async () => {
    const { client, waitFor, bitOf } = await setup({ handshake: { ackTimeoutMs: 30 } });
    await client.writeRegister(0, EN | TRIG);
    let st = await waitFor((s) => s[STATUS_OFFSET.errorCode] === 1);
    expect([bitOf(st, 'error'), bitOf(st, 'resultsValid')]).toEqual([1, 1]);
    await client.writeRegister(0, EN | ACK);
    st = await waitFor((s) => bitOf(s, 'resultsValid') === 0);
    expect([bitOf(st, 'error'), st[STATUS_OFFSET.errorCode]]).toEqual([0, 0]);
  });

  it('re-presents an unacknowledged result after a restart and never shows an acknowledged one again', async () => {
    const file = join(dir, 'restart.db');
    const first = await setup({}, file);
    await first.client.writeRegister(0, EN | TRIG);
    await first.waitFor((s) => first.bitOf(s, 'resultsValid') === 1);
    await first.client.writeRegister(0, EN | ACK); // result 1 acknowledged
    await first.client.writeRegister(0, EN);
    await first.client.writeRegister(0, EN | TRIG);
    await first.waitFor((s) => first.bitOf(s, 'resultsValid') === 1 && u32(s, STATUS_OFFSET.inspectionId) === 2);
    await first.close(); // result 2 shown, not acknowledged: stays in the outbox

    const second = await setup({}, file);
    const st = await second.waitFor((s) => second.bitOf(s, 'resultsValid') === 1);
    expect(u32(st, STATUS_OFFSET.inspectionId)).toBe(2);
    expect(u32(st, STATUS_OFFSET.resultAcquisitionId)).toBe(0); // triggered before the restart
    await second.client.writeRegister(0, ACK);
    await second.drained();
    expect(second.store.backlog(second.sink.name).count).toBe(0);
  });

  it('refuses writes outside the control registers and clients outside the allowlist', async () => {
    const { client, sink } = await setup({ allowlist: ['10.0.0.0/8'] }).catch(() => ({ client: null, sink: null }));
    // With the allowlist excluding 127.0.0.1 the connection is dropped at once, so setup's connect may succeed
    // and the first request fail, or the connect itself fail: either way nothing is served.
    expect(
      client === null ||
        (await client.readHoldingRegisters(S, 1).then(
          () => 'served',
          () => 'refused',
        )) === 'refused',
    ).toBe(true);
    if (sink) expect(sink.rejectedClients).toBeGreaterThan(0);
    const open = await setup();
    await expect(open.client.writeRegister(S, 1)).rejects.toMatchObject({ modbusCode: 2 });
  });

  mbpoll.it('mbpoll (libmodbus) reads the status map: acquisition id, inspection id and pass count', async () => {
    const { client, waitFor, bitOf, sink } = await setup();
    for (let i = 0; i < 2; i++) {
      await client.writeRegister(0, EN | TRIG);
      await waitFor((s) => bitOf(s, 'resultsValid') === 1);
      await client.writeRegister(0, EN | ACK);
      await waitFor((s) => bitOf(s, 'resultsValid') === 0);
      await client.writeRegister(0, EN);
    }
    const { stdout } = await run('mbpoll', ['-m', 'tcp', '-p', String(sink.port), '-a', '1', '-r', '1001', '-c', '20', '-1', '127.0.0.1'], {
      timeout: 10_000,
    });
    const regs = new Map([...stdout.matchAll(/\[(\d+)\]:\s+(-?\d+)/g)].map((m) => [Number(m[1]), Number(m[2])]));
    expect(regs.get(1004)).toBe(2); // acquisition id, low word
    expect(regs.get(1006)).toBe(2); // inspection id, low word
    expect(regs.get(1010)).toBe(2); // pass count, low word
  });
  it('a failing result store: the PLC reads error code 3, Trigger Ready low and the part NOK STORE_FAILED; recovery clears them', async () => {
    const sink = serverAdapter.create(
      serverAdapter.schema.parse({ type: 'modbus-server', port: 0, reasonCodes: ['SCRATCH', 'STORE_FAILED'], handshake: { requireAck: false } }),
      { log, configDir: dir, line: 'line-1', station: 'st-10' },
    ) as ModbusServerSink;
    const store = new ResultStore(join(dir, 'results.db'));
    const router = new ResultRouter(store, 'st-10', [sink], log); // store.onFailure: stop-line (default)
    // The station: each accepted PLC trigger yields one OK part, through the router like Station.inspect.
    sink.triggers.bindTrigger({
      name: 'st-10',
      trigger: ({ partId, onDecided }) => {
        setImmediate(() => onDecided?.(router.handle(makeResult({ verdict: 'OK', partId }))));
        return { accepted: true };
      },
    });
    await sink.open();
    router.start();
    const client: Client = new ModbusRTU();
    await client.connectTCP('127.0.0.1', { port: sink.port });
    client.setID(1);
    client.setTimeout(1000);
    cleanups.push(async () => {
      client.destroy(() => {});
      await router.close(1000);
      await sink.close();
      store.close();
    });
    const bit = (st: number[], b: keyof typeof STATUS_BIT) => ((st[STATUS_OFFSET.status] ?? 0) >> STATUS_BIT[b]) & 1;
    const shown = (id: number) =>
      waitUntil(
        async () => {
          const st = (await client.readHoldingRegisters(S, 40)).data;
          return u32(st, STATUS_OFFSET.inspectionId) === id && st;
        },
        { timeoutMs: 5000, what: `inspection id ${id} in the status registers` },
      );
    const pulse = async () => {
      await client.writeRegister(0, EN | TRIG);
      await client.writeRegister(0, EN);
    };
    await client.writeRegister(0, EN);
    await pulse();
    let st = await shown(1);
    expect([st[STATUS_OFFSET.verdict], st[STATUS_OFFSET.errorCode], bit(st, 'triggerReady')]).toEqual([1, 0, 1]);

    (store as unknown as { db: Database.Database }).db.pragma('query_only = ON'); // SQLITE_READONLY from here
    await pulse();
    st = await shown(2);
    expect([st[STATUS_OFFSET.verdict], u32(st, STATUS_OFFSET.reasonBits)]).toEqual([2, 0b10]); // NOK, STORE_FAILED
    expect([bit(st, 'error'), st[STATUS_OFFSET.errorCode], bit(st, 'triggerReady')]).toEqual([1, 3, 0]);

    (store as unknown as { db: Database.Database }).db.pragma('query_only = OFF');
    await pulse(); // the PLC triggers anyway: this part retries the store, which takes it
    st = await shown(3);
    expect([st[STATUS_OFFSET.verdict], u32(st, STATUS_OFFSET.reasonBits)]).toEqual([1, 0]);
    expect([bit(st, 'error'), st[STATUS_OFFSET.errorCode], bit(st, 'triggerReady')]).toEqual([0, 0, 1]);
    expect(store.getBySequence('line-1', 'st-10', 2)?.result.reasons.map((r) => r.code)).toEqual(['STORE_FAILED']);
  });
});
