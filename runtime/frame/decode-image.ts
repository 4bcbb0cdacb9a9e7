/**
 * Decodes one image file into raw pixels: PNG, JPEG, TIFF through sharp, BMP through our own reader (libvips
 * has no BMP loader). Decoding is complete or refused: libvips warnings (libjpeg's "Corrupt JPEG data", a PNG
 * chunk with a bad CRC) fail the frame (`failOn: 'warning'`), PNG chunks are checked first so the message says
 * which chunk is broken, and a frame of more than `maxPixels` pixels (100 MP unless told) is refused before its
 * pixels are allocated.
 *
 * A file that cannot be read at all (missing, no permission, a directory, not a regular file) is
 * LS_ERR_FRAME_UNREADABLE; one that is read but cannot be decoded is LS_ERR_FRAME_CORRUPT. Both name the file.
 */
import { readFile, stat } from 'node:fs/promises';
import sharp from 'sharp';
import { LinesightError, reasonOf } from '../errors.ts';
import { channelsOf, FrameSlot, type PixelFormat } from './frame-slot.ts';
import { decodeBmp, type DecodedImage } from './bmp.ts';
import { checkPngChunks, isPng } from './png-check.ts';

export const IMAGE_EXTENSIONS: ReadonlySet<string> = new Set(['.png', '.jpg', '.jpeg', '.bmp', '.tif', '.tiff']);

/** Largest frame decoded unless a caller says otherwise: 100 megapixels (≈ 300 MB as RGB8). */
export const MAX_INPUT_PIXELS = 100_000_000;

export interface DecodeOptions {
  /** Frames with more pixels than this are corrupt (default MAX_INPUT_PIXELS). */
  readonly maxPixels?: number;
}

type ImageKind = 'PNG' | 'JPEG' | 'TIFF' | 'BMP' | null;

export async function decodeImageFile(file: string, format: PixelFormat, options: DecodeOptions = {}): Promise<DecodedImage> {
  const channels = channelsOf(format) as 1 | 3;
  const maxPixels = options.maxPixels ?? MAX_INPUT_PIXELS;
  const bytes = await readImageBytes(file, maxPixels);
  const kind = sniff(bytes);
  try {
    if (kind === 'BMP') return decodeBmp(bytes, channels, maxPixels);
    if (kind === 'PNG') checkPngChunks(bytes);
    return await decodeWithSharp(bytes, channels, maxPixels);
  } catch (err) {
    const detail = await describeFailure(err, kind, bytes, maxPixels);
    throw new LinesightError('LS_ERR_FRAME_CORRUPT', `${file}: ${detail}`, { file, format: kind }, { cause: err });
  }
}

/**
 * Reads one image file into a frame slot of its own size: for one-shot tools (inspect, eval, training) that
 * run the station's preprocessing on files. The line itself uses pooled slots filled by its source.
 */
export async function readFrameFile(file: string, format: PixelFormat, options: DecodeOptions = {}): Promise<FrameSlot> {
  const image = await decodeImageFile(file, format, options);
  const slot = new FrameSlot(0, image.data.length);
  slot.data.set(image.data);
  slot.width = image.width;
  slot.height = image.height;
  slot.pixelFormat = format;
  return slot;
}

/** The file's bytes; stat first, so a FIFO or a device is refused instead of read forever. */
async function readImageBytes(file: string, maxPixels: number): Promise<Buffer> {
  try {
    const st = await stat(file);
    if (st.isDirectory()) throw Object.assign(new Error('EISDIR: is a directory'), { code: 'EISDIR' });
    if (!st.isFile()) throw Object.assign(new Error('not a regular file'), { code: 'ENOTREG' });
    // No encoding makes a file much larger than its raw pixels; past that it is not a frame.
    const maxBytes = maxPixels * 4 + 16 * 1024 * 1024;
    if (st.size > maxBytes) {
      throw new LinesightError('LS_ERR_FRAME_CORRUPT', `${file}: ${st.size} bytes, more than any frame of ≤ ${maxPixels} pixels`, { file });
    }
    return await readFile(file);
  } catch (err) {
    if (err instanceof LinesightError) throw err;
    throw new LinesightError(
      'LS_ERR_FRAME_UNREADABLE',
      `cannot read ${file}: ${reasonOf(err)}`,
      { file, errno: (err as NodeJS.ErrnoException).code },
      { cause: err },
    );
  }
}

function sniff(b: Uint8Array): ImageKind {
  if (isPng(b)) return 'PNG';
  if (b.length >= 3 && b[0] === 0xff && b[1] === 0xd8 && b[2] === 0xff) return 'JPEG';
  if (
    b.length >= 4 &&
    ((b[0] === 0x49 && b[1] === 0x49 && b[2] === 0x2a && b[3] === 0) || (b[0] === 0x4d && b[1] === 0x4d && b[2] === 0 && b[3] === 0x2a))
  )
    return 'TIFF';
  if (b.length >= 2 && b[0] === 0x42 && b[1] === 0x4d) return 'BMP';
  return null;
}

async function decodeWithSharp(bytes: Buffer, channels: 1 | 3, maxPixels: number): Promise<DecodedImage> {
  let img = sharp(bytes, { failOn: 'warning', limitInputPixels: maxPixels });
  img = channels === 1 ? img.greyscale() : img.removeAlpha().toColourspace('srgb');
  const { data, info } = await img.raw().toBuffer({ resolveWithObject: true });
  if (info.channels !== channels) throw new Error(`decoded ${info.channels} channels, wanted ${channels}`);
  return { width: info.width, height: info.height, channels, data: new Uint8Array(data.buffer, data.byteOffset, data.byteLength) };
}

/** One line saying what is wrong: our own check's words, or libvips' with the format it was reading. */
async function describeFailure(err: unknown, kind: ImageKind, bytes: Buffer, maxPixels: number): Promise<string> {
  const raw = err instanceof Error ? err.message : String(err);
  const message = raw.split('\n').filter(Boolean).join('; ') || 'no reason given';
  if (/pixel limit/i.test(message)) {
    const size = await sharp(bytes, { limitInputPixels: false })
      .metadata()
      .then((m) => `${m.width}×${m.height} = ${(m.width ?? 0) * (m.height ?? 0)} pixels`)
      .catch(() => 'the frame');
    return `${size} exceeds the limit of ${maxPixels} pixels`;
  }
  if (kind === null) return `not a PNG, JPEG, TIFF or BMP image (${message})`;
  if (message.startsWith(kind) || message.startsWith('BMP')) return message;
  const libvips = message === 'Unknown error' ? 'libvips gave no reason' : message;
  return `corrupt or truncated ${kind} (${libvips})`;
}

export type { DecodedImage };
