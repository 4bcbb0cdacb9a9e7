/**
 * A FrameSource that replays frames rendered once up front by the synthetic generator, so acquisition is a
 * memcpy and inference is the slow stage (what backpressure tests need).
 */
import type { FrameSource } from '../../runtime/adapter.ts';
import type { FrameSlot } from '../../runtime/frame/frame-slot.ts';
import { renderSurface } from '../../sim/scenes/surface.ts';

export class ReplaySource implements FrameSource {
  readonly type = 'replay';
  readonly maxWidth: number;
  readonly maxHeight: number;
  readonly channels = 1;
  private readonly frames: Uint8Array[] = [];
  private sequence = 0;
  grabs = 0;

  constructor(count: number, width = 512, height = 512, defectEvery = 4) {
    this.maxWidth = width;
    this.maxHeight = height;
    for (let i = 0; i < count; i++) {
      const buf = new Uint8Array(width * height);
      renderSurface({ seed: 40_000 + i, width, height, defect: i % defectEvery === defectEvery - 1 ? 'scratch' : null }, buf);
      this.frames.push(buf);
    }
  }

  async open(): Promise<void> {}

  async grab(slot: FrameSlot): Promise<void> {
    const frame = this.frames[this.sequence % this.frames.length];
    this.grabs++;
    slot.sequence = ++this.sequence;
    slot.width = this.maxWidth;
    slot.height = this.maxHeight;
    slot.pixelFormat = 'Mono8';
    slot.captureEpochMs = Date.now();
    slot.data.set(frame!);
  }

  async close(): Promise<void> {}
}
