/**
 * What the adapter contract suite (adapters.contract.test.ts) needs per adapter: options its schema accepts, three
 * faulty variants it must refuse, and the real peer the adapter talks to (a simulated PLC, an OPC UA server, a
 * Modbus client polling like a PLC, an image folder). An adapter added to adapters/catalog.ts without an entry
 * here fails the suite.
 *
 * Handshake sinks (modbus-server, opcua with handshake) resolve a delivery only when the PLC acknowledges it;
 * their peers play the PLC side of adapters/shared/plc/handshake.ts: Results Ack raised when Results Valid rises,
 * dropped when it falls. `acking = false` makes the peer hold back its ack (to test `interrupt()`).
 */
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import sharp from 'sharp';
import type { AdapterContext, AdapterKind } from '../../runtime/adapter.ts';
import { freePort } from '../../runtime/net/free-port.ts';
import type { InspectionResult } from '../../runtime/results/result.ts';
import { SimulatedPlc } from '../../sim/plc/simulated-plc.ts';
import { PollingPlc } from '../fakes/polling-plc.ts';
import { OpcUaTestPlc } from '../fakes/opcua-plc.ts';
import { withDeadline } from '../helpers/wait.ts';

type Options = Record<string, unknown>;

/** Per test: a fresh temp folder (the line YAML's folder) and a context whose log lines are kept. */
export interface ContractEnv {
  readonly dir: string;
  readonly ctx: AdapterContext;
  /** Parsed JSON log lines written through ctx.log. */
  readonly logged: readonly Record<string, unknown>[];
}

/** Faulty options, each `base` with one patch applied; the schema must refuse each with a ZodError. */
export interface BadOptions {
  /** Options the schema accepts (no peer needed: schema only). */
  readonly base: Options;
  readonly wrongType: Options;
  readonly unknownKey: Options;
  readonly outOfRange: Options;
}

export interface Peer {
  /** Options for an instance talking to this peer. */
  readonly options: Options;
  close(): Promise<void>;
}

export interface SinkPeer extends Peer {
  /** Whether the receiver holds this result now (it was delivered). */
  holds(result: InspectionResult): boolean;
  /** Present for receivers a delivery waits on (a PLC acknowledging): the PLC side of the handshake. */
  readonly handshake?: {
    /** false: the PLC does not acknowledge, so a delivery stays pending. */
    acking: boolean;
    /** The PLC sees a result shown (Results Valid) and waiting for its ack. */
    shown(): boolean;
  };
}

export interface AdapterFixture<K extends AdapterKind = AdapterKind> {
  readonly kind: K;
  readonly type: string;
  /** Names the variant in test titles (e.g. "opcua with handshake"). */
  readonly label: string;
  readonly bad: BadOptions;
  setup(env: ContractEnv): Promise<K extends 'sink' ? SinkPeer : Peer>;
  /** Releases what the fixture shares between tests (a server); called once after the suite. */
  readonly teardown?: () => Promise<void>;
}

const noPeer = async (options: Options): Promise<Peer> => ({ options, close: async () => {} });

// ---------------------------------------------------------------------------------------------------- sources

const synthetic: AdapterFixture<'source'> = {
  kind: 'source',
  type: 'synthetic',
  label: 'synthetic',
  bad: {
    base: { type: 'synthetic', scene: 'surface', width: 96, height: 64 },
    wrongType: { width: '96' },
    unknownKey: { colour: 'red' },
    outOfRange: { width: 10 }, // min 64
  },
  setup: () => noPeer({ type: 'synthetic', scene: 'surface', width: 96, height: 64, seed: 3, defectRate: 0.5 }),
};

/** Writes `count` greyscale PNGs (a gradient, so no frame is all zero) into dir/images. */
async function writeImages(dir: string, width: number, height: number, count: number): Promise<void> {
  mkdirSync(path.join(dir, 'images'), { recursive: true });
  for (let n = 0; n < count; n++) {
    const px = Buffer.alloc(width * height);
    for (let i = 0; i < px.length; i++) px[i] = (i + 40 * n) % 251;
    await sharp(px, { raw: { width, height, channels: 1 } })
      .png()
      .toFile(path.join(dir, 'images', `part-${n + 1}.png`));
  }
}

const folder: AdapterFixture<'source'> = {
  kind: 'source',
  type: 'folder',
  label: 'folder',
  bad: {
    base: { type: 'folder', path: 'images', width: 80, height: 60 },
    wrongType: { loop: 'yes' },
    unknownKey: { recursive: true },
    outOfRange: { width: 0 }, // positive
  },
  async setup(env) {
    await writeImages(env.dir, 80, 60, 2);
    return { options: { type: 'folder', path: 'images', width: 80, height: 60, loop: true }, close: async () => {} };
  },
};

// ------------------------------------------------------------------------------------------------------- sinks

const log: AdapterFixture<'sink'> = {
  kind: 'sink',
  type: 'log',
  label: 'log',
  bad: {
    base: { type: 'log' },
    wrongType: { name: 7 },
    unknownKey: { file: 'out.log' },
    outOfRange: { level: 'trace' }, // info | debug
  },
  async setup(env) {
    return {
      options: { type: 'log', name: 'log' },
      holds: (r) => env.logged.some((l) => l.msg === 'inspection result' && l.sequence === r.sequence),
      close: async () => {},
    };
  },
};

/** Modbus client sink → the simulated PLC of sim/plc (its registers outlive the sink's restart). */
const modbus: AdapterFixture<'sink'> = {
  kind: 'sink',
  type: 'modbus',
  label: 'modbus (client → simulated PLC)',
  bad: {
    base: { type: 'modbus', port: 5020 },
    wrongType: { port: '5020' },
    unknownKey: { colour: 1 },
    outOfRange: { port: 70_000 },
  },
  async setup() {
    const plc = new SimulatedPlc();
    await plc.start();
    const base = 100;
    return {
      options: { type: 'modbus', port: plc.port, baseAddress: base, timeoutMs: 500 },
      holds: (r) => {
        const regs = plc.readHoldingRegisters(base, 6);
        return (regs[3] ?? 0) * 0x10000 + (regs[4] ?? 0) === r.sequence && regs[0] === (r.verdict === 'OK' ? 1 : 2);
      },
      close: () => plc.stop(),
    };
  },
};

/** Modbus server mode ← a modbus-serial client acting as the PLC (same port across the sink's restart). */
const modbusServer: AdapterFixture<'sink'> = {
  kind: 'sink',
  type: 'modbus-server',
  label: 'modbus-server (PLC polls and acks)',
  bad: {
    base: { type: 'modbus-server', port: 0 },
    wrongType: { port: 'auto' },
    unknownKey: { baudRate: 9600 },
    outOfRange: { unitId: 0 }, // 1..255
  },
  async setup() {
    const port = await freePort();
    const plc = new PollingPlc(port);
    return {
      options: { type: 'modbus-server', port, handshake: { requireTriggerEnable: false, ackTimeoutMs: 0, inspectionTimeoutMs: 0 } },
      holds: (r) => plc.acked.includes(r.sequence),
      handshake: {
        get acking() {
          return plc.acking;
        },
        set acking(v: boolean) {
          plc.acking = v;
        },
        shown: () => plc.resultsValid,
      },
      close: () => plc.stop(),
    };
  },
};

// ------------------------------------------------------------------------------------------------------- OPC UA

/** One node-opcua server for every OPC UA case (start ≈ 0.3–1 s); its memory is reset per test. */
let opcuaPlc: OpcUaTestPlc | null = null;
async function sharedOpcUaPlc(): Promise<OpcUaTestPlc> {
  if (!opcuaPlc) {
    const plc = new OpcUaTestPlc([
      { name: 'Sequence', dataType: 'UInt32', value: 0 },
      { name: 'Verdict', dataType: 'Int16', value: 0 },
      { name: 'Trigger', dataType: 'Boolean', value: false },
      { name: 'ResultsAck', dataType: 'Boolean', value: false },
      { name: 'ResultsValid', dataType: 'Boolean', value: false },
      { name: 'StatusWord', dataType: 'UInt16', value: 0 },
      { name: 'InspectionId', dataType: 'UInt32', value: 0 },
    ]);
    await withDeadline(plc.start(), 20_000, 'the OPC UA test PLC to start');
    opcuaPlc = plc;
  }
  for (const [k, v] of [
    ['Sequence', 0],
    ['Verdict', 0],
    ['Trigger', false],
    ['ResultsAck', false],
    ['ResultsValid', false],
    ['StatusWord', 0],
    ['InspectionId', 0],
  ] as const) {
    opcuaPlc.set(k, v);
  }
  return opcuaPlc;
}

const opcuaBad: BadOptions = {
  base: { type: 'opcua', endpoint: 'opc.tcp://127.0.0.1:4840', nodes: [{ nodeId: 'ns=1;s=Sequence', source: 'sequence', dataType: 'UInt32' }] },
  wrongType: { endpoint: 4840 },
  unknownKey: { password: 'x' },
  outOfRange: { timeoutMs: 5 }, // 100..60000
};

function opcuaOptions(plc: OpcUaTestPlc, extra: Options = {}): Options {
  return {
    type: 'opcua',
    endpoint: plc.endpoint,
    timeoutMs: 2000,
    breaker: { failureThreshold: 3, initialBackoffMs: 20, maxBackoffMs: 200 },
    nodes: [
      { nodeId: plc.nodeId('Sequence'), source: 'sequence', dataType: 'UInt32' },
      { nodeId: plc.nodeId('Verdict'), source: 'verdict', dataType: 'Int16' },
    ],
    ...extra,
  };
}

const teardownOpcUa = async () => {
  const plc = opcuaPlc;
  opcuaPlc = null;
  await plc?.stop();
};

/** OPC UA client sink, plain: one Write per result. */
const opcua: AdapterFixture<'sink'> = {
  kind: 'sink',
  type: 'opcua',
  label: 'opcua (plain writes)',
  bad: opcuaBad,
  async setup() {
    const plc = await sharedOpcUaPlc();
    return { options: opcuaOptions(plc), holds: (r) => plc.memory.get('Sequence') === r.sequence, close: async () => {} };
  },
  teardown: teardownOpcUa,
};

/** OPC UA client sink with the handshake: the PLC acks on its ResultsAck node when ResultsValid rises. */
const opcuaHandshake: AdapterFixture<'sink'> = {
  kind: 'sink',
  type: 'opcua',
  label: 'opcua with handshake (PLC acks)',
  bad: opcuaBad,
  async setup() {
    const plc = await sharedOpcUaPlc();
    const acked: number[] = [];
    const peer = { acking: true };
    const off = plc.onWrite((name, value) => {
      if (name !== 'ResultsValid') return;
      if (value === true && peer.acking) {
        acked.push(plc.memory.get('Sequence') as number);
        plc.set('ResultsAck', true);
      } else if (value === false) plc.set('ResultsAck', false);
    });
    return {
      options: opcuaOptions(plc, {
        samplingIntervalMs: 10,
        handshake: {
          requireTriggerEnable: false,
          ackTimeoutMs: 0,
          inspectionTimeoutMs: 0,
          nodes: {
            trigger: plc.nodeId('Trigger'),
            resultsAck: plc.nodeId('ResultsAck'),
            status: { statusWord: plc.nodeId('StatusWord'), resultsValid: plc.nodeId('ResultsValid'), inspectionId: plc.nodeId('InspectionId') },
          },
        },
      }),
      holds: (r) => acked.includes(r.sequence),
      handshake: {
        get acking() {
          return peer.acking;
        },
        set acking(v: boolean) {
          peer.acking = v;
        },
        shown: () => plc.memory.get('ResultsValid') === true && plc.memory.get('ResultsAck') !== true,
      },
      close: async () => off(),
    };
  },
  teardown: teardownOpcUa,
};

// --------------------------------------------------------------------------------------------------- services

const opcuaMes: AdapterFixture<'service'> = {
  kind: 'service',
  type: 'opcua-mes',
  label: 'opcua-mes',
  bad: {
    base: { type: 'opcua-mes', port: 4840 },
    wrongType: { port: '4840' },
    unknownKey: { endpoint: 'opc.tcp://x' },
    outOfRange: { port: 70_000 },
  },
  setup: async () => noPeer({ type: 'opcua-mes', port: await freePort(), security: { allowUnsecured: true, anonymous: 'read' } }),
};

export const FIXTURES: readonly AdapterFixture[] = [synthetic, folder, log, modbus, modbusServer, opcua, opcuaHandshake, opcuaMes];
