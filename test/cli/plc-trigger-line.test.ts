/**
 * End to end: a line booted from YAML with `trigger: { mode: plc, via: plc }` and a Modbus server-mode sink. A
 * modbus-serial client plays the PLC: it writes a part id, raises Trigger, and reads back the inspected result.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import ModbusSerial from 'modbus-serial';
import { pino } from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import { bootLine, loadConfig } from '../../cli/boot.ts';
import { CONTROL_BIT, STATUS_BIT } from '../../adapters/shared/plc/handshake.ts';
import { decodeAscii, decodeValue, encodeAscii } from '../../adapters/shared/plc/registers.ts';
import { STATUS_OFFSET } from '../../adapters/sink/modbus-server/index.ts';
import { freePort } from '../../runtime/net/free-port.ts';
import { waitUntil } from '../helpers/wait.ts';

const MODELS = path.resolve(import.meta.dirname, '../../models');
const dir = mkdtempSync(path.join(tmpdir(), 'ls-plc-line-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('PLC-triggered station', () => {
  it('rejects trigger.via naming no handshake sink', async () => {
    const file = path.join(dir, 'bad.yaml');
    writeFileSync(
      file,
      `line: t\nstore: { path: bad.sqlite }\nstations:\n  - name: s\n    recipe: r\n    source: { type: synthetic, scene: surface }\n    trigger: { mode: plc, via: nope }\n    models: [{ manifest: ${MODELS}/surface-anomaly/model.yaml }]\n    sinks: [{ type: log }]\n`,
    );
    expect(() => loadConfig(file)).toThrow(/trigger.via: 'nope' names no sink of this station/);
  });

  it('acquires one part per PLC trigger edge, with the part id the PLC set, and shows its result', async () => {
    const port = await freePort();
    const file = path.join(dir, 'line.yaml');
    writeFileSync(
      file,
      `line: t
store: { path: line.sqlite }
stations:
  - name: s
    recipe: r
    source: { type: synthetic, scene: surface, width: 256, height: 256, seed: 7 }
    trigger: { mode: plc, via: plc }
    models: [{ manifest: ${MODELS}/surface-anomaly/model.yaml, anomaly: { reason: SURFACE_DEFECT } }]
    sinks:
      - { type: modbus-server, name: plc, port: ${port}, allowlist: [127.0.0.0/8], values: [{ measurement: surface-anomaly.score }] }
`,
    );
    const { line } = await bootLine(loadConfig(file), pino({ level: 'silent' }));
    await line.start();
    const client = new ModbusSerial.default();
    try {
      await client.connectTCP('127.0.0.1', { port });
      client.setID(1);
      client.setTimeout(2000);
      const st = async () => (await client.readHoldingRegisters(1000, 40)).data;
      const bit = (s: number[], b: keyof typeof STATUS_BIT) => ((s[0] ?? 0) >> STATUS_BIT[b]) & 1;
      let polled: number[] = [];
      const waitFor = (pred: (s: number[]) => boolean) =>
        waitUntil(
          async () => {
            polled = await st();
            return pred(polled) && polled;
          },
          {
            timeoutMs: 10_000,
            what: `status registers where ${pred.toString()}`,
            detail: () => `last status word 0b${(polled[0] ?? 0).toString(2)}`,
          },
        );
      const EN = 1 << CONTROL_BIT.triggerEnable;
      const inspected = line.stations[0]!.counters;
      for (let i = 1; i <= 3; i++) {
        const part = new Array(16).fill(0);
        encodeAscii(part, 0, 16, `SN-${i}`);
        await client.writeRegisters(1, part);
        await client.writeRegister(0, EN | (1 << CONTROL_BIT.setPartId));
        await client.writeRegister(0, EN | (1 << CONTROL_BIT.trigger));
        const s = await waitFor((x) => bit(x, 'resultsValid') === 1);
        expect(decodeValue(s, STATUS_OFFSET.inspectionId, 'uint32')).toBe(i);
        expect(decodeValue(s, STATUS_OFFSET.resultAcquisitionId, 'uint32')).toBe(i);
        expect(decodeAscii(s, STATUS_OFFSET.partId, 16)).toBe(`SN-${i}`);
        await client.writeRegister(0, EN | (1 << CONTROL_BIT.resultsAck));
        await waitFor((x) => bit(x, 'resultsValid') === 0);
        await client.writeRegister(0, EN);
      }
      expect(inspected.triggers).toBe(3); // nothing acquired without a trigger
      expect([1, 2, 3].map((q) => line.store.getBySequence('t', 's', q)?.result.partId)).toEqual(['SN-1', 'SN-2', 'SN-3']);
    } finally {
      client.destroy(() => {});
      await line.stop(1000);
    }
  });
});
