import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SimulatedPlc, type PlcWrite } from '../../../../sim/plc/simulated-plc.ts';
import modbusAdapter, { MODBUS_RESULT_WORDS } from '../../../../adapters/sink/modbus/index.ts';
import type { ResultSink } from '../../../../runtime/adapter.ts';
import { isLinesightError } from '../../../../runtime/errors.ts';
import type { Reason } from '../../../../runtime/results/result.ts';
import { OutboxDispatcher } from '../../../../runtime/store/outbox.ts';
import { ResultStore } from '../../../../runtime/store/sqlite-store.ts';
import { makeResult } from '../../../fakes/make-result.ts';
import { withDeadline } from '../../../helpers/wait.ts';

const BASE = 1000;
// 32 codes so bit 31 (top of the high word) is exercised.
const REASON_CODES = Array.from({ length: 32 }, (_, i) => `R${i}`);
REASON_CODES[0] = 'SCRATCH';
REASON_CODES[17] = 'DENT';
REASON_CODES[31] = 'INSPECTION_ERROR';

const reason = (code: string): Reason => ({ code, source: 'test', detail: code });
const ctx = { log: pino({ level: 'silent' }), configDir: '.', line: 'line-1', station: 'st-10' };

let dir: string;
const cleanups: (() => unknown)[] = [];

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'ls-modbus-'));
});

afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
  rmSync(dir, { recursive: true, force: true });
});

async function setup() {
  const plc = new SimulatedPlc();
  await plc.start();
  cleanups.push(() => plc.stop());
  const writes: PlcWrite[] = [];
  plc.onWrite((w) => writes.push(w));
  const options = modbusAdapter.schema.parse({
    type: 'modbus',
    port: plc.port,
    baseAddress: BASE,
    timeoutMs: 300,
    reasonCodes: REASON_CODES,
  });
  const sink: ResultSink = modbusAdapter.create(options, ctx);
  await sink.open();
  cleanups.push(() => sink.close());
  const store = new ResultStore(join(dir, 'results.db'));
  cleanups.push(() => store.close());
  const dispatcher = new OutboxDispatcher({ store, sink, initialBackoffMs: 5, maxBackoffMs: 50 });
  cleanups.push(() => dispatcher.close());
  dispatcher.start();
  const append = (verdicts: readonly ('OK' | 'NOK')[]) => {
    for (const v of verdicts) {
      store.append(makeResult({ verdict: v }), [sink.name]);
      dispatcher.notify();
    }
  };
  const drained = () => withDeadline(dispatcher.drained(), 10_000, 'the outbox to drain');
  return { plc, writes, sink, store, dispatcher, append, drained };
}

/** Sequences in arrival order, with immediate re-deliveries (at-least-once) folded. */
function distinctInOrder(writes: readonly PlcWrite[]): number[] {
  const seqs = writes.map((w) => (w.values[3] ?? 0) * 0x10000 + (w.values[4] ?? 0));
  return seqs.filter((s, i) => i === 0 || s !== seqs[i - 1]);
}

describe('modbus sink', () => {
  it('writes the result block with one FC16 per result at the configured base', async () => {
    const { plc, writes, store, dispatcher, drained } = await setup();
    const ok = makeResult({ verdict: 'OK' });
    const nok = makeResult({ verdict: 'NOK', reasons: [reason('SCRATCH'), reason('DENT'), reason('INSPECTION_ERROR'), reason('UNMAPPED')] });
    store.append(ok, ['modbus']);
    store.append(nok, ['modbus']);
    dispatcher.notify();
    await drained();

    expect(writes.map((w) => [w.address, w.values.length])).toEqual([
      [BASE, MODBUS_RESULT_WORDS],
      [BASE, MODBUS_RESULT_WORDS],
    ]);
    expect(writes[0]?.values).toEqual([1, 0, 0, 0, 1, 1]);
    // SCRATCH bit 0 -> low word 0x0001; DENT bit 17 and INSPECTION_ERROR bit 31 -> high word 0x8002.
    expect(plc.readHoldingRegisters(BASE - 1, MODBUS_RESULT_WORDS + 2)).toEqual([0, 2, 0x0001, 0x8002, 0, 2, 0, 0]);
  });

  it('splits a sequence above 65535 into high and low words', async () => {
    const { plc, sink } = await setup();
    const r = makeResult({ verdict: 'OK' });
    r.sequence = 0x12345;
    await sink.deliver(r);
    expect(plc.readHoldingRegisters(BASE, MODBUS_RESULT_WORDS)).toEqual([1, 0, 0, 0x0001, 0x2345, 1]);
  });

  it('fails with LS_ERR_PLC_CONNECT_FAILED and the endpoint when no PLC listens', async () => {
    const { plc, sink } = await setup();
    await plc.stop();
    const r = makeResult();
    r.sequence = 1;
    const err = await sink.deliver(r).then(
      () => null,
      (e: unknown) => e,
    );
    expect(isLinesightError(err, 'LS_ERR_PLC_CONNECT_FAILED')).toBe(true);
    expect((err as { context: object }).context).toMatchObject({ endpoint: `127.0.0.1:${plc.port}`, address: BASE });
  });

  it('keeps results pending through a PLC outage mid-run and drains them in order on restart', async () => {
    const { plc, writes, store, dispatcher, append, drained } = await setup();
    const port = plc.port;
    append(['OK', 'NOK', 'OK']);
    await drained();

    // The PLC goes away right after applying result 5: the sink never hears back, so 5 must be re-delivered.
    let stopping: Promise<void> | null = null;
    plc.onWrite((w) => {
      if (w.values[4] === 5 && stopping === null) stopping = plc.stop();
    });
    const failed = once(dispatcher, 'failed');
    append(['NOK', 'OK', 'OK', 'NOK']);
    await withDeadline(failed, 5000, 'a failed delivery once the PLC stopped after result 5');
    await withDeadline(Promise.resolve(stopping), 5000, 'the PLC to stop');
    append(['OK', 'NOK', 'OK']);
    await withDeadline(once(dispatcher, 'failed'), 5000, 'a failed retry while the PLC is down'); // still down: a retry failed too
    expect(store.backlog('modbus').count).toBe(6); // 5..10
    expect(store.pending('modbus', 1)[0]?.result.sequence).toBe(5);

    await plc.start();
    expect(plc.port).toBe(port);
    await drained();

    expect(store.backlog('modbus').count).toBe(0);
    const seqs = writes.map((w) => w.values[4] ?? 0);
    expect(seqs).toEqual([...seqs].sort((a, b) => a - b)); // never out of order
    expect(distinctInOrder(writes)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]); // nothing lost
    expect(dispatcher.counters.delivered).toBe(10);
    expect(dispatcher.counters.failures).toBeGreaterThanOrEqual(2);
    // Result 10 was OK: verdict 1, no reasons, sequence 10, toggle 0.
    expect(plc.readHoldingRegisters(BASE, MODBUS_RESULT_WORDS)).toEqual([1, 0, 0, 0, 10, 0]);
  });

  it('rejects unknown options and duplicate reason codes', () => {
    expect(modbusAdapter.schema.safeParse({ type: 'modbus', port: 502, colour: 1 }).success).toBe(false);
    expect(modbusAdapter.schema.safeParse({ type: 'modbus', reasonCodes: ['A', 'A'] }).success).toBe(false);
  });
});
