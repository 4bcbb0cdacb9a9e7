/** Pixel formats named as GenICam's PFNC names them. */
export type PixelFormat = 'Mono8' | 'RGB8';

export function channelsOf(format: PixelFormat): number {
  return format === 'Mono8' ? 1 : 3;
}

/** Ground truth a synthetic source knows about the part it rendered (absent for real cameras). */
export interface PartTruth {
  readonly defective: boolean;
  readonly defects: readonly { readonly kind: string; readonly bboxPx: readonly [number, number, number, number] }[];
  readonly params: Readonly<Record<string, unknown>>;
}

/**
 * One preallocated frame buffer. Every field is set in the constructor so slots keep one hidden class
 * (fastify's same-shape rule); sources write pixels into `data` and fill the header fields in place.
 */
export class FrameSlot {
  readonly index: number;
  /** Capacity bytes; the frame occupies the first width*height*channels bytes. */
  readonly data: Uint8Array;
  width: number;
  height: number;
  pixelFormat: PixelFormat;
  /** Source-side frame counter; gaps show frames the source dropped. */
  sequence: number;
  /**
   * performance.now() when the trigger fired and when the frame was complete. Doubles, not hrtime bigints:
   * a BigInt is a heap allocation per call and the frame path allocates nothing.
   */
  triggerMs: number;
  captureMs: number;
  /** Date.now() at capture, for wall-clock records. */
  captureEpochMs: number;
  partId: string | null;
  truth: PartTruth | null;
  /** Set by the pool; a slot in use is owned by exactly one stage at a time. */
  inUse: boolean;

  constructor(index: number, capacityBytes: number) {
    this.index = index;
    this.data = new Uint8Array(capacityBytes);
    this.width = 0;
    this.height = 0;
    this.pixelFormat = 'Mono8';
    this.sequence = 0;
    this.triggerMs = 0;
    this.captureMs = 0;
    this.captureEpochMs = 0;
    this.partId = null;
    this.truth = null;
    this.inUse = false;
  }

  get byteLength(): number {
    return this.width * this.height * channelsOf(this.pixelFormat);
  }

  /** The frame's pixels as a view over the slot's buffer (no copy). */
  pixels(): Uint8Array {
    return this.data.subarray(0, this.byteLength);
  }
}
