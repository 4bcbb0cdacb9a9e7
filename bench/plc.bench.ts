/**
 * PLC delivery on loopback (issue #5): decision → register/node applied by the PLC, measured from the moment the
 * router stores the result (ResultRouter.handle: SQLite append + outbox row, as the station calls it) to the
 * moment the PLC server applies the write (the server's write callback, before it answers). One result at a time,
 * so each sample is a full store → outbox → sink → network → PLC trip, not a pipelined throughput figure.
 * Then the replay rate: the PLC is stopped, a backlog builds up in the outbox, the PLC returns, and the outbox
 * drains it in order (results/s from restart to empty).
 */
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pino } from 'pino';
import { SimulatedPlc } from '../sim/plc/simulated-plc.ts';
import modbusSink from '../adapters/sink/modbus/index.ts';
import opcuaSink from '../adapters/sink/opcua/index.ts';
import type { ResultSink } from '../runtime/adapter.ts';
import { ResultRouter } from '../runtime/results/router.ts';
import { ResultStore } from '../runtime/store/sqlite-store.ts';
import { makeResult } from '../test/fakes/make-result.ts';
import { OpcUaTestPlc } from '../test/fakes/opcua-plc.ts';
import { machine, stats, table } from './lib.ts';
import { envInt, scriptArgs } from '../training/script-args.ts';

const USAGE = `usage: npx tsx bench/plc.bench.ts   (or npm run bench -- plc)

Benchmark: PLC delivery latency on loopback (Modbus, OPC UA) and outbox replay rate. No options; sizes from the environment (whole numbers ≥ 1):
  BENCH_PLC_N=3000  Modbus results
  BENCH_PLC_OPCUA_N=1000  OPC UA results
  BENCH_PLC_BACKLOG=5000  backlog replayed`;
scriptArgs(process.argv.slice(2), { usage: USAGE });
const N_MODBUS = envInt('BENCH_PLC_N', 3000, 1, 1e9);
const N_OPCUA = envInt('BENCH_PLC_OPCUA_N', 1000, 1, 1e9);
const BACKLOG = envInt('BENCH_PLC_BACKLOG', 5000, 1, 1e9);
const WARMUP = 200;
const log = pino({ level: 'silent' });
// BENCH_PLC_DIR=/dev/shm separates the store's disk latency from the PLC path (see the store columns).
const dir = mkdtempSync(path.join(process.env.BENCH_PLC_DIR ?? tmpdir(), 'ls-bench-plc-'));
const ctx = { log, configDir: dir, line: 'bench', station: 'st' };

interface Harness {
  readonly router: ResultRouter;
  readonly sink: ResultSink;
  /** Resolves when the PLC applied the result with this sequence. */
  applied(seq: number): Promise<void>;
  stopPlc(): Promise<void>;
  startPlc(): Promise<void>;
  close(): Promise<void>;
}

interface Latency {
  /** Decision → applied by the PLC. */
  readonly total: number[];
  /** The SQLite append + outbox row alone (the station's "store" stage). */
  readonly store: number[];
  /** Append done → applied by the PLC: outbox, sink, network, PLC. */
  readonly plc: number[];
}

async function latency(h: Harness, n: number): Promise<Latency> {
  const samples: Latency = { total: [], store: [], plc: [] };
  for (let i = 0; i < n + WARMUP; i++) {
    const r = makeResult({ station: 'st', line: 'bench', verdict: i % 7 === 0 ? 'NOK' : 'OK' });
    const seqApplied = h.applied(i + 1);
    // The sink must have its answer (and the outbox its row marked) before the next part, as on a line where
    // parts are milliseconds apart; otherwise the next sample would include the previous answer's trip.
    const delivered = once(h.router.dispatchers[0]!, 'delivered');
    const t0 = performance.now();
    h.router.handle(r);
    const t1 = performance.now();
    await seqApplied;
    const t2 = performance.now();
    if (i >= WARMUP) {
      samples.total.push(t2 - t0);
      samples.store.push(t1 - t0);
      samples.plc.push(t2 - t1);
    }
    await delivered;
  }
  return samples;
}

async function replay(h: Harness, backlog: number): Promise<{ rate: number; ms: number }> {
  await h.router.dispatchers[0]!.drained();
  await h.stopPlc();
  const base = h.router.dispatchers[0]!.backlog().count;
  const first = makeResult({ station: 'st', line: 'bench' });
  h.router.handle(first);
  await new Promise((r) => h.router.dispatchers[0]!.once('failed', r));
  for (let i = 1; i < backlog; i++) h.router.handle(makeResult({ station: 'st', line: 'bench' }));
  const last = first.sequence + backlog - 1;
  const done = h.applied(last);
  const t0 = performance.now();
  await h.startPlc();
  await done;
  await h.router.dispatchers[0]!.drained();
  const ms = performance.now() - t0;
  if (base !== 0) throw new Error('backlog was not empty before the outage');
  return { rate: (backlog / ms) * 1000, ms };
}

async function modbusHarness(): Promise<Harness> {
  const plc = new SimulatedPlc();
  await plc.start();
  const waiters = new Map<number, () => void>();
  plc.onWrite((w) => {
    const seq = w.values[3]! * 0x10000 + w.values[4]!;
    waiters.get(seq)?.();
    waiters.delete(seq);
  });
  const sink = modbusSink.create(
    modbusSink.schema.parse({
      type: 'modbus',
      port: plc.port,
      baseAddress: 1000,
      reasonCodes: ['SCRATCH'],
      counters: { offset: 6 },
      values: [
        { measurement: 'surface-anomaly.score', offset: 10, type: 'float32' },
        { measurement: 'surface-anomaly.score', offset: 12, type: 'int16', scale: 1000 },
      ],
    }),
    ctx,
  );
  return harness(
    path.join(dir, 'modbus.db'),
    sink,
    waiters,
    () => plc.stop(),
    () => plc.start(),
  );
}

/**
 * A Modbus TCP responder that applies and answers FC16 at once, as a PLC's communication processor does, unlike
 * modbus-serial's ServerTCP, which parses every request in a setTimeout(0) (≥ 1 ms in Node).
 */
async function immediateModbusHarness(): Promise<Harness> {
  const waiters = new Map<number, () => void>();
  let server: Server | null = null;
  let port = 0;
  const sockets = new Set<Socket>();
  const start = async () => {
    server = createServer((sock) => {
      sockets.add(sock);
      sock.on('close', () => sockets.delete(sock));
      sock.setNoDelay(true);
      sock.on('error', () => {});
      sock.on('data', (b: Buffer) => {
        // One request per packet on loopback with one request in flight: enough for a benchmark responder.
        const fc = b[7];
        if (fc === 16) {
          const seq = b.readUInt16BE(13 + 6) * 0x10000 + b.readUInt16BE(13 + 8);
          waiters.get(seq)?.();
          waiters.delete(seq);
          const out = Buffer.alloc(12);
          b.copy(out, 0, 0, 12);
          out.writeUInt16BE(6, 4);
          sock.write(out);
        } else if (fc === 3) {
          const n = b.readUInt16BE(10);
          const out = Buffer.alloc(9 + 2 * n);
          b.copy(out, 0, 0, 8);
          out.writeUInt16BE(3 + 2 * n, 4);
          out[8] = 2 * n;
          sock.write(out);
        }
      });
    });
    server.listen(port, '127.0.0.1');
    await once(server, 'listening');
    port = (server.address() as AddressInfo).port;
  };
  const stop = async () => {
    for (const s of sockets) s.destroy();
    await new Promise((r) => (server ? server.close(r) : r(null)));
    server = null;
  };
  await start();
  const sink = modbusSink.create(modbusSink.schema.parse({ type: 'modbus', port, baseAddress: 1000, reasonCodes: ['SCRATCH'] }), ctx);
  return harness(path.join(dir, 'modbus-immediate.db'), sink, waiters, stop, start);
}

async function opcuaHarness(): Promise<Harness> {
  const plc = new OpcUaTestPlc([
    { name: 'Sequence', dataType: 'UInt32', value: 0 },
    { name: 'Ok', dataType: 'Boolean', value: false },
    { name: 'Score', dataType: 'Float', value: 0 },
    { name: 'Reasons', dataType: 'String', value: [], array: true },
  ]);
  await plc.start();
  const waiters = new Map<number, () => void>();
  plc.onWrite((name, value) => {
    if (name !== 'Reasons') return; // last node of the Write: the whole result is applied
    const seq = plc.memory.get('Sequence') as number;
    waiters.get(seq)?.();
    waiters.delete(seq);
    void value;
  });
  const sink = opcuaSink.create(
    opcuaSink.schema.parse({
      type: 'opcua',
      endpoint: plc.endpoint,
      timeoutMs: 2000,
      breaker: { failureThreshold: 3, initialBackoffMs: 20, maxBackoffMs: 200 },
      nodes: [
        { nodeId: plc.nodeId('Sequence'), source: 'sequence', dataType: 'UInt32' },
        { nodeId: plc.nodeId('Ok'), source: 'verdict', dataType: 'Boolean' },
        { nodeId: plc.nodeId('Score'), source: 'measurement', measurement: 'surface-anomaly.score', dataType: 'Float' },
        { nodeId: plc.nodeId('Reasons'), source: 'reasons', dataType: 'String', array: true },
      ],
    }),
    ctx,
  );
  return harness(
    path.join(dir, 'opcua.db'),
    sink,
    waiters,
    () => plc.stop(),
    () => plc.start(),
  );
}

async function harness(
  file: string,
  sink: ResultSink,
  waiters: Map<number, () => void>,
  stopPlc: () => Promise<void>,
  startPlc: () => Promise<void>,
): Promise<Harness> {
  const store = new ResultStore(file);
  await sink.open();
  const router = new ResultRouter(store, 'st', [sink], log);
  // Same backoff bounds as production defaults would cap at; short so the replay starts soon after the restart.
  router.start();
  return {
    router,
    sink,
    applied: (seq) => new Promise<void>((resolve) => waiters.set(seq, resolve)),
    stopPlc,
    startPlc,
    close: async () => {
      await router.close(2000);
      await sink.close();
      await stopPlc();
      store.close();
    },
  };
}

const mb = await modbusHarness();
const mbLat = await latency(mb, N_MODBUS);
const mbReplay = await replay(mb, BACKLOG);
await mb.close();

const fast = await immediateModbusHarness();
const fastLat = await latency(fast, N_MODBUS);
const fastReplay = await replay(fast, BACKLOG);
await fast.close();

const ua = await opcuaHarness();
const uaLat = await latency(ua, N_OPCUA);
const uaReplay = await replay(ua, Math.min(BACKLOG, 2000));
await ua.close();

const row = (name: string, l: Latency) => {
  const t = stats(l.total);
  const st = stats(l.store);
  const p = stats(l.plc);
  return [name, t.n, t.p50, t.p99, st.p50, st.p99, p.p50, p.p99];
};
rmSync(dir, { recursive: true, force: true });

process.stdout.write(`PLC delivery benchmark — ${machine()}, loopback, one result in flight\n`);
process.stdout.write(
  table(
    'Decision → value applied by the PLC (ms): total = store (SQLite append + outbox row) + PLC leg (outbox → sink → loopback → PLC applies)',
    ['path', 'n', 'total p50', 'total p99', 'store p50', 'store p99', 'PLC leg p50', 'PLC leg p99'],
    [
      row('Modbus FC16, 15 regs → modbus-serial ServerTCP', mbLat),
      row('Modbus FC16, 6 regs → immediate responder', fastLat),
      row('OPC UA Write, 4 typed nodes, None → node-opcua', uaLat),
    ],
  ),
);
process.stdout.write(
  table(
    'Outbox replay after an outage (PLC stopped, backlog built, PLC restarted)',
    ['sink', 'backlog', 'drained in ms', 'results/s'],
    [
      ['modbus (ServerTCP)', BACKLOG, mbReplay.ms, mbReplay.rate],
      ['modbus (immediate responder)', BACKLOG, fastReplay.ms, fastReplay.rate],
      ['opcua', Math.min(BACKLOG, 2000), uaReplay.ms, uaReplay.rate],
    ],
  ),
);
process.stdout.write(
  table(
    'Targets (issue #5)',
    ['target', 'measured', 'met'],
    [
      [
        'decision → Modbus register p99 ≤ 2 ms (ServerTCP PLC)',
        `${stats(mbLat.total).p99.toFixed(3)} ms`,
        stats(mbLat.total).p99 <= 2 ? 'yes' : 'NO',
      ],
      [
        'decision → Modbus register p99 ≤ 2 ms (immediate PLC)',
        `${stats(fastLat.total).p99.toFixed(3)} ms`,
        stats(fastLat.total).p99 <= 2 ? 'yes' : 'NO',
      ],
    ],
  ),
);
process.stdout.write('\n');
