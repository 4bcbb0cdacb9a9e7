/**
 * Byte-level writers and patchers for the frame fuzz corpus: BMP and TIFF written here (so any header field can
 * lie: dimensions, bit depth, compression, offsets), PNG chunks re-CRC'd after a patch, JPEG markers found, and
 * seeded bit flips / overwrites. Pure functions over Buffers; sharp encodes everything else.
 */
import { crc32 } from 'node:zlib';
import type { Prng } from '../../sim/scenes/prng.ts';

export interface BmpOptions {
  readonly bpp?: 8 | 24 | 32;
  readonly topDown?: boolean;
  /** Header fields that lie about the pixel data that follows. */
  readonly declaredWidth?: number;
  readonly declaredHeight?: number;
  readonly declaredBpp?: number;
  readonly compression?: number;
  readonly dataOffset?: number;
}

/** A BMP of a grey image: 8-bit with a grey palette, or 24/32-bit BGR(X). */
export function bmp(grey: Uint8Array, width: number, height: number, o: BmpOptions = {}): Buffer {
  const bpp = o.bpp ?? 24;
  const palette = bpp === 8 ? 256 * 4 : 0;
  const rowBytes = Math.ceil((width * bpp) / 32) * 4;
  const offset = 54 + palette;
  const b = Buffer.alloc(offset + rowBytes * height);
  b.write('BM', 0, 'latin1');
  b.writeUInt32LE(b.length, 2);
  b.writeUInt32LE(o.dataOffset ?? offset, 10);
  b.writeUInt32LE(40, 14);
  b.writeInt32LE(o.declaredWidth ?? width, 18);
  b.writeInt32LE((o.declaredHeight ?? height) * (o.topDown ? -1 : 1), 22);
  b.writeUInt16LE(1, 26);
  b.writeUInt16LE(o.declaredBpp ?? bpp, 28);
  b.writeUInt32LE(o.compression ?? 0, 30);
  for (let i = 0; i < 256 && bpp === 8; i++) b.writeUInt32LE(i * 0x010101, 54 + i * 4);
  for (let y = 0; y < height; y++) {
    const row = offset + (o.topDown ? y : height - 1 - y) * rowBytes;
    for (let x = 0; x < width; x++) {
      const v = grey[y * width + x]!;
      if (bpp === 8) b[row + x] = v;
      else b.fill(v, row + x * (bpp / 8), row + x * (bpp / 8) + 3);
    }
  }
  return b;
}

export interface TiffOptions {
  /** 8 or 16-bit unsigned, or 32-bit float (values 0–1, as float TIFFs from scientific cameras hold). */
  readonly sample?: 'u8' | 'u16' | 'f32';
  readonly declaredWidth?: number;
  readonly declaredHeight?: number;
}

/** An uncompressed little-endian single-strip greyscale TIFF. */
export function tiff(grey: Uint8Array, width: number, height: number, o: TiffOptions = {}): Buffer {
  const sample = o.sample ?? 'u8';
  const bytesPer = sample === 'u8' ? 1 : sample === 'u16' ? 2 : 4;
  const data = Buffer.alloc(width * height * bytesPer);
  for (let i = 0; i < width * height; i++) {
    const v = grey[i]!;
    if (sample === 'u8') data[i] = v;
    else if (sample === 'u16') data.writeUInt16LE(v * 257, i * 2);
    else data.writeFloatLE(v / 255, i * 4);
  }
  const tags: [number, number, number][] = [
    [256, 4, o.declaredWidth ?? width], // ImageWidth, LONG
    [257, 4, o.declaredHeight ?? height], // ImageLength
    [258, 3, bytesPer * 8], // BitsPerSample, SHORT
    [259, 3, 1], // Compression: none
    [262, 3, 1], // Photometric: black is zero
    [273, 4, 0], // StripOffsets (patched below)
    [277, 3, 1], // SamplesPerPixel
    [278, 4, o.declaredHeight ?? height], // RowsPerStrip
    [279, 4, data.length], // StripByteCounts
    [339, 3, sample === 'f32' ? 3 : 1], // SampleFormat: uint or IEEE float
  ];
  const ifdSize = 2 + tags.length * 12 + 4;
  const head = Buffer.alloc(8 + ifdSize);
  head.write('II', 0, 'latin1');
  head.writeUInt16LE(42, 2);
  head.writeUInt32LE(8, 4);
  head.writeUInt16LE(tags.length, 8);
  tags.forEach(([tag, type, value], i) => {
    const at = 10 + i * 12;
    head.writeUInt16LE(tag, at);
    head.writeUInt16LE(type, at + 2);
    head.writeUInt32LE(1, at + 4);
    if (type === 3) head.writeUInt16LE(tag === 273 ? 0 : value, at + 8);
    else head.writeUInt32LE(tag === 273 ? head.length : value >>> 0, at + 8);
  });
  return Buffer.concat([head, data]);
}

/** Byte offset of each PNG chunk (its length field) with its type. */
export function pngChunks(png: Buffer): { offset: number; type: string; length: number }[] {
  const out: { offset: number; type: string; length: number }[] = [];
  for (let at = 8; at + 12 <= png.length;) {
    const length = png.readUInt32BE(at);
    out.push({ offset: at, type: png.toString('latin1', at + 4, at + 8), length });
    at += 12 + length;
  }
  return out;
}

/** Recomputes the CRC of the chunk at `offset` (after its data was patched). */
export function fixPngCrc(png: Buffer, offset: number): void {
  const length = png.readUInt32BE(offset);
  png.writeUInt32BE(crc32(png.subarray(offset + 4, offset + 8 + length)), offset + 8 + length);
}

/** A copy of the PNG whose IHDR claims width × height (CRC kept valid). */
export function pngClaiming(png: Buffer, width: number, height: number): Buffer {
  const out = Buffer.from(png);
  out.writeUInt32BE(width >>> 0, 16);
  out.writeUInt32BE(height >>> 0, 20);
  fixPngCrc(out, 8);
  return out;
}

/** Offset of the first entropy-coded byte (after the SOS header). */
export function jpegScanStart(jpeg: Buffer): number {
  for (let i = 2; i < jpeg.length - 3; i++) if (jpeg[i] === 0xff && jpeg[i + 1] === 0xda) return i + 2 + jpeg.readUInt16BE(i + 2);
  throw new Error('no SOS marker');
}

/** A copy of the JPEG whose SOF0/SOF2 frame header claims width × height. */
export function jpegClaiming(jpeg: Buffer, width: number, height: number): Buffer {
  const out = Buffer.from(jpeg);
  for (let i = 2; i < out.length - 9; i++) {
    if (out[i] === 0xff && (out[i + 1] === 0xc0 || out[i + 1] === 0xc2)) {
      out.writeUInt16BE(height, i + 5);
      out.writeUInt16BE(width, i + 7);
      return out;
    }
  }
  throw new Error('no SOF marker');
}

/** A copy with `n` random bits flipped in [from, to). */
export function flipBits(buf: Buffer, rng: Prng, n: number, from = 0, to = buf.length): Buffer {
  const out = Buffer.from(buf);
  for (let i = 0; i < n; i++) {
    const at = rng.int(from, to - 1);
    out[at] = out[at]! ^ (1 << rng.int(0, 7));
  }
  return out;
}

/** A copy with `runs` runs of `runLength` random bytes written over [from, length). */
export function overwriteRuns(buf: Buffer, rng: Prng, runs: number, runLength: number, from = 0): Buffer {
  const out = Buffer.from(buf);
  for (let r = 0; r < runs; r++) {
    const at = rng.int(from, Math.max(from, out.length - runLength));
    for (let i = at; i < Math.min(out.length, at + runLength); i++) out[i] = rng.int(0, 255);
  }
  return out;
}

/** A copy with about `share` of the bytes in [from, to) replaced by random ones (a failing link, a bad card). */
export function overwriteShare(buf: Buffer, rng: Prng, share: number, from: number, to = buf.length): Buffer {
  const out = Buffer.from(buf);
  for (let i = from; i < to; i++) if (rng.next() < share) out[i] = rng.int(0, 255);
  return out;
}
