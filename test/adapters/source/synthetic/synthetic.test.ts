import { describe, expect, it } from 'vitest';
import synthetic, { SyntheticSourceSchema } from '../../../../adapters/source/synthetic/index.ts';
import { FrameSlot } from '../../../../runtime/frame/frame-slot.ts';
import { pino } from 'pino';

const options = SyntheticSourceSchema.parse({ type: 'synthetic', scene: 'surface', width: 64, height: 64, seed: 1000, count: 5 });
const ctx = { log: pino({ level: 'silent' }), configDir: '.', line: 'line-1', station: 'st-1' };

/** Opens the source, grabs `n` parts, closes it: their ids and a checksum of each image. */
async function run(source: ReturnType<typeof synthetic.create>, n: number): Promise<{ ids: string[]; images: number[] }> {
  await source.open();
  const slot = new FrameSlot(0, 64 * 64);
  const ids: string[] = [];
  const images: number[] = [];
  for (let i = 0; i < n; i++) {
    slot.partId = null;
    await source.grab(slot);
    ids.push(slot.partId!);
    images.push(slot.data.reduce((a, v, k) => (a + v * (k + 1)) % 1_000_003, 0));
  }
  await source.close();
  return { ids, images };
}

describe('synthetic source part ids', () => {
  it('are SYN-<run>-<seed>: the same images after a restart, never the same ids', async () => {
    const source = synthetic.create(options, ctx);
    const first = await run(source, 5);
    const restarted = await run(source, 5);
    const otherProcessLike = await run(synthetic.create(options, ctx), 5);
    for (const r of [first, restarted, otherProcessLike]) {
      expect(r.ids.every((id) => /^SYN-[0-9A-Z]+-100[0-4]$/.test(id))).toBe(true);
      expect(r.ids.map((id) => id.split('-')[2])).toEqual(['1000', '1001', '1002', '1003', '1004']);
      expect(new Set(r.ids.map((id) => id.split('-')[1])).size).toBe(1); // one run id per open
    }
    expect(restarted.images).toEqual(first.images);
    expect(otherProcessLike.images).toEqual(first.images);
    const all = [...first.ids, ...restarted.ids, ...otherProcessLike.ids];
    expect(new Set(all).size).toBe(all.length);
  });

  it('keeps an id the trigger gave the part', async () => {
    const source = synthetic.create(options, ctx);
    await source.open();
    const slot = new FrameSlot(0, 64 * 64);
    slot.partId = 'P-1';
    await source.grab(slot);
    expect(slot.partId).toBe('P-1');
  });
});
