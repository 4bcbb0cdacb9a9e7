import { Writable } from 'node:stream';
import { pino, type Logger } from 'pino';
import { describe, expect, it } from 'vitest';
import logAdapter from '../../../../adapters/sink/log/index.ts';
import { makeResult } from '../../../fakes/make-result.ts';

/** A pino logger at info whose JSON lines are collected, parsed, in `lines`. */
function captureLog(): { lines: Record<string, unknown>[]; log: Logger } {
  const lines: Record<string, unknown>[] = [];
  const stream = new Writable({
    write(chunk, _enc, done) {
      lines.push(JSON.parse(String(chunk)) as Record<string, unknown>);
      done();
    },
  });
  return { lines, log: pino({ level: 'info' }, stream) };
}

describe('log sink', () => {
  it('writes one structured line per result through the station logger', async () => {
    const { lines, log } = captureLog();
    const options = logAdapter.schema.parse({ type: 'log' });
    const sink = logAdapter.create(options, { log, configDir: '.', line: 'line-1', station: 'st-10' });
    expect(sink.durable).toBe(false);

    const nok = makeResult({ verdict: 'NOK', partId: 'P-77' });
    nok.sequence = 12;
    await sink.deliver(nok);
    await new Promise((resolve) => setImmediate(resolve));

    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({
      sink: 'log',
      sequence: 12,
      station: 'st-10',
      partId: 'P-77',
      verdict: 'NOK',
      reasons: ['SCRATCH'],
      totalMs: nok.timings.totalMs,
      msg: 'inspection result',
    });
  });

  it('honours its level for NOK results too (no second terminal line at debug), and nokLevel when given', async () => {
    const { lines, log } = captureLog();
    const ctx = { log, configDir: '.', line: 'line-1', station: 'st-10' };
    const quiet = logAdapter.create(logAdapter.schema.parse({ type: 'log', level: 'debug' }), ctx);
    await quiet.deliver(makeResult({ verdict: 'NOK', partId: 'P-1' }));
    await quiet.deliver(makeResult({ verdict: 'OK', partId: 'P-2' }));
    const nokOnly = logAdapter.create(logAdapter.schema.parse({ type: 'log', level: 'debug', nokLevel: 'info' }), ctx);
    await nokOnly.deliver(makeResult({ verdict: 'OK', partId: 'P-3' }));
    await nokOnly.deliver(makeResult({ verdict: 'NOK', partId: 'P-4' }));
    await new Promise((resolve) => setImmediate(resolve));
    expect(lines.map((l) => l.partId)).toEqual(['P-4']);
  });

  it('rejects unknown options', () => {
    expect(logAdapter.schema.safeParse({ type: 'log', colour: true }).success).toBe(false);
  });
});
