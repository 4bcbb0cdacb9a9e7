/** The `handshake:` options block shared by the Modbus server mode and the OPC UA sink. */
import { z } from 'zod';
import { DEFAULT_HANDSHAKE, type HandshakeOptions } from './handshake.ts';

export const HandshakeSchema = z
  .object({
    bufferDepth: z
      .number()
      .int()
      .min(1)
      .max(64)
      .default(DEFAULT_HANDSHAKE.bufferDepth)
      .describe('Results that may wait for the PLC, the one shown included (Cognex: 8); a trigger with this many waiting is counted as missed'),
    requireAck: z
      .boolean()
      .default(DEFAULT_HANDSHAKE.requireAck)
      .describe('true: each result stays shown until the PLC sets Results Ack; false: shown at once, the next overwrites it'),
    ackTimeoutMs: z
      .number()
      .int()
      .min(0)
      .max(3_600_000)
      .default(DEFAULT_HANDSHAKE.ackTimeoutMs)
      .describe('Error code 1 (ack timeout) when a shown result waits longer than this for Results Ack; 0 = never'),
    onAckTimeout: z
      .enum(['hold', 'release'])
      .default(DEFAULT_HANDSHAKE.onAckTimeout)
      .describe(
        'hold: keep showing the result (no result is skipped); release: drop Results Valid and show the next (counted, result stays in the store)',
      ),
    requireTriggerEnable: z
      .boolean()
      .default(DEFAULT_HANDSHAKE.requireTriggerEnable)
      .describe('Triggers count only while the PLC holds Trigger Enable (Cognex); false = always enabled'),
    inspectionTimeoutMs: z
      .number()
      .int()
      .min(0)
      .max(600_000)
      .default(DEFAULT_HANDSHAKE.inspectionTimeoutMs)
      .describe('A trigger without a result after this clears Busy and sets error code 2; 0 = never'),
  })
  .strict()
  .describe('PLC handshake: trigger / trigger ack / busy / results valid / results ack, smart-camera style');

export function handshakeOptions(o: z.output<typeof HandshakeSchema>): HandshakeOptions {
  return Object.freeze({ ...o });
}
