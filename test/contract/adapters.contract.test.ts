/**
 * The adapter contract (runtime/adapter.ts), run over every adapter in adapters/catalog.ts against real peers
 * (test/contract/fixtures.ts): options schemas refuse bad options; open/close are idempotent; a source fills a
 * slot of its declared size; a sink delivers, and delivers the same result again after a restart
 * (at-least-once); interrupt() releases a delivery waiting on the PLC; the registry refuses a duplicate type.
 * Only deliver / interrupt / close are used on sinks: how a handshake sink is bound to its station is not part
 * of this contract.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ZodError, type z } from 'zod';
import { ADAPTERS } from '../../adapters/catalog.ts';
import type { AdapterDefinition, AdapterKind, FrameSource, LineService, ResultSink, ServiceContext } from '../../runtime/adapter.ts';
import { ResultStore } from '../../runtime/store/sqlite-store.ts';
import { isLinesightError } from '../../runtime/errors.ts';
import { channelsOf, FrameSlot } from '../../runtime/frame/frame-slot.ts';
import { AdapterRegistry } from '../../runtime/registry.ts';
import type { InspectionResult } from '../../runtime/results/result.ts';
import { makeResult } from '../fakes/make-result.ts';
import { retryUntil, waitUntil, withDeadline } from '../helpers/wait.ts';
import { FIXTURES, type AdapterFixture, type BadOptions, type ContractEnv, type SinkPeer } from './fixtures.ts';

type AnyDefinition = AdapterDefinition<AdapterKind, z.ZodType>;

/** Deadlines: generous for a loaded 2-core machine, yet each case fails with a message long before vitest's. */
const STEP_MS = 20_000; // a deadline, not a speed goal: CI shares 2 cores among test files
const PROMPT_MS = 5000;

const key = (kind: string, type: string) => `${kind}:${type}`;
const definitions = new Map<string, AnyDefinition>(ADAPTERS.map((d) => [key(d.kind, d.type), d as unknown as AnyDefinition]));

function definitionOf(f: AdapterFixture): AnyDefinition {
  const def = definitions.get(key(f.kind, f.type));
  if (!def) throw new Error(`fixture ${f.label} names no adapter in adapters/catalog.ts (${f.kind} '${f.type}')`);
  return def;
}

let env: ContractEnv;
const cleanups: (() => unknown)[] = [];
beforeEach(() => {
  const dir = mkdtempSync(join(tmpdir(), 'ls-contract-'));
  const logged: Record<string, unknown>[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, cb) {
      for (const line of chunk.toString().split('\n')) if (line.trim()) logged.push(JSON.parse(line) as Record<string, unknown>);
      cb();
    },
  });
  env = { dir, logged, ctx: { log: pino({ level: 'info' }, stream), configDir: dir, line: 'line-1', station: 'st-10' } };
});
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await withDeadline(Promise.resolve(c()), STEP_MS, 'a test cleanup');
  rmSync(env.dir, { recursive: true, force: true });
});
afterAll(async () => {
  const teardowns = new Set(FIXTURES.map((f) => f.teardown).filter((t) => t !== undefined));
  for (const t of teardowns) await withDeadline(t(), STEP_MS, 'a fixture teardown');
});

describe('adapter catalog', () => {
  it('has a contract fixture for every adapter, and every fixture names a catalogued adapter', () => {
    const fixtured = new Set(FIXTURES.map((f) => key(f.kind, f.type)));
    const missing = [...definitions.keys()].filter((k) => !fixtured.has(k));
    expect(missing, 'adapters in adapters/catalog.ts without a fixture in test/contract/fixtures.ts').toEqual([]);
    for (const f of FIXTURES) expect(definitions.has(key(f.kind, f.type)), `fixture ${f.label}`).toBe(true);
  });

  it('registers every catalogued adapter once in one registry', () => {
    const registry = new AdapterRegistry();
    for (const def of definitions.values()) registry.register(def);
    registry.freeze();
    expect(registry.entries('source').length + registry.entries('sink').length + registry.entries('service').length).toBe(ADAPTERS.length);
  });
});

function optionsCases(f: AdapterFixture, bad: BadOptions): void {
  const def = definitionOf(f);
  it('accepts its base options', () => {
    expect(def.schema.safeParse(bad.base).error).toBeUndefined();
  });
  for (const fault of ['wrongType', 'unknownKey', 'outOfRange'] as const) {
    it(`refuses options with ${fault === 'wrongType' ? 'a wrong type' : fault === 'unknownKey' ? 'an unknown key' : 'an out-of-range value'} (${JSON.stringify(bad[fault])})`, () => {
      const options = { ...bad.base, ...bad[fault] };
      expect(() => def.schema.parse(options)).toThrow(ZodError);
    });
  }
  it('is refused when registered twice (same kind and type, even as a copy)', () => {
    const registry = new AdapterRegistry().register(def);
    let err: unknown;
    try {
      registry.register({ ...def });
    } catch (e) {
      err = e;
    }
    expect(isLinesightError(err, 'LS_ERR_ADAPTER_DUPLICATE_TYPE'), String(err)).toBe(true);
  });
}

/** Every adapter instance: open → close → close again, and close without open, never throw. */
function lifecycleCases(f: AdapterFixture, create: () => Promise<{ open(): Promise<void>; close(): Promise<void> }>): void {
  it('open → close → close again does not throw', async () => {
    const s = await create();
    await withDeadline(s.open(), STEP_MS, `${f.label} open`);
    await withDeadline(s.close(), STEP_MS, `${f.label} close`);
    await withDeadline(s.close(), STEP_MS, `${f.label} second close`);
  });

  it('close without open does not throw', async () => {
    const s = await create();
    await withDeadline(s.close(), STEP_MS, `${f.label} close without open`);
  });
}

async function createWithPeer<T>(f: AdapterFixture, make: (options: unknown) => T) {
  const def = definitionOf(f);
  const peer = await withDeadline(f.setup(env), STEP_MS, `the ${f.label} peer to start`);
  cleanups.push(() => peer.close());
  const options = def.schema.parse(peer.options);
  return { peer, make: () => make(options) };
}

for (const f of FIXTURES.filter((x): x is AdapterFixture<'service'> => x.kind === 'service')) {
  describe(`service ${f.label}`, () => {
    optionsCases(f, f.bad);

    /** A service on a line of no station, over a real store in the test's folder. */
    const service = async () => {
      const def = definitionOf(f);
      const store = new ResultStore(join(env.dir, 'results.sqlite'));
      cleanups.push(() => store.close());
      const ctx: ServiceContext = { ...env.ctx, configId: 'c0ffee', storeFile: store.path, store, stations: [] };
      const { make } = await createWithPeer(f, (o) => def.create(o, ctx) as LineService);
      return make();
    };

    lifecycleCases(f, service);
  });
}

for (const f of FIXTURES.filter((x): x is AdapterFixture<'source'> => x.kind === 'source')) {
  describe(`source ${f.label}`, () => {
    optionsCases(f, f.bad);

    const source = async () => {
      const def = definitionOf(f);
      const { make } = await createWithPeer(f, (o) => def.create(o, env.ctx) as FrameSource);
      return make();
    };

    lifecycleCases(f, source);

    it('grab fills a slot of the declared size with a frame of the declared shape', async () => {
      const s = await source();
      await withDeadline(s.open(), STEP_MS, `${f.label} open`);
      cleanups.push(() => s.close());
      expect([s.maxWidth, s.maxHeight, s.channels].every((n) => Number.isInteger(n) && n > 0)).toBe(true);
      const slot = new FrameSlot(0, s.maxWidth * s.maxHeight * s.channels);
      for (let n = 1; n <= 2; n++) {
        await withDeadline(s.grab(slot), STEP_MS, `${f.label} grab ${n}`);
        expect([slot.width, slot.height, channelsOf(slot.pixelFormat)]).toEqual([s.maxWidth, s.maxHeight, s.channels]);
        expect(slot.byteLength).toBe(slot.data.length);
        expect(slot.sequence).toBe(n);
        expect(
          slot.pixels().some((v) => v !== 0),
          'the frame has content',
        ).toBe(true);
      }
    });
  });
}

let nextSequence = 1000;
function result(): InspectionResult {
  const r = makeResult({ verdict: 'NOK' });
  r.sequence = ++nextSequence;
  return r;
}

for (const f of FIXTURES.filter((x): x is AdapterFixture<'sink'> => x.kind === 'sink')) {
  describe(`sink ${f.label}`, () => {
    optionsCases(f, f.bad);

    const sinkWithPeer = async (): Promise<{ peer: SinkPeer; make: () => ResultSink }> => {
      const def = definitionOf(f);
      const { peer, make } = await createWithPeer(f, (o) => {
        const s = def.create(o, env.ctx) as ResultSink;
        cleanups.push(() => s.close());
        return s;
      });
      return { peer: peer as SinkPeer, make };
    };

    /** The receiver has the result (a log line may reach its stream a tick after deliver resolves). */
    const received = (peer: SinkPeer, r: InspectionResult) =>
      waitUntil(() => peer.holds(r), { timeoutMs: PROMPT_MS, what: `${f.label}: the receiver to hold result ${r.sequence}` });

    /** Delivers as the outbox does: offered again after a failure (a link still coming up) until accepted. */
    const deliver = (s: ResultSink, r: InspectionResult, what: string) =>
      retryUntil(() => s.deliver(r), { timeoutMs: STEP_MS, intervalMs: 20, what: `${f.label}: ${what}` });

    lifecycleCases(f, async () => (await sinkWithPeer()).make());

    it('delivers a result, and after a restart accepts the same result again (at-least-once)', async () => {
      const { peer, make } = await sinkWithPeer();
      const r = result();
      const first = make();
      await withDeadline(first.open(), STEP_MS, `${f.label} open`);
      await deliver(first, r, 'the first delivery');
      await received(peer, r);
      await withDeadline(first.close(), STEP_MS, `${f.label} close before the restart`);

      const restarted = make();
      await withDeadline(restarted.open(), STEP_MS, `${f.label} open after the restart`);
      await deliver(restarted, r, 'the same result offered again after the restart');
      await received(peer, r);
      const next = result();
      await deliver(restarted, next, 'the next result after the restart');
      await received(peer, next);
    });

    it('interrupt() makes a delivery waiting on the receiver reject promptly, leaving the sink usable', async () => {
      const { peer, make } = await sinkWithPeer();
      const s = make();
      const hs = peer.handshake;
      if (hs) expect(typeof s.interrupt, 'a sink whose delivery waits on the PLC must define interrupt()').toBe('function');
      await withDeadline(s.open(), STEP_MS, `${f.label} open`);
      if (typeof s.interrupt !== 'function') return; // optional in the contract; nothing waits on this receiver
      if (!hs) {
        // Nothing to wait on: interrupt() with nothing in flight is harmless.
        s.interrupt();
        const r = result();
        await deliver(s, r, 'a delivery after an idle interrupt()');
        await received(peer, r);
        return;
      }
      // Warm up (link up, one handshake done), then wait until the PLC sees nothing shown before holding its ack.
      const warm = result();
      await deliver(s, warm, 'a first, acknowledged delivery');
      await waitUntil(() => !hs.shown(), { timeoutMs: STEP_MS, what: `${f.label}: the PLC to see the first result released` });
      hs.acking = false;
      const r = result();
      let settled = false;
      const pending = s.deliver(r).finally(() => (settled = true));
      pending.catch(() => {});
      await waitUntil(() => hs.shown(), { timeoutMs: STEP_MS, what: `${f.label}: the PLC to see the result shown` });
      expect(settled, 'the delivery waits for the ack').toBe(false);
      s.interrupt();
      const err = await withDeadline(
        pending.then(
          () => null,
          (e: unknown) => e,
        ),
        PROMPT_MS,
        `${f.label}: the interrupted delivery to reject`,
      );
      expect(err, 'an interrupted delivery rejects').toBeInstanceOf(Error);
      hs.acking = true;
      await deliver(s, r, 'the interrupted result offered again');
      await received(peer, r);
    });
  });
}
