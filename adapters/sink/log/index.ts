/**
 * Log sink: one structured line per result through the station logger. Not durable: a lost log line is not worth
 * an outbox row per part, and the store already holds the full record.
 */
import { z } from 'zod';
import { defineAdapter, type ResultSink } from '../../../runtime/adapter.ts';

const schema = z
  .object({
    type: z.literal('log').describe('Log each result as one structured line.'),
    name: z.string().min(1).default('log').describe('Sink name, unique within the station.'),
    level: z.enum(['info', 'debug']).default('info').describe('Log level for OK results, and for NOK results unless nokLevel is given.'),
    nokLevel: z
      .enum(['info', 'debug'])
      .optional()
      .describe('Log level for NOK results (default: level). `level: debug, nokLevel: info` logs only NOK parts at info.'),
  })
  .strict()
  .describe('Structured log line per inspection result.');

export default defineAdapter({
  kind: 'sink',
  type: 'log',
  schema,
  create(options, ctx): ResultSink {
    const log = ctx.log.child({ sink: options.name });
    return {
      type: 'log',
      name: options.name,
      durable: false,
      async open() {},
      async deliver(result) {
        const line = {
          sequence: result.sequence,
          station: result.station,
          partId: result.partId,
          verdict: result.verdict,
          reasons: result.reasons.map((r) => r.code),
          totalMs: result.timings.totalMs,
        };
        const level = result.verdict === 'NOK' ? (options.nokLevel ?? options.level) : options.level;
        log[level](line, 'inspection result');
      },
      async close() {},
    };
  },
});
