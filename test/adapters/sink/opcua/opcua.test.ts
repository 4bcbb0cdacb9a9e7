/**
 * OPC UA client sink against a node-opcua server playing the PLC on 127.0.0.1 (one shared server, SecurityMode
 * None; one SignAndEncrypt + user login server in its own test).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import opcuaAdapter, { type OpcUaSink } from '../../../../adapters/sink/opcua/index.ts';
import { isLinesightError } from '../../../../runtime/errors.ts';
import type { InspectionResult } from '../../../../runtime/results/result.ts';
import type { StationHealthView } from '../../../../runtime/pipeline/station-health.ts';
import { OutboxDispatcher } from '../../../../runtime/store/outbox.ts';
import { ResultStore } from '../../../../runtime/store/sqlite-store.ts';
import { makeResult } from '../../../fakes/make-result.ts';
import { OpcUaTestPlc } from '../../../fakes/opcua-plc.ts';
import { retryUntil, sleep, waitUntil, withDeadline } from '../../../helpers/wait.ts';

const plc = new OpcUaTestPlc([
  { name: 'Sequence', dataType: 'UInt32', value: 0 },
  { name: 'Ok', dataType: 'Boolean', value: false },
  { name: 'Verdict', dataType: 'Int16', value: 0 },
  { name: 'Reasons', dataType: 'String', value: [], array: true },
  { name: 'ReasonBits', dataType: 'Int32', value: 0 },
  { name: 'Score', dataType: 'Float', value: 0 },
  { name: 'Scores', dataType: 'Double', value: [], array: true },
  { name: 'PartId', dataType: 'String', value: '' },
  { name: 'Json', dataType: 'String', value: '' },
  { name: 'Good', dataType: 'UInt32', value: 0 },
  { name: 'Bad', dataType: 'UInt32', value: 0 },
  // Handshake
  { name: 'TriggerEnable', dataType: 'Boolean', value: false },
  { name: 'Trigger', dataType: 'Boolean', value: false },
  { name: 'ResultsAck', dataType: 'Boolean', value: false },
  { name: 'NextPartId', dataType: 'String', value: '' },
  { name: 'StatusWord', dataType: 'UInt16', value: 0 },
  { name: 'ResultsValid', dataType: 'Boolean', value: false },
  { name: 'Busy', dataType: 'Boolean', value: false },
  { name: 'InspectionId', dataType: 'UInt32', value: 0 },
  { name: 'AcquisitionId', dataType: 'UInt32', value: 0 },
]);
const id = (n: string) => plc.nodeId(n);

const RESULT_NODES = [
  { nodeId: id('Sequence'), source: 'sequence', dataType: 'UInt32' },
  { nodeId: id('Ok'), source: 'verdict', dataType: 'Boolean' },
  { nodeId: id('Verdict'), source: 'verdict', dataType: 'Int16' },
  { nodeId: id('Reasons'), source: 'reasons', dataType: 'String', array: true },
  { nodeId: id('ReasonBits'), source: 'reason-bits', dataType: 'Int32' },
  { nodeId: id('Score'), source: 'measurement', measurement: 'surface-anomaly.score', dataType: 'Float' },
  { nodeId: id('Scores'), source: 'measurements', measurements: ['surface-anomaly.score', 'nope'], missing: -1, dataType: 'Double', array: true },
  { nodeId: id('PartId'), source: 'part-id', dataType: 'String' },
  { nodeId: id('Json'), source: 'result-json', dataType: 'String' },
  { nodeId: id('Good'), source: 'good-count', dataType: 'UInt32' },
  { nodeId: id('Bad'), source: 'bad-count', dataType: 'UInt32' },
];

let dir: string;
const cleanups: (() => unknown)[] = [];
beforeAll(() => plc.start());
afterAll(() => plc.stop());
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'ls-opcua-'));
});
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
  rmSync(dir, { recursive: true, force: true });
});

function makeSink(over: Record<string, unknown> = {}, log = pino({ level: 'silent' })): OpcUaSink {
  const options = opcuaAdapter.schema.parse({
    type: 'opcua',
    endpoint: plc.endpoint,
    timeoutMs: 1000,
    reasonCodes: ['SCRATCH'],
    nodes: RESULT_NODES,
    breaker: { failureThreshold: 2, initialBackoffMs: 20, maxBackoffMs: 200 },
    ...over,
  });
  const sink = opcuaAdapter.create(options, { log, configDir: dir, line: 'line-1', station: 'st-10' }) as OpcUaSink;
  cleanups.push(() => sink.close());
  return sink;
}

function outbox(sink: OpcUaSink) {
  const store = new ResultStore(join(dir, 'results.db'));
  const dispatcher = new OutboxDispatcher({ store, sink, initialBackoffMs: 10, maxBackoffMs: 100 });
  cleanups.push(() => store.close());
  cleanups.push(() => dispatcher.close());
  dispatcher.start();
  const append = (verdict: 'OK' | 'NOK', partId?: string | null): InspectionResult => {
    const r = store.append(makeResult({ verdict, partId }), [sink.name]);
    dispatcher.notify();
    return r;
  };
  return { store, dispatcher, append };
}

const until = (pred: () => boolean, what: string) => waitUntil(pred, { timeoutMs: 10_000, what });
const drained = (dispatcher: OutboxDispatcher) => withDeadline(dispatcher.drained(), 15_000, 'the outbox to drain');

describe('opcua sink', () => {
  it('writes typed scalar and array nodes for each result in one Write call', async () => {
    const sink = makeSink();
    await sink.open();
    const { dispatcher, append } = outbox(sink);
    append('OK', 'SN-1');
    append('NOK', 'SN-2');
    await drained(dispatcher);
    const m = plc.memory;
    expect(m.get('Sequence')).toBe(2);
    expect(m.get('Ok')).toBe(false);
    expect(m.get('Verdict')).toBe(2);
    expect(m.get('Reasons')).toEqual(['SCRATCH']);
    expect(m.get('ReasonBits')).toBe(1);
    expect(m.get('Score')).toBeCloseTo(0.91, 6);
    expect(m.get('Scores')).toEqual([0.91, -1]);
    expect(m.get('PartId')).toBe('SN-2');
    expect(JSON.parse(m.get('Json') as string)).toMatchObject({ sequence: 2, verdict: 'NOK', partId: 'SN-2' });
    expect([m.get('Good'), m.get('Bad')]).toEqual([1, 1]);
  });

  it('PLC server stopped and restarted 3 times while parts flow: each sequence written once, in order', async () => {
    const sink = makeSink();
    await sink.open();
    const seen: number[] = [];
    const stopAt = new Set([5, 14, 23]);
    let outage: Promise<void> | null = null;
    const off = plc.onWrite((name, value) => {
      if (name !== 'Sequence') return;
      seen.push(value as number);
      if (stopAt.has(value as number) && outage === null) {
        stopAt.delete(value as number);
        // Stop right after the PLC applied this result: its answer may never reach the sink.
        outage = new Promise((r) => setImmediate(r))
          .then(() => plc.stop())
          .then(() => sleep(100))
          .then(() => plc.start())
          .then(() => {
            outage = null;
          });
      }
    });
    cleanups.push(off);
    const { store, dispatcher, append } = outbox(sink);
    const N = 30;
    for (let i = 0; i < N; i++) {
      append(i % 5 === 4 ? 'NOK' : 'OK');
      await sleep(10); // parts keep coming during the outages
    }
    await waitUntil(() => stopAt.size === 0 && outage === null, { timeoutMs: 20_000, what: 'the 3 PLC outages to happen and end' });
    await drained(dispatcher);
    expect(seen).toEqual(Array.from({ length: N }, (_, i) => i + 1));
    expect(store.backlog(sink.name).count).toBe(0);
    expect(sink.link?.connects).toBeGreaterThanOrEqual(4);
    expect([plc.memory.get('Good'), plc.memory.get('Bad')]).toEqual([N - N / 5, N / 5]);
  });

  it('fails fast with LS_ERR_PLC_CIRCUIT_OPEN while the PLC is down, then delivers when it returns', async () => {
    const sink = makeSink({ nodes: [{ nodeId: id('Sequence'), source: 'sequence', dataType: 'UInt32' }] });
    await sink.open();
    await plc.stop();
    try {
      const codes: string[] = [];
      const r = makeResult();
      r.sequence = 500;
      for (let i = 0; i < 4; i++)
        codes.push(
          await sink.deliver(r).then(
            () => 'ok',
            (e: unknown) => (isLinesightError(e) ? e.code : String(e)),
          ),
        );
      expect(codes.slice(0, 2)).toEqual(['LS_ERR_PLC_CONNECT_FAILED', 'LS_ERR_PLC_CONNECT_FAILED']);
      expect(codes).toContain('LS_ERR_PLC_CIRCUIT_OPEN');
      expect(sink.link?.breaker.opened).toBeGreaterThanOrEqual(1);
    } finally {
      await plc.start();
    }
    const r = makeResult();
    r.sequence = 501;
    await retryUntil(() => sink.deliver(r), { timeoutMs: 10_000, intervalMs: 20, what: 'a delivery once the PLC is back' });
    expect(plc.memory.get('Sequence')).toBe(501);
  });

  it('runs the handshake over nodes: subscribed Trigger drives the station, Results Ack releases the result', async () => {
    for (const [k, v] of [
      ['TriggerEnable', false],
      ['Trigger', false],
      ['ResultsAck', false],
    ] as const)
      plc.set(k, v);
    const sink = makeSink({
      handshake: {
        ackTimeoutMs: 0,
        nodes: {
          trigger: id('Trigger'),
          resultsAck: id('ResultsAck'),
          triggerEnable: id('TriggerEnable'),
          partId: id('NextPartId'),
          status: {
            statusWord: id('StatusWord'),
            resultsValid: id('ResultsValid'),
            busy: id('Busy'),
            inspectionId: id('InspectionId'),
            acquisitionId: id('AcquisitionId'),
          },
        },
      },
    });
    const { store, dispatcher } = outbox(sink);
    const triggered: (string | null)[] = [];
    sink.triggers?.bindTrigger({
      name: 'st-10',
      trigger: ({ partId, onDecided }) => {
        triggered.push(partId);
        setTimeout(() => {
          const r = store.append(makeResult({ verdict: 'OK', partId }), [sink.name]);
          onDecided?.(r);
          dispatcher.notify();
        }, 20);
        return { accepted: true };
      },
    });
    await sink.open();
    await until(() => sink.link?.up === true, 'the OPC UA session to come up');
    plc.set('TriggerEnable', true);
    plc.set('NextPartId', 'SN-77');
    await until(() => ((plc.memory.get('StatusWord') as number) & 1) === 1, 'Trigger Ready in StatusWord');
    plc.set('Trigger', true);
    await until(() => plc.memory.get('ResultsValid') === true, 'ResultsValid true');
    expect(triggered).toEqual(['SN-77']);
    expect(plc.memory.get('InspectionId')).toBe(1);
    expect(plc.memory.get('AcquisitionId')).toBe(1);
    expect(plc.memory.get('PartId')).toBe('SN-77');
    plc.set('Trigger', false);
    plc.set('ResultsAck', true);
    await until(() => plc.memory.get('ResultsValid') === false, 'ResultsValid false after the ack');
    await drained(dispatcher);
    expect(sink.handshake?.counters).toMatchObject({ accepted: 1, acked: 1, missed: 0 });
    plc.set('ResultsAck', false);

    // The station's store fails under stop-line (the router's stationHealth hook): Error set, Trigger Ready low.
    const status = () => plc.memory.get('StatusWord') as number;
    const health = (storeFailed: boolean): StationHealthView => ({
      station: 'st-10',
      policy: 'stop-line',
      degraded: storeFailed,
      faults: [],
      storeFailed,
      stopLine: storeFailed,
      held: 0,
      counters: { storeFailures: 0, unstoredDelivered: 0, storedLate: 0, unstoredLost: 0, recoveries: 0 },
    });
    await until(() => (status() & 1) === 1, 'Trigger Ready again after the ack');
    sink.stationHealth(health(true));
    await until(() => (status() & ((1 << 5) | 1)) === 1 << 5, 'the Error bit set and Trigger Ready low in StatusWord');
    expect(sink.handshake?.errorCode).toBe(3);
    sink.stationHealth(health(false));
    await until(() => (status() & ((1 << 5) | 1)) === 1, 'the Error bit clear and Trigger Ready back after recovery');
  });

  it('refuses to start when the password secret is missing', () => {
    delete process.env.LS_TEST_MISSING_SECRET;
    let err: unknown;
    try {
      makeSink({ user: { name: 'ls', password: { env: 'LS_TEST_MISSING_SECRET' } } });
    } catch (e) {
      err = e;
    }
    expect(isLinesightError(err, 'LS_ERR_PLC_SECRET_UNREADABLE')).toBe(true);
  });
});

describe('opcua sink with SignAndEncrypt and user login', () => {
  it('connects with Basic256Sha256 and a password from the environment, which never appears in the logs', async () => {
    const secret = 'pw-7c1f-never-log-me';
    const secure = new OpcUaTestPlc([{ name: 'Sequence', dataType: 'UInt32', value: 0 }], {
      secure: true,
      user: { name: 'vision', password: secret },
    });
    await secure.start();
    cleanups.push(() => secure.stop());
    process.env.LS_TEST_OPCUA_PASSWORD = secret;
    cleanups.push(() => delete process.env.LS_TEST_OPCUA_PASSWORD);
    let logged = '';
    const log = pino({ level: 'trace' }, new Writable({ write: (c, _e, cb) => ((logged += c.toString()), cb()) }));
    const sink = opcuaAdapter.create(
      opcuaAdapter.schema.parse({
        type: 'opcua',
        endpoint: secure.endpoint,
        securityMode: 'SignAndEncrypt',
        securityPolicy: 'Basic256Sha256',
        user: { name: 'vision', password: { env: 'LS_TEST_OPCUA_PASSWORD' } },
        pkiDir: join(tmpdir(), 'linesight-test-opcua-pki', 'client'),
        acceptUnknownServerCertificate: true,
        timeoutMs: 10_000,
        nodes: [{ nodeId: secure.nodeId('Sequence'), source: 'sequence', dataType: 'UInt32' }],
      }),
      { log, configDir: dir, line: 'line-1', station: 'st-10' },
    ) as OpcUaSink;
    cleanups.push(() => sink.close());
    await sink.open();
    const r = makeResult();
    r.sequence = 42;
    await sink.deliver(r);
    expect(secure.memory.get('Sequence')).toBe(42);
    expect(logged).toContain('OPC UA session up');
    expect(logged).not.toContain(secret);
  });
});
