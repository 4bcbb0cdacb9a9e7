/**
 * The MES benchmark's clients in a process of their own (bench/mes.bench.ts forked with BENCH_MES_ROLE=clients),
 * driven over IPC one request at a time: session cycles, many concurrent ResultReadyEvent subscribers, polling
 * clients. Out there their work — decoding above all — neither runs on the line's event loop nor sits in its
 * heap, so the line's process measures the server alone (as with a remote MES; here on the same 2 cores).
 * Receipt times cross the process boundary as epoch ms (performance.timeOrigin + performance.now()).
 */
import { fork } from 'node:child_process';
import { once } from 'node:events';
import { withDeadline } from '../test/helpers/wait.ts';
import { probeResultReady, sessionCycle, startPollingClients, type PollingClients, type PollingSpec, type ResultReadyProbe } from './mes-clients.ts';

export interface SubscribeSpec {
  readonly endpoint: string;
  readonly line: string;
  readonly station: string;
  readonly count: number;
  /** Opened this many at a time. */
  readonly batch: number;
  readonly publishingMs: number;
}

export interface Subscribed {
  readonly opened: number;
  /** Why the others were refused. */
  readonly refused: string[];
  readonly openMs: number;
}

type Request =
  | { cmd: 'poll-start'; spec: PollingSpec }
  | { cmd: 'poll-stop' }
  | { cmd: 'cycles'; endpoint: string; n: number }
  | { cmd: 'subscribe'; spec: SubscribeSpec }
  | { cmd: 'await-event'; key: string; timeoutMs: number }
  | { cmd: 'unsubscribe' }
  | { cmd: 'exit' };

type Reply = { ok: unknown } | { error: string };

const epochNow = (t: number) => performance.timeOrigin + t;

interface Subscriber {
  readonly probe: ResultReadyProbe;
  /** Event key (`#1`, `#2`, … in arrival order) → receipt, epoch ms. */
  readonly receivedAt: Map<string, number>;
}

class ClientSide {
  private polling: PollingClients | null = null;
  private subscribers: Subscriber[] = [];
  private readonly waiters = new Set<() => void>();

  async handle(m: Exclude<Request, { cmd: 'exit' }>): Promise<unknown> {
    switch (m.cmd) {
      case 'poll-start':
        this.polling = await startPollingClients(m.spec);
        return null;
      case 'poll-stop': {
        const pollMs = (await this.polling?.close()) ?? [];
        this.polling = null;
        return pollMs;
      }
      case 'cycles':
        return this.cycles(m.endpoint, m.n);
      case 'subscribe':
        return this.subscribe(m.spec);
      case 'await-event':
        return this.awaitEvent(m.key, m.timeoutMs);
      case 'unsubscribe':
        for (const s of this.subscribers.splice(0)) await s.probe.close();
        return null;
    }
  }

  private async cycles(endpoint: string, n: number): Promise<number[]> {
    const cycleMs: number[] = [];
    for (let i = 0; i < n; i++) {
      const t0 = performance.now();
      await sessionCycle(endpoint);
      cycleMs.push(performance.now() - t0);
    }
    return cycleMs;
  }

  private async subscribe(spec: SubscribeSpec): Promise<Subscribed> {
    const refused: string[] = [];
    const t0 = performance.now();
    for (let i = 0; i < spec.count; i += spec.batch) {
      const batch = Array.from({ length: Math.min(spec.batch, spec.count - i) }, async () => {
        const receivedAt = new Map<string, number>();
        const onEvent = (key: string, t: number) => {
          receivedAt.set(key, epochNow(t));
          for (const w of this.waiters) w();
        };
        const probe = await probeResultReady(
          spec.endpoint,
          spec.line,
          spec.station,
          { requestedPublishingMs: spec.publishingMs, key: 'order' },
          onEvent,
        );
        return { probe, receivedAt };
      });
      for (const r of await Promise.allSettled(batch)) {
        if (r.status === 'fulfilled') this.subscribers.push(r.value);
        else refused.push((r.reason as Error).message);
      }
    }
    return { opened: this.subscribers.length, refused, openMs: performance.now() - t0 };
  }

  /** Receipt times (epoch ms) of event `key` in every subscriber, once all have it. */
  private awaitEvent(key: string, timeoutMs: number): Promise<number[]> {
    let check = () => {};
    const all = new Promise<number[]>((resolve) => {
      check = () => {
        if (this.subscribers.every((s) => s.receivedAt.has(key))) resolve(this.subscribers.map((s) => s.receivedAt.get(key)!));
      };
    });
    this.waiters.add(check);
    check();
    return withDeadline(all, timeoutMs, `event ${key} in ${this.subscribers.length} subscribers`).finally(() => this.waiters.delete(check));
  }
}

/** The child's side: answers requests until `exit`. */
export function runClientProcess(): Promise<void> {
  const side = new ClientSide();
  const reply = (r: Reply) => process.send?.(r);
  return new Promise((resolve) => {
    process.on('message', (m: Request) => {
      if (m.cmd === 'exit') return resolve();
      side.handle(m).then(
        (ok) => reply({ ok: ok ?? null }),
        (err: unknown) => reply({ error: (err as Error).message }),
      );
    });
  });
}

/** The parent's handle on a forked client process. */
export interface ClientProcess {
  startPolling(spec: PollingSpec): Promise<PollingClients>;
  /** `n` sequential connect → createSession → close → disconnect cycles; each cycle's ms. */
  cycles(endpoint: string, n: number): Promise<number[]>;
  subscribe(spec: SubscribeSpec): Promise<Subscribed>;
  /** Receipt times (epoch ms) of the subscribers' `n`-th event (1-based) once every one has it. */
  awaitEvent(n: number, timeoutMs?: number): Promise<number[]>;
  unsubscribe(): Promise<void>;
  exit(): Promise<void>;
}

/** Forks `script` (a bench that calls runClientProcess() when BENCH_MES_ROLE=clients) and drives it. */
export function forkClientProcess(script: string): ClientProcess {
  const child = fork(script, [], {
    env: { ...process.env, BENCH_MES_ROLE: 'clients' },
    execArgv: ['--import', 'tsx'],
    stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
  });
  const request = async <T>(m: Request, timeoutMs = 600_000): Promise<T> => {
    const answer = withDeadline(
      new Promise<Reply>((resolve) => child.once('message', (r: Reply) => resolve(r))),
      timeoutMs,
      `client process: ${m.cmd}`,
    );
    child.send(m);
    const r = await answer;
    if ('error' in r) throw new Error(`client process, ${m.cmd}: ${r.error}`);
    return r.ok as T;
  };
  return {
    async startPolling(spec) {
      await request({ cmd: 'poll-start', spec }, 60_000);
      return { close: () => request<number[]>({ cmd: 'poll-stop' }, 60_000) };
    },
    cycles: (endpoint, n) => request({ cmd: 'cycles', endpoint, n }),
    subscribe: (spec) => request({ cmd: 'subscribe', spec }),
    awaitEvent: (n, timeoutMs = 10_000) => request({ cmd: 'await-event', key: `#${n}`, timeoutMs }, timeoutMs + 5_000),
    unsubscribe: () => request({ cmd: 'unsubscribe' }, 120_000),
    async exit() {
      const exited = once(child, 'exit');
      child.send({ cmd: 'exit' } satisfies Request);
      await withDeadline(exited, 10_000, 'client process exit');
    },
  };
}
