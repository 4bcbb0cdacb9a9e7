/**
 * Replays the images of a folder in name order (PNG, JPEG, TIFF via sharp; BMP by our own reader), optionally
 * looping. A file that cannot be decoded or has the wrong size is reported as a corrupt frame: the station
 * counts it, logs it and goes on with the next file. A file that cannot be read (gone since the listing, no
 * permission) is LS_ERR_FRAME_UNREADABLE, which the station counts with its source errors and also goes on.
 */
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { defineAdapter, type FrameSource } from '../../../runtime/adapter.ts';
import { LinesightError } from '../../../runtime/errors.ts';
import { channelsOf, type FrameSlot } from '../../../runtime/frame/frame-slot.ts';
import { decodeImageFile, IMAGE_EXTENSIONS, MAX_INPUT_PIXELS } from '../../../runtime/frame/decode-image.ts';

export const FolderSourceSchema = z
  .object({
    type: z.literal('folder').describe('Replay image files from a folder'),
    path: z.string().min(1).describe('Folder of images, relative to the line YAML unless absolute'),
    width: z.number().int().positive().max(65_535).describe('Expected frame width; other sizes are skipped as corrupt'),
    height: z.number().int().positive().max(65_535).describe('Expected frame height'),
    pixelFormat: z.enum(['Mono8', 'RGB8']).default('Mono8').describe('Frames are converted to this format'),
    loop: z.boolean().default(false).describe('Start again after the last file instead of ending'),
  })
  .strict()
  .refine((o) => o.width * o.height <= MAX_INPUT_PIXELS, {
    message: `width × height must be at most ${MAX_INPUT_PIXELS} pixels (the decoder's limit)`,
    path: ['width'],
  });

export type FolderSourceOptions = z.output<typeof FolderSourceSchema>;

export class FolderSource implements FrameSource {
  readonly type = 'folder';
  readonly maxWidth: number;
  readonly maxHeight: number;
  readonly channels: number;
  private readonly dir: string;
  private readonly options: FolderSourceOptions;
  private files: string[] = [];
  private next = 0;
  private sequence = 0;

  constructor(options: FolderSourceOptions, configDir: string) {
    this.options = options;
    this.dir = path.resolve(configDir, options.path);
    this.maxWidth = options.width;
    this.maxHeight = options.height;
    this.channels = channelsOf(options.pixelFormat);
  }

  async open(): Promise<void> {
    let names: string[];
    try {
      names = readdirSync(this.dir);
    } catch (err) {
      throw new LinesightError('LS_ERR_SOURCE_FAILED', `cannot list ${this.dir}: ${(err as Error).message}`, { dir: this.dir }, { cause: err });
    }
    this.files = names
      .filter((n) => IMAGE_EXTENSIONS.has(path.extname(n).toLowerCase()))
      .sort((a, b) => a.localeCompare(b, 'en', { numeric: true }))
      .map((n) => path.join(this.dir, n));
    this.next = 0;
  }

  async grab(slot: FrameSlot): Promise<void> {
    if (this.next >= this.files.length) {
      if (!this.options.loop || this.files.length === 0) {
        throw new LinesightError('LS_ERR_SOURCE_EXHAUSTED', `no more images in ${this.dir}`, { dir: this.dir });
      }
      this.next = 0;
    }
    const file = this.files[this.next++]!;
    slot.sequence = ++this.sequence;
    slot.captureEpochMs = Date.now();
    const image = await decodeImageFile(file, this.options.pixelFormat);
    if (image.width !== this.options.width || image.height !== this.options.height) {
      throw new LinesightError(
        'LS_ERR_FRAME_SIZE',
        `${path.basename(file)} is ${image.width}x${image.height}, expected ${this.options.width}x${this.options.height}`,
        { file },
      );
    }
    slot.width = image.width;
    slot.height = image.height;
    slot.pixelFormat = this.options.pixelFormat;
    slot.data.set(image.data);
    // The file name is the best part id a replay has (e.g. a serial number in the file name).
    slot.partId ??= path.basename(file, path.extname(file));
  }

  async close(): Promise<void> {}
}

export default defineAdapter({
  kind: 'source',
  type: 'folder',
  schema: FolderSourceSchema,
  create: (options, ctx) => new FolderSource(options, ctx.configDir),
});
