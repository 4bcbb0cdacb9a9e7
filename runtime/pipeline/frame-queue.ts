/** A bounded FIFO of frame slots between acquisition and inference; a preallocated ring, no array shifts. */
import type { FrameSlot } from '../frame/frame-slot.ts';

export class FrameQueue {
  private readonly ring: (FrameSlot | null)[];
  private head = 0;
  private size = 0;

  readonly capacity: number;

  constructor(capacity: number) {
    this.capacity = capacity;
    this.ring = new Array<FrameSlot | null>(capacity).fill(null);
  }

  get length(): number {
    return this.size;
  }

  get full(): boolean {
    return this.size === this.capacity;
  }

  push(slot: FrameSlot): void {
    if (this.size === this.capacity) throw new Error('frame queue overflow');
    this.ring[(this.head + this.size) % this.capacity] = slot;
    this.size++;
  }

  shift(): FrameSlot | null {
    if (this.size === 0) return null;
    const slot = this.ring[this.head]!;
    this.ring[this.head] = null;
    this.head = (this.head + 1) % this.capacity;
    this.size--;
    return slot;
  }
}
