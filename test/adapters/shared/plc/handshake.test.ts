import { once } from 'node:events';
import { describe, expect, it } from 'vitest';
import {
  CONTROL_BIT,
  DEFAULT_HANDSHAKE,
  HANDSHAKE_ERROR,
  PlcHandshake,
  type STATUS_BIT,
  type HandshakeOptions,
  type PresentedResult,
} from '../../../../adapters/shared/plc/handshake.ts';
import type { InspectionResult } from '../../../../runtime/results/result.ts';
import type { StationHealthView } from '../../../../runtime/pipeline/station-health.ts';
import { makeResult } from '../../../fakes/make-result.ts';
import { waitUntil, withDeadline } from '../../../helpers/wait.ts';

const EN = 1 << CONTROL_BIT.triggerEnable;
const TRIG = 1 << CONTROL_BIT.trigger;
const ACK = 1 << CONTROL_BIT.resultsAck;
const PART = 1 << CONTROL_BIT.setPartId;
const CLEAR = 1 << CONTROL_BIT.clearError;

/** A transport that records what the PLC would see, in order. */
function setup(over: Partial<HandshakeOptions> = {}, bind = true) {
  const events: string[] = [];
  let partId = '';
  const triggers: (string | null)[] = [];
  let seq = 0;
  const hs = new PlcHandshake(
    { ...DEFAULT_HANDSHAKE, ackTimeoutMs: 0, inspectionTimeoutMs: 0, ...over },
    {
      writeResult: (p: PresentedResult) => {
        // Data goes out while Results Valid is still low.
        events.push(`data ${p.result.sequence} rv=${flag(hs, 'resultsValid')}`);
      },
      publish: () => {},
      readPartId: () => partId,
    },
  );
  // The station behind the Trigger port: records each trigger and keeps its onDecided for inspect().
  const decided: ((r: InspectionResult | null) => void)[] = [];
  if (bind) {
    hs.bindTrigger({
      name: 'st-10',
      trigger: (req) => {
        triggers.push(req.partId);
        if (req.onDecided) decided.push(req.onDecided);
        return { accepted: true };
      },
    });
  }
  /** The station decides the oldest triggered part (or an untriggered one when none is pending). */
  const inspect = (verdict: 'OK' | 'NOK' = 'OK'): InspectionResult => {
    const r = makeResult({ verdict, partId: triggers.at(-1) ?? null });
    r.sequence = ++seq;
    decided.shift()?.(r);
    return r;
  };
  return { hs, events, triggers, inspect, setPartId: (p: string) => (partId = p) };
}

const tick = () => new Promise<void>((r) => setImmediate(r));
/** A presentation the test expects to be released by what it just did (an ack, a timeout). */
const settled = <T>(p: Promise<T>, what: string) => withDeadline(p, 2000, what);

/** The station health a router would send (only the fields the handshake reads matter). */
function health(over: Partial<StationHealthView>): StationHealthView {
  const storeFailed = over.storeFailed ?? false;
  return {
    station: 'st-10',
    policy: 'stop-line',
    degraded: storeFailed,
    faults: storeFailed ? [{ fault: 'store-failed', since: new Date().toISOString(), detail: 'SQLITE_FULL: database or disk is full' }] : [],
    storeFailed,
    stopLine: false,
    held: 0,
    counters: { storeFailures: 0, unstoredDelivered: 0, storedLate: 0, unstoredLost: 0, recoveries: 0 },
    ...over,
  };
}

function flag(hs: PlcHandshake, name: keyof typeof STATUS_BIT): 0 | 1 {
  return hs.status(name) ? 1 : 0;
}

describe('PlcHandshake', () => {
  it('runs trigger → ack/busy → data → results valid + toggle → PLC ack → next result once ack is low', async () => {
    const { hs, events, triggers, inspect, setPartId } = setup();
    hs.setControl(EN);
    expect(flag(hs, 'triggerReady')).toBe(1);
    setPartId('SN-0001');
    hs.setControl(EN | PART);
    expect(flag(hs, 'setPartIdAck')).toBe(1);
    hs.setControl(EN | TRIG);
    expect(triggers).toEqual(['SN-0001']);
    expect(hs.acquisitionId).toBe(1);
    expect([flag(hs, 'triggerAck'), flag(hs, 'busy'), flag(hs, 'triggerReady'), flag(hs, 'setPartIdAck')]).toEqual([1, 1, 0, 0]);
    hs.setControl(EN);
    expect(flag(hs, 'triggerAck')).toBe(0);

    const r1 = inspect('NOK');
    expect(flag(hs, 'busy')).toBe(0);
    let released1 = false;
    const p1 = hs.present(r1).then(() => (released1 = true));
    await tick();
    expect(events).toEqual(['data 1 rv=0']);
    expect([flag(hs, 'resultsValid'), flag(hs, 'inspectionCompleted'), flag(hs, 'resultNok')]).toEqual([1, 1, 1]);
    expect(hs.shown?.acquisitionId).toBe(1);

    // A second part while the first waits for its ack: accepted (buffer depth 8), its result queues.
    hs.setControl(EN | TRIG);
    hs.setControl(EN);
    const r2 = inspect('OK');
    let released2 = false;
    const p2 = hs.present(r2).then(() => (released2 = true));
    await tick();
    expect(released1).toBe(false);
    expect(hs.waiting).toBe(2);

    hs.setControl(EN | ACK);
    await settled(p1, 'result 1 released by the ack');
    expect(flag(hs, 'resultsValid')).toBe(0);
    await tick();
    expect(events).toEqual(['data 1 rv=0']); // r2 waits until the PLC drops Ack
    hs.setControl(EN);
    await tick();
    expect(events).toEqual(['data 1 rv=0', 'data 2 rv=0']);
    expect([flag(hs, 'resultsValid'), flag(hs, 'inspectionCompleted'), flag(hs, 'resultOk')]).toEqual([1, 0, 1]);
    expect(hs.shown?.acquisitionId).toBe(2);
    hs.setControl(EN | ACK);
    await settled(p2, 'result 2 released by the ack');
    expect(released2).toBe(true);
    expect(hs.counters).toMatchObject({ accepted: 2, missed: 0, pass: 1, fail: 1, presented: 2, acked: 2 });
    expect(hs.waiting).toBe(0);
  });

  it('counts triggers while disabled, busy or with a full buffer as missed and sets Missed Trigger until the next accepted one', async () => {
    const { hs, triggers, inspect } = setup({ bufferDepth: 2 });
    const missed: string[] = [];
    hs.on('missed', (why) => missed.push(why));
    const pulse = (base: number) => {
      hs.setControl(base | TRIG);
      hs.setControl(base);
    };
    pulse(0); // Trigger Enable low
    hs.setControl(EN);
    pulse(EN); // accepted: busy now
    pulse(EN); // busy
    const r1 = inspect();
    pulse(EN); // accepted
    const r2 = inspect();
    expect(hs.waiting).toBe(2);
    pulse(EN); // buffer full: r1 and r2 wait for the PLC
    expect(flag(hs, 'bufferFull')).toBe(1);
    expect(flag(hs, 'missedTrigger')).toBe(1);
    expect(missed).toEqual(['disabled', 'busy', 'buffer-full']);
    expect(hs.counters).toMatchObject({ accepted: 2, missed: 3, missedDisabled: 1, missedBusy: 1, missedBufferFull: 1 });
    expect(hs.counters.accepted + hs.counters.missed).toBe(5); // every edge accounted for

    const p1 = hs.present(r1);
    await tick();
    hs.setControl(EN | ACK);
    await settled(p1, 'result 1 released by the ack');
    hs.setControl(EN);
    pulse(EN); // room again
    expect(flag(hs, 'missedTrigger')).toBe(0);
    expect(triggers.length).toBe(3);
    void hs.present(r2);
  });

  it('ack timeout with hold keeps the result shown and raises error 1 until the PLC acknowledges', async () => {
    const { hs, inspect } = setup({ ackTimeoutMs: 20, onAckTimeout: 'hold' });
    hs.setControl(EN);
    const r1 = inspect();
    let released = false;
    const p = hs.present(r1).then(() => (released = true));
    await withDeadline(once(hs, 'ackTimeout'), 2000, 'the ackTimeout event');
    expect(hs.errorCode).toBe(HANDSHAKE_ERROR.ackTimeout);
    expect([flag(hs, 'error'), flag(hs, 'resultsValid')]).toEqual([1, 1]);
    expect(released).toBe(false);
    hs.setControl(EN | ACK);
    await settled(p, 'the held result released by the ack');
    expect(hs.errorCode).toBe(0);
    expect(hs.counters).toMatchObject({ ackTimeouts: 1, acked: 1, unacknowledged: 0 });
  });

  it('ack timeout with release drops Results Valid, counts the result unacknowledged and shows the next', async () => {
    const { hs, events, inspect } = setup({ ackTimeoutMs: 20, onAckTimeout: 'release' });
    hs.setControl(EN);
    const r1 = inspect();
    const r2 = inspect();
    await settled(hs.present(r1), 'result 1 released by the ack timeout');
    expect(flag(hs, 'resultsValid')).toBe(0);
    expect(hs.counters.unacknowledged).toBe(1);
    const p2 = hs.present(r2);
    await tick();
    expect(events).toEqual(['data 1 rv=0', 'data 2 rv=0']);
    hs.setControl(EN | ACK);
    await settled(p2, 'result 2 released by the ack');
    expect(hs.errorCode).toBe(0); // a later ack clears the ack-timeout error
  });

  it('an inspection timeout clears Busy and sets error 2; Clear Error resets it', async () => {
    const { hs } = setup({ inspectionTimeoutMs: 20 });
    hs.setControl(EN);
    hs.setControl(EN | TRIG);
    expect(flag(hs, 'busy')).toBe(1);
    await waitUntil(() => flag(hs, 'busy') === 0, { timeoutMs: 2000, what: 'the inspection timeout to clear Busy' });
    expect(hs.errorCode).toBe(HANDSHAKE_ERROR.inspectionTimeout);
    expect(hs.counters.inspectionTimeouts).toBe(1);
    hs.setControl(EN | CLEAR);
    expect(hs.errorCode).toBe(0);
  });

  it('without requireAck shows each result at once and toggles Inspection Completed per result', async () => {
    const { hs, inspect } = setup({ requireAck: false });
    const toggles: number[] = [];
    for (let i = 0; i < 3; i++) {
      await settled(hs.present(inspect()), 'a result shown without requireAck');
      toggles.push(flag(hs, 'inspectionCompleted'));
    }
    expect(toggles).toEqual([1, 0, 1]);
    expect(hs.shown?.result.sequence).toBe(3);
    expect(hs.waiting).toBe(0);
  });

  it('offering the shown result again (a retry) does not toggle twice; interrupt rejects a waiting delivery', async () => {
    const { hs, events, inspect } = setup();
    const r1 = inspect();
    const a = hs.present(r1);
    const b = hs.present(r1);
    await tick();
    expect(events).toEqual(['data 1 rv=0']);
    expect(hs.counters.presented).toBe(1);
    hs.interrupt();
    await expect(a).rejects.toThrow(/LS_ERR_SINK_DELIVERY_FAILED/);
    await expect(b).rejects.toThrow(/LS_ERR_SINK_DELIVERY_FAILED/);
  });

  it('takes a Trigger already high on a fresh link as a level, not an edge', () => {
    const { hs, triggers } = setup();
    hs.setControl(EN | TRIG, true);
    expect(triggers).toEqual([]);
    hs.setControl(EN);
    hs.setControl(EN | TRIG);
    expect(triggers).toEqual([null]);
  });

  it('counts PLC triggers as missed when the station is not triggered by this handshake', () => {
    const { hs } = setup({}, false);
    hs.setControl(EN);
    hs.setControl(EN | TRIG);
    expect(hs.counters).toMatchObject({ accepted: 0, missed: 1, missedDisabled: 1 });
    expect(flag(hs, 'triggerReady')).toBe(0);
  });
  it('a failing result store shows error 3 while it lasts; under stop-line Trigger Ready drops but a trigger given anyway is taken', async () => {
    const { hs, events, triggers, inspect } = setup();
    hs.setControl(EN);
    expect([flag(hs, 'triggerReady'), flag(hs, 'error')]).toEqual([1, 0]);
    hs.stationHealth(health({ storeFailed: true, stopLine: true }));
    expect([hs.errorCode, flag(hs, 'error'), flag(hs, 'triggerReady')]).toEqual([HANDSHAKE_ERROR.storeFailed, 1, 0]);
    hs.setControl(EN | CLEAR);
    hs.setControl(EN);
    expect(hs.errorCode).toBe(HANDSHAKE_ERROR.storeFailed); // a condition: Clear Error does not clear it
    // The PLC triggers anyway: the part is inspected and answered (NOK STORE_FAILED from the router).
    hs.setControl(EN | TRIG);
    hs.setControl(EN);
    expect([triggers.length, hs.counters.missed]).toEqual([1, 0]);
    const r = inspect('NOK');
    const p = hs.present(r);
    await tick();
    expect(events).toEqual([`data ${r.sequence} rv=0`]);
    expect([flag(hs, 'resultsValid'), flag(hs, 'resultNok'), flag(hs, 'error'), flag(hs, 'triggerReady')]).toEqual([1, 1, 1, 0]);
    hs.setControl(EN | ACK);
    await settled(p, 'the NOK released by the ack');
    hs.setControl(EN);
    hs.stationHealth(health({ storeFailed: false, stopLine: false }));
    expect([hs.errorCode, flag(hs, 'error'), flag(hs, 'triggerReady')]).toEqual([0, 0, 1]);
  });

  it('deliver-unstored: error 3 while the store fails, Trigger Ready stays; an event error shows again after recovery', async () => {
    const { hs } = setup({ inspectionTimeoutMs: 20 });
    hs.setControl(EN);
    hs.setControl(EN | TRIG);
    await waitUntil(() => hs.errorCode === HANDSHAKE_ERROR.inspectionTimeout, { timeoutMs: 2000, what: 'the inspection timeout error' });
    hs.setControl(EN);
    hs.stationHealth(health({ storeFailed: true, stopLine: false, policy: 'deliver-unstored' }));
    expect([hs.errorCode, flag(hs, 'error'), flag(hs, 'triggerReady')]).toEqual([HANDSHAKE_ERROR.storeFailed, 1, 1]);
    hs.stationHealth(health({ storeFailed: false, stopLine: false, policy: 'deliver-unstored' }));
    expect(hs.errorCode).toBe(HANDSHAKE_ERROR.inspectionTimeout); // not cleared by the PLC yet
  });
});
