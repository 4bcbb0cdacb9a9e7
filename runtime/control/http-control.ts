/**
 * The daemon's HTTP control listener (line YAML `http:`), loopback by default. It is the software Trigger source
 * (runtime/pipeline/trigger.ts) for every station whose trigger is `{ mode: software }`:
 *
 *   GET  /stations                      each station: name, trigger mode, state, counters
 *   POST /stations/NAME/trigger         body (optional) {"partId": "P-1", "wait": true}
 *        202 {"accepted": true}                              queued (without wait)
 *        200 {"accepted": true, "result": {...}}             decided (with wait), the stored result
 *        200 {"accepted": true, "result": null}              the trigger yielded no part (frame lost)
 *        404 unknown station · 409 station not software-triggered · 503 refused (not running, maxParts)
 *        504 no decision within waitTimeoutMs
 *
 * `linesight trigger` is its command-line client. No authentication: bind it to loopback, or to a network the
 * plant controls.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import { LinesightError } from '../errors.ts';
import type { InspectionResult } from '../results/result.ts';
import type { TriggerSource, TriggerTarget } from '../pipeline/trigger.ts';

/** What the listener shows of a station besides triggering it. */
export interface StationView extends TriggerTarget {
  readonly state: string;
  readonly counters: object;
}

export interface HttpControlOptions {
  readonly host: string;
  readonly port: number;
  readonly log: Logger;
  /** Longest a `wait: true` trigger waits for its decision. */
  readonly waitTimeoutMs?: number;
}

const MAX_BODY_BYTES = 4096;

export class HttpControl implements TriggerSource {
  private readonly options: HttpControlOptions;
  private readonly server: Server;
  /** Every station, for GET /stations. */
  private readonly views = new Map<string, StationView>();
  /** Stations this listener may trigger (trigger mode software). */
  private readonly triggerable = new Map<string, TriggerTarget>();

  constructor(options: HttpControlOptions) {
    this.options = options;
    this.server = createServer((req, res) => {
      this.route(req, res).catch((err: unknown) => {
        options.log.warn({ err, url: req.url }, 'control request failed');
        reply(res, 500, { error: 'internal error' });
      });
    });
    this.server.requestTimeout = 60_000;
  }

  /** Shows a station in GET /stations. */
  show(station: StationView): void {
    this.views.set(station.name, station);
  }

  /** A software-triggered station: POST /stations/NAME/trigger reaches it. */
  bindTrigger(target: TriggerTarget): void {
    this.triggerable.set(target.name, target);
  }

  get port(): number {
    return (this.server.address() as AddressInfo | null)?.port ?? 0;
  }

  async listen(): Promise<void> {
    const { host, port } = this.options;
    await new Promise<void>((resolve, reject) => {
      const onError = (err: Error) =>
        reject(
          new LinesightError(
            'LS_ERR_HTTP_LISTEN_FAILED',
            `HTTP control listener cannot listen on ${host}:${port}: ${err.message}`,
            { host, port },
            { cause: err },
          ),
        );
      this.server.once('error', onError);
      this.server.listen(port, host, () => {
        this.server.off('error', onError);
        resolve();
      });
    });
    this.options.log.info({ endpoint: `http://${host}:${this.port}`, softwareTriggered: [...this.triggerable.keys()] }, 'HTTP control listening');
  }

  async close(): Promise<void> {
    if (!this.server.listening) return;
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private async route(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://control');
    if (req.method === 'GET' && url.pathname === '/stations') {
      reply(
        res,
        200,
        [...this.views.values()].map((s) => ({ name: s.name, state: s.state, softwareTrigger: this.triggerable.has(s.name), counters: s.counters })),
      );
      return;
    }
    const m = /^\/stations\/([^/]+)\/trigger$/.exec(url.pathname);
    if (m === null) return reply(res, 404, { error: `no route ${req.method ?? ''} ${url.pathname}` });
    if (req.method !== 'POST') return reply(res, 405, { error: 'use POST' });
    const name = decodeURIComponent(m[1] ?? '');
    const target = this.triggerable.get(name);
    if (target === undefined) {
      if (this.views.has(name)) return reply(res, 409, { error: `station ${name} is not software-triggered (trigger.mode is not software)` });
      return reply(res, 404, { error: `no station ${name}` });
    }
    const body = await readBody(req);
    if (typeof body === 'string') return reply(res, 400, { error: body });
    await this.trigger(target, body, res);
  }

  private async trigger(target: TriggerTarget, body: TriggerBody, res: ServerResponse): Promise<void> {
    let decided: (r: InspectionResult | null) => void = () => {};
    const decision = new Promise<InspectionResult | null>((resolve) => (decided = resolve));
    const outcome = target.trigger({ partId: body.partId, origin: 'http', onDecided: (r) => decided(r) });
    if (!outcome.accepted) return reply(res, 503, { accepted: false, reason: outcome.reason });
    if (!body.wait) return reply(res, 202, { accepted: true });
    const timeoutMs = this.options.waitTimeoutMs ?? 30_000;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<'timeout'>((resolve) => (timer = setTimeout(() => resolve('timeout'), timeoutMs)));
    const first = await Promise.race([decision, timeout]);
    clearTimeout(timer);
    if (first === 'timeout') return reply(res, 504, { accepted: true, error: `no decision within ${timeoutMs} ms` });
    reply(res, 200, { accepted: true, result: first });
  }
}

interface TriggerBody {
  readonly partId: string | null;
  readonly wait: boolean;
}

/** The parsed body, or a message saying what is wrong with it. */
async function readBody(req: IncomingMessage): Promise<TriggerBody | string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    const b = chunk as Buffer;
    size += b.length;
    if (size > MAX_BODY_BYTES) return `body over ${MAX_BODY_BYTES} bytes`;
    chunks.push(b);
  }
  const text = Buffer.concat(chunks).toString('utf8').trim();
  if (text === '') return { partId: null, wait: false };
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    return 'body is not JSON';
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return 'body must be a JSON object';
  const { partId, wait } = raw as { partId?: unknown; wait?: unknown };
  if (partId !== undefined && partId !== null && (typeof partId !== 'string' || partId.length > 64))
    return 'partId must be a string of at most 64 characters';
  if (wait !== undefined && typeof wait !== 'boolean') return 'wait must be true or false';
  return { partId: typeof partId === 'string' && partId !== '' ? partId : null, wait: wait === true };
}

function reply(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}
