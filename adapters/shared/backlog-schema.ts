/** The `backlog:` block of the PLC sinks: how large the sink's outbox may grow while the PLC is away. */
import { z } from 'zod';
import type { OutboxSinkOptions } from '../../runtime/adapter.ts';

export const BacklogSchema = z
  .object({
    max: z
      .number()
      .int()
      .min(1)
      .max(10_000_000)
      .default(10_000)
      .describe('Results owed to this sink above which the backlog is logged (and bounded by `overflow`)'),
    overflow: z
      .enum(['keep', 'drop-oldest'])
      .default('keep')
      .describe('keep: warn, deliver everything when the PLC returns; drop-oldest: give up the oldest beyond max (counted, they stay in the store)'),
  })
  .strict()
  .describe("Bounded backlog policy of this sink's outbox");

export function outboxOptions(b: z.output<typeof BacklogSchema>): OutboxSinkOptions {
  return Object.freeze({ maxBacklog: b.max, overflow: b.overflow });
}
