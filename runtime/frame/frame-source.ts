/** The frame source contract (re-exported by runtime/adapter.ts, where the adapter contracts are listed). */
import type { FrameSlot } from './frame-slot.ts';

/**
 * A camera or replay. The station owns timing (free-run ticks or triggers) and hands the source a free slot;
 * the source writes the next frame into it in place. Throw LS_ERR_FRAME_CORRUPT for a frame that cannot be
 * decoded (the station counts and skips it) and LS_ERR_SOURCE_EXHAUSTED when a finite source has ended.
 */
export interface FrameSource {
  readonly type: string;
  /** Largest frame the source will deliver, so the station can size its pool at boot. */
  readonly maxWidth: number;
  readonly maxHeight: number;
  readonly channels: number;
  open(): Promise<void>;
  grab(slot: FrameSlot): Promise<void>;
  close(): Promise<void>;
}
