import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { crc32 } from 'node:zlib';
import sharp from 'sharp';
import { afterAll, describe, expect, it } from 'vitest';
import { isLinesightError, type LinesightError } from '../../../runtime/errors.ts';
import { decodeImageFile, MAX_INPUT_PIXELS } from '../../../runtime/frame/decode-image.ts';

const dir = mkdtempSync(path.join(tmpdir(), 'ls-decode-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const W = 320,
  H = 240;
/** A textured grey frame (smooth waves plus fine structure), so JPEG has real entropy-coded data. */
const pixels = Buffer.alloc(W * H);
for (let y = 0; y < H; y++)
  for (let x = 0; x < W; x++) pixels[y * W + x] = (128 + 60 * Math.sin(x / 9) * Math.cos(y / 13) + ((x * 31 + y * 17) % 23)) | 0;
const encode = () => sharp(pixels, { raw: { width: W, height: H, channels: 1 } });

function write(name: string, bytes: Uint8Array): string {
  const file = path.join(dir, name);
  writeFileSync(file, bytes);
  return file;
}

async function failure(file: string, options?: { maxPixels?: number }): Promise<LinesightError> {
  const err: unknown = await decodeImageFile(file, 'Mono8', options).then(
    () => null,
    (e: unknown) => e,
  );
  if (!isLinesightError(err)) throw new Error(`${file} decoded, or failed without a LinesightError: ${String(err)}`);
  expect(err.message).toContain(file);
  expect(err.context.file).toBe(file);
  expect(err.cause).toBeDefined();
  return err;
}

/** Offset of the first byte after the JPEG's start-of-scan header: the entropy-coded data. */
function scanStart(jpeg: Buffer): number {
  for (let i = 2; i < jpeg.length - 3; i++) if (jpeg[i] === 0xff && jpeg[i + 1] === 0xda) return i + 2 + jpeg.readUInt16BE(i + 2);
  throw new Error('no SOS marker');
}

/** Overwrites ~30% of the entropy-coded bytes (seeded LCG), leaving the headers and EOI alone. */
function overwriteScan(jpeg: Buffer, seed: number): Buffer {
  const out = Buffer.from(jpeg);
  let x = seed;
  for (let i = scanStart(jpeg); i < out.length - 2; i++) {
    x = (x * 1103515245 + 12345) & 0x7fffffff;
    if (x % 100 < 30) out[i] = (x >> 8) & 0xff;
  }
  return out;
}

/** A PNG whose IHDR claims width × height, with valid CRCs, around the IDAT of a tiny image. */
async function pngClaiming(width: number, height: number): Promise<Buffer> {
  const png = Buffer.from(await encode().png().toBuffer());
  png.writeUInt32BE(width, 16);
  png.writeUInt32BE(height, 20);
  png.writeUInt32BE(crc32(png.subarray(12, 29)), 29);
  return png;
}

function bmp24(width: number, height: number, declaredWidth = width, declaredHeight = height): Buffer {
  const row = Math.ceil((width * 3) / 4) * 4;
  const b = Buffer.alloc(54 + row * height);
  b.write('BM', 0, 'latin1');
  b.writeUInt32LE(b.length, 2);
  b.writeUInt32LE(54, 10);
  b.writeUInt32LE(40, 14);
  b.writeInt32LE(declaredWidth, 18);
  b.writeInt32LE(declaredHeight, 22);
  b.writeUInt16LE(1, 26);
  b.writeUInt16LE(24, 28);
  for (let i = 54; i < b.length; i++) b[i] = i & 0xff;
  return b;
}

describe('decodeImageFile: complete decode or a named refusal', () => {
  it('decodes good PNG, JPEG, TIFF and BMP files', async () => {
    for (const [name, bytes] of [
      ['good.png', await encode().png().toBuffer()],
      ['good.jpg', await encode().jpeg({ quality: 90 }).toBuffer()],
      ['good.tif', await encode().tiff().toBuffer()],
      ['good.bmp', bmp24(W, H)],
    ] as const) {
      const img = await decodeImageFile(write(name, bytes), 'Mono8');
      expect([name, img.width, img.height, img.channels, img.data.length]).toEqual([name, W, H, 1, W * H]);
    }
  });

  it('decodes every shipped golden frame', async () => {
    const models = path.resolve(import.meta.dirname, '../../../models');
    const frames = readdirSync(models).map((m) => path.join(models, m, 'golden-frame.png'));
    expect(frames.length).toBeGreaterThan(0);
    for (const f of frames) expect((await decodeImageFile(f, 'Mono8')).width).toBeGreaterThan(0);
  });

  it('refuses a JPEG with ~30% of its entropy-coded data overwritten (libjpeg "Corrupt JPEG data" is not let through)', async () => {
    const jpeg = await encode().jpeg({ quality: 90 }).toBuffer();
    for (const seed of [1, 2, 3]) {
      const err = await failure(write(`overwritten-${seed}.jpg`, overwriteScan(jpeg, seed)));
      expect(err.code).toBe('LS_ERR_FRAME_CORRUPT');
      expect(err.message).toMatch(/corrupt or truncated JPEG \(VipsJpeg: Corrupt JPEG data/);
    }
  });

  it('refuses truncated JPEG, PNG and TIFF files, saying so', async () => {
    const cases = [
      ['cut.jpg', await encode().jpeg().toBuffer(), /JPEG \(VipsJpeg: premature end of JPEG image\)/],
      ['cut.png', await encode().png().toBuffer(), /PNG is truncated in chunk IDAT at byte \d+/],
      ['cut.tif', await encode().tiff({ compression: 'lzw' }).toBuffer(), /corrupt or truncated TIFF \(/],
    ] as const;
    for (const [name, bytes, message] of cases) {
      for (const share of [0.1, 0.5, 0.9]) {
        const err = await failure(write(`${share}-${name}`, bytes.subarray(0, Math.floor(bytes.length * share))));
        expect(err.code).toBe('LS_ERR_FRAME_CORRUPT');
        expect(err.message).toMatch(message);
      }
    }
  });

  it('names the PNG chunk whose CRC is wrong instead of "Unknown error"', async () => {
    const png = await encode().png().toBuffer();
    const ihdr = Buffer.from(png);
    ihdr[29] = ihdr[29]! ^ 0xff; // first byte of the IHDR CRC
    let err = await failure(write('crc-ihdr.png', ihdr));
    expect(err.message).toMatch(/PNG chunk IHDR at byte 8 has a bad CRC \(stored 0x[0-9a-f]{8}, computed 0x[0-9a-f]{8}\)/);
    expect(err.message).not.toMatch(/Unknown error/);
    const idat = Buffer.from(png);
    idat[png.length - 30] = idat[png.length - 30]! ^ 0x01; // inside the last IDAT's data
    err = await failure(write('crc-idat.png', idat));
    expect(err.code).toBe('LS_ERR_FRAME_CORRUPT');
    expect(err.message).toMatch(/PNG chunk IDAT at byte \d+ has a bad CRC/);
  });

  it('bounds the pixels decoded: extreme dimensions are corrupt before any allocation', async () => {
    let err = await failure(write('huge.png', await pngClaiming(50_000, 40_000)));
    expect(err.code).toBe('LS_ERR_FRAME_CORRUPT');
    expect(err.message).toContain(`50000×40000 = 2000000000 pixels exceeds the limit of ${MAX_INPUT_PIXELS} pixels`);
    err = await failure(write('small-limit.png', await encode().png().toBuffer()), { maxPixels: 10_000 });
    expect(err.message).toContain(`${W}×${H} = ${W * H} pixels exceeds the limit of 10000 pixels`);
    err = await failure(write('huge.bmp', bmp24(8, 8, 100_000, 100_000)));
    expect(err.message).toMatch(/BMP of 100000×100000 = 10000000000 pixels exceeds the limit/);
  });

  it('refuses a file in no known image format and a truncated BMP header', async () => {
    let err = await failure(write('text.png', Buffer.from('not an image at all\n')));
    expect(err.message).toMatch(/not a PNG, JPEG, TIFF or BMP image/);
    err = await failure(write('short.bmp', bmp24(4, 4).subarray(0, 30)));
    expect(err.message).toMatch(/BMP is truncated: 30 bytes/);
  });

  it('reports a file that cannot be read as LS_ERR_FRAME_UNREADABLE with the path and the cause', async () => {
    const missing = path.join(dir, 'gone.png');
    let err = await failure(missing);
    expect(err.code).toBe('LS_ERR_FRAME_UNREADABLE');
    expect(err.message).toBe(`LS_ERR_FRAME_UNREADABLE: cannot read ${missing}: ENOENT: no such file or directory`);
    expect(err.context.errno).toBe('ENOENT');
    const folder = path.join(dir, 'folder.png');
    mkdirSync(folder);
    err = await failure(folder);
    expect([err.code, err.context.errno]).toEqual(['LS_ERR_FRAME_UNREADABLE', 'EISDIR']);
    err = await failure('/dev/null'); // a device: refused, not read
    expect(err.code).toBe('LS_ERR_FRAME_UNREADABLE');
    expect(err.message).toMatch(/not a regular file/);
  });
});
