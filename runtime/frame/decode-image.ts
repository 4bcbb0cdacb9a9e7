/**
 * Decodes one image file into raw pixels: PNG, JPEG, TIFF through sharp, BMP through our own reader (libvips
 * has no BMP loader). Every failure is LS_ERR_FRAME_CORRUPT naming the file, so callers count and skip it.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import sharp from 'sharp';
import { LinesightError } from '../errors.ts';
import { channelsOf, FrameSlot, type PixelFormat } from './frame-slot.ts';
import { decodeBmp, isBmp, type DecodedImage } from './bmp.ts';

export const IMAGE_EXTENSIONS: ReadonlySet<string> = new Set(['.png', '.jpg', '.jpeg', '.bmp', '.tif', '.tiff']);

export async function decodeImageFile(file: string, format: PixelFormat): Promise<DecodedImage> {
  const channels = channelsOf(format) as 1 | 3;
  let bytes: Buffer;
  try {
    bytes = await readFile(file);
  } catch (err) {
    throw new LinesightError('LS_ERR_FRAME_CORRUPT', `cannot read ${file}`, { file }, { cause: err });
  }
  try {
    if (isBmp(bytes)) return decodeBmp(bytes, channels);
    let img = sharp(bytes, { failOn: 'error' });
    img = channels === 1 ? img.greyscale() : img.removeAlpha().toColourspace('srgb');
    const { data, info } = await img.raw().toBuffer({ resolveWithObject: true });
    if (info.channels !== channels) throw new Error(`decoded ${info.channels} channels, wanted ${channels}`);
    return { width: info.width, height: info.height, channels, data: new Uint8Array(data.buffer, data.byteOffset, data.byteLength) };
  } catch (err) {
    throw new LinesightError('LS_ERR_FRAME_CORRUPT', `${path.basename(file)}: ${(err as Error).message}`, { file }, { cause: err });
  }
}

/**
 * Reads one image file into a frame slot of its own size: for one-shot tools (inspect, eval, training) that
 * run the station's preprocessing on files. The line itself uses pooled slots filled by its source.
 */
export async function readFrameFile(file: string, format: PixelFormat): Promise<FrameSlot> {
  const image = await decodeImageFile(file, format);
  const slot = new FrameSlot(0, image.data.length);
  slot.data.set(image.data);
  slot.width = image.width;
  slot.height = image.height;
  slot.pixelFormat = format;
  return slot;
}

export type { DecodedImage };
