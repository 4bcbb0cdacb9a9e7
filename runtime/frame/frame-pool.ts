import { FrameSlot } from './frame-slot.ts';

/**
 * A fixed ring of frame slots allocated at boot. With no free slot `acquire` returns null and counts the
 * miss: the caller applies the station's backpressure policy. Nothing here allocates after construction.
 */
export class FramePool {
  readonly slots: readonly FrameSlot[];
  readonly capacityBytes: number;
  private readonly free: Int32Array;
  private freeCount: number;
  /** Times acquire found no free slot. */
  exhausted = 0;

  constructor(slotCount: number, capacityBytes: number) {
    if (!Number.isInteger(slotCount) || slotCount < 1) throw new RangeError(`slotCount must be ≥ 1, got ${slotCount}`);
    const slots: FrameSlot[] = [];
    for (let i = 0; i < slotCount; i++) slots.push(new FrameSlot(i, capacityBytes));
    this.slots = slots;
    this.capacityBytes = capacityBytes;
    this.free = new Int32Array(slotCount);
    for (let i = 0; i < slotCount; i++) this.free[i] = slotCount - 1 - i;
    this.freeCount = slotCount;
  }

  get available(): number {
    return this.freeCount;
  }

  acquire(): FrameSlot | null {
    if (this.freeCount === 0) {
      this.exhausted++;
      return null;
    }
    const slot = this.slots[this.free[--this.freeCount]!]!;
    slot.inUse = true;
    return slot;
  }

  release(slot: FrameSlot): void {
    if (!slot.inUse) throw new Error(`frame slot ${slot.index} released twice`);
    slot.inUse = false;
    slot.partId = null;
    slot.truth = null;
    this.free[this.freeCount++] = slot.index;
  }
}
