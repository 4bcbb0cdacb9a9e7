/**
 * Minimal BMP reader (sharp/libvips has no BMP loader): uncompressed BI_RGB 8-bit paletted, 24- and 32-bit,
 * bottom-up or top-down. Enough for the BMP exports of camera vendor tools; anything else is reported as
 * unsupported rather than guessed.
 */
export interface DecodedImage {
  width: number;
  height: number;
  channels: 1 | 3;
  data: Uint8Array;
}

/** Decodes a BMP; a frame of more than maxPixels pixels is refused before its pixels are allocated. */
export function decodeBmp(buf: Buffer, want: 1 | 3, maxPixels: number): DecodedImage {
  if (buf.length < 2 || buf[0] !== 0x42 || buf[1] !== 0x4d) throw new Error('not a BMP file');
  if (buf.length < 54) throw new Error(`BMP is truncated: ${buf.length} bytes, its headers alone take 54`);
  const dataOffset = buf.readUInt32LE(10);
  const headerSize = buf.readUInt32LE(14);
  const width = buf.readInt32LE(18);
  const rawHeight = buf.readInt32LE(22);
  const bpp = buf.readUInt16LE(28);
  const compression = buf.readUInt32LE(30);
  if (compression !== 0 && !(compression === 3 && bpp === 32)) throw new Error(`BMP compression ${compression} unsupported`);
  if (![8, 24, 32].includes(bpp)) throw new Error(`BMP with ${bpp} bits per pixel unsupported`);
  if (width <= 0 || rawHeight === 0) throw new Error('BMP has no pixels');
  const height = Math.abs(rawHeight);
  if (width * height > maxPixels) throw new Error(`BMP of ${width}×${height} = ${width * height} pixels exceeds the limit of ${maxPixels} pixels`);
  const topDown = rawHeight < 0;
  const rowBytes = Math.ceil((width * bpp) / 32) * 4;
  if (dataOffset + rowBytes * height > buf.length) throw new Error('BMP is truncated');
  const palette = 14 + headerSize;
  // Pixels start after the file header, the info header and (8 bpp) the palette; an offset into them is a broken file.
  const firstPixel = palette + (bpp === 8 ? (buf.readUInt32LE(46) || 256) * 4 : 0);
  if (headerSize < 40 || dataOffset < firstPixel)
    throw new Error(`BMP pixel data offset ${dataOffset} lies inside its headers (pixels start at ${firstPixel} or later)`);
  const out = new Uint8Array(width * height * want);
  for (let y = 0; y < height; y++) {
    const row = dataOffset + (topDown ? y : height - 1 - y) * rowBytes;
    for (let x = 0; x < width; x++) {
      let b: number, g: number, r: number;
      if (bpp === 8) {
        // The truncation check above covers the pixel rows; a palette index can still point past the file.
        const p = palette + buf[row + x]! * 4;
        if (p + 2 >= buf.length) throw new Error(`BMP palette index ${buf[row + x]!} is outside the file`);
        b = buf[p]!;
        g = buf[p + 1]!;
        r = buf[p + 2]!;
      } else {
        const p = row + x * (bpp / 8);
        b = buf[p]!;
        g = buf[p + 1]!;
        r = buf[p + 2]!;
      }
      const o = (y * width + x) * want;
      if (want === 1) out[o] = Math.round(0.299 * r + 0.587 * g + 0.114 * b);
      else {
        out[o] = r;
        out[o + 1] = g;
        out[o + 2] = b;
      }
    }
  }
  return { width, height, channels: want, data: out };
}
