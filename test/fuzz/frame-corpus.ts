/**
 * Seeded corpus of broken frames for the frame fuzz test, written into a temp folder at test time: a good
 * surface frame (the surface model's golden frame, 512² grey) and a drilled plate (sim/scenes/holes.ts, the other
 * station's scene) encoded as PNG, JPEG, TIFF and BMP, then truncated, bit-flipped, overwritten, given bad CRCs,
 * wrong magic, lying headers (extreme dimensions), other sizes and pixel formats; and frames that decode fine
 * but show no part (black, white, grey, lens cap, saturated, blurred, noise, half a transfer).
 *
 * The oracle for "may this be OK?": a frame may be judged OK only when it decodes to (nearly) the good surface
 * frame it was made from — `reference` names those pixels (the unmutated encoding, decoded) — and the test checks
 * that by comparing the decoded pixels. Everything else (wrong size, other scene, no part, damaged pixels) is
 * never OK. `mustFail` marks files that are certain to be refused by the decoder (structure broken).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import sharp from 'sharp';
import { Prng } from '../../sim/scenes/prng.ts';
import { renderDrilledPlate } from '../../sim/scenes/holes.ts';
import { ROOT } from '../helpers/cli.ts';
import {
  bmp,
  fixPngCrc,
  flipBits,
  jpegClaiming,
  jpegScanStart,
  overwriteRuns,
  overwriteShare,
  pngChunks,
  pngClaiming,
  tiff,
} from './frame-encoders.ts';

/** The station's frame size (configs/demo-line.yaml, surface). */
export const SIZE = 512;

export const FRAME_CLASSES = [
  'control',
  'truncated',
  'bit-flip',
  'overwrite',
  'png-crc',
  'wrong-magic',
  'empty',
  'wrong-size',
  'huge-header',
  'wrong-format',
  'not-a-part',
] as const;
export type FrameClass = (typeof FRAME_CLASSES)[number];

export interface FrameCase {
  readonly id: string;
  readonly klass: FrameClass;
  readonly note: string;
  readonly file: string;
  /** The good pixels this file encodes, when it encodes the good surface frame at the station's size. */
  readonly reference: Uint8Array | null;
  /** The decoder must refuse it (LS_ERR_FRAME_CORRUPT or _UNREADABLE). */
  readonly mustFail: boolean;
}

interface Encoded {
  readonly ext: string;
  readonly bytes: Buffer;
  /** The good pixels it decodes to when unmutated (lossy formats: its own decode). */
  readonly reference: Uint8Array | null;
}

type Grey = Uint8Array;
const raw = (g: Grey, w = SIZE, h = SIZE, channels: 1 | 3 | 4 = 1) => sharp(g, { raw: { width: w, height: h, channels } });

async function decodeGrey(bytes: Buffer): Promise<Grey> {
  const { data } = await sharp(bytes).greyscale().raw().toBuffer({ resolveWithObject: true });
  return new Uint8Array(data);
}

/** The good surface frame: the surface model's golden frame as 512² grey. */
async function surfaceFrame(): Promise<Grey> {
  const png = readFileSync(path.join(ROOT, 'models/surface-anomaly/golden-frame.png'));
  const { data, info } = await sharp(png).greyscale().raw().toBuffer({ resolveWithObject: true });
  if (info.width !== SIZE || info.height !== SIZE) throw new Error(`golden frame is ${info.width}×${info.height}, expected ${SIZE}²`);
  return new Uint8Array(data);
}

function plateFrame(seed: number): Grey {
  const out = new Uint8Array(SIZE * SIZE);
  renderDrilledPlate({ seed, width: SIZE, height: SIZE, mmPerPx: 0.05 }, out);
  return out;
}

/** PNG, JPEG (q90), TIFF (LZW) and BMP encodings of one grey frame. */
async function encodings(g: Grey, isGood: boolean): Promise<Record<'png' | 'jpg' | 'tif' | 'bmp', Encoded>> {
  const jpg = await raw(g).jpeg({ quality: 90 }).toBuffer();
  const ref = (r: Grey) => (isGood ? r : null);
  return {
    png: { ext: 'png', bytes: await raw(g).png().toBuffer(), reference: ref(g) },
    jpg: { ext: 'jpg', bytes: jpg, reference: ref(await decodeGrey(jpg)) },
    tif: { ext: 'tif', bytes: await raw(g).tiff({ compression: 'lzw' }).toBuffer(), reference: ref(g) },
    bmp: { ext: 'bmp', bytes: bmp(g, SIZE, SIZE), reference: ref(g) },
  };
}

class Builder {
  readonly cases: FrameCase[] = [];
  private readonly dir: string;

  constructor(dir: string) {
    this.dir = dir;
  }

  add(klass: FrameClass, note: string, ext: string, bytes: Buffer, o: { reference?: Grey | null; mustFail?: boolean } = {}): void {
    const id = `f${String(this.cases.length + 1).padStart(3, '0')}-${klass}`;
    const file = path.join(this.dir, `${id}.${ext}`);
    writeFileSync(file, bytes);
    this.cases.push({ id, klass, note, file, reference: o.reference ?? null, mustFail: o.mustFail ?? false });
  }
}

/** Writes the corpus into `dir` (which must exist) and returns its cases in a fixed order. */
export async function writeFrameCorpus(dir: string, seed = 14): Promise<FrameCase[]> {
  const rng = new Prng(seed);
  const good = await surfaceFrame();
  const plate = plateFrame(5001);
  const enc = await encodings(good, true);
  const plateEnc = await encodings(plate, false);
  const b = new Builder(dir);
  for (const e of Object.values(enc))
    b.add('control', `the good surface frame as ${e.ext.toUpperCase()}`, e.ext, e.bytes, { reference: e.reference });
  truncations(b, enc, plateEnc);
  bitFlips(b, rng, enc, plateEnc);
  overwrites(b, rng, enc);
  pngCrc(b, enc.png);
  wrongMagic(b, rng, enc);
  empty(b);
  await wrongSizes(b, good);
  await hugeHeaders(b, good, enc);
  await wrongFormats(b, good);
  await notAPart(b, rng, good, plate, plateEnc);
  return b.cases;
}

function truncations(b: Builder, enc: Record<string, Encoded>, plateEnc: Record<string, Encoded>): void {
  for (const e of Object.values(enc)) {
    for (const share of [0.02, 0.2, 0.5, 0.8, 0.95, 0.999]) {
      const at = Math.floor(e.bytes.length * share);
      b.add('truncated', `${e.ext.toUpperCase()} cut at ${share * 100}% (byte ${at} of ${e.bytes.length})`, e.ext, e.bytes.subarray(0, at), {
        mustFail: true,
      });
    }
  }
  b.add('truncated', 'PNG cut after the signature and IHDR', 'png', enc.png!.bytes.subarray(0, 33), { mustFail: true });
  b.add('truncated', 'PNG without its IEND chunk', 'png', enc.png!.bytes.subarray(0, enc.png!.bytes.length - 12), { mustFail: true });
  b.add('truncated', 'JPEG without its EOI marker', 'jpg', enc.jpg!.bytes.subarray(0, enc.jpg!.bytes.length - 2), { mustFail: true });
  b.add('truncated', 'JPEG cut right after its SOS header', 'jpg', enc.jpg!.bytes.subarray(0, jpegScanStart(enc.jpg!.bytes)), { mustFail: true });
  b.add('truncated', 'BMP with only its 54 header bytes', 'bmp', enc.bmp!.bytes.subarray(0, 54), { mustFail: true });
  b.add('truncated', 'BMP cut 1 byte short', 'bmp', enc.bmp!.bytes.subarray(0, enc.bmp!.bytes.length - 1), { mustFail: true });
  b.add('truncated', 'TIFF with only its header', 'tif', enc.tif!.bytes.subarray(0, 8), { mustFail: true });
  for (const e of Object.values(plateEnc)) {
    const at = Math.floor(e.bytes.length * 0.6);
    b.add('truncated', `drilled plate ${e.ext.toUpperCase()} cut at 60%`, e.ext, e.bytes.subarray(0, at), { mustFail: true });
  }
}

function bitFlips(b: Builder, rng: Prng, enc: Record<string, Encoded>, plateEnc: Record<string, Encoded>): void {
  for (const e of Object.values(enc)) {
    for (const n of [1, 1, 8, 64, 1024]) {
      // Every byte of a PNG is covered by the signature or a CRC: any flip must be caught.
      b.add('bit-flip', `${e.ext.toUpperCase()} with ${n} random bit(s) flipped`, e.ext, flipBits(e.bytes, rng, n), {
        reference: e.reference,
        mustFail: e.ext === 'png',
      });
    }
    b.add('bit-flip', `${e.ext.toUpperCase()} with 16 bits flipped in its first 64 bytes (headers)`, e.ext, flipBits(e.bytes, rng, 16, 0, 64), {
      reference: e.reference,
      mustFail: e.ext === 'png',
    });
  }
  for (const e of Object.values(plateEnc))
    b.add('bit-flip', `drilled plate ${e.ext.toUpperCase()} with 32 bits flipped`, e.ext, flipBits(e.bytes, rng, 32), { mustFail: e.ext === 'png' });
}

function overwrites(b: Builder, rng: Prng, enc: Record<string, Encoded>): void {
  for (const e of Object.values(enc)) {
    for (const [runs, len] of [
      [1, 16],
      [4, 256],
      [1, 8192],
    ] as const) {
      b.add('overwrite', `${e.ext.toUpperCase()} with ${runs} run(s) of ${len} random bytes`, e.ext, overwriteRuns(e.bytes, rng, runs, len), {
        reference: e.reference,
        mustFail: e.ext === 'png',
      });
    }
  }
  const jpg = enc.jpg!;
  const scan = jpegScanStart(jpg.bytes);
  for (const share of [0.3, 0.3, 0.3, 0.05, 0.6]) {
    b.add(
      'overwrite',
      `JPEG with ${share * 100}% of its entropy-coded data overwritten`,
      'jpg',
      overwriteShare(jpg.bytes, rng, share, scan, jpg.bytes.length - 2),
      {
        reference: jpg.reference,
        mustFail: share >= 0.3,
      },
    );
  }
  // The same damage in the pixels of uncompressed formats: they decode, and the pixels say what happened.
  b.add('overwrite', 'BMP with 30% of its pixel bytes overwritten', 'bmp', overwriteShare(enc.bmp!.bytes, rng, 0.3, 54), {
    reference: enc.bmp!.reference,
  });
  const tif = tiff(enc.png!.reference!, SIZE, SIZE);
  b.add('overwrite', 'uncompressed TIFF with 30% of its pixel bytes overwritten', 'tif', overwriteShare(tif, rng, 0.3, tif.length - SIZE * SIZE), {
    reference: enc.png!.reference,
  });
}

function pngCrc(b: Builder, png: Encoded): void {
  const chunks = pngChunks(png.bytes);
  for (const type of ['IHDR', 'IDAT', 'IEND']) {
    const c = chunks.find((x) => x.type === type)!;
    const bad = Buffer.from(png.bytes);
    const at = c.offset + 8 + c.length;
    bad[at] = bad[at]! ^ 0xff;
    b.add('png-crc', `PNG with a bad ${type} CRC`, 'png', bad, { mustFail: true });
  }
  const idat = chunks.find((x) => x.type === 'IDAT')!;
  const zlib = Buffer.from(png.bytes);
  zlib.fill(0x55, idat.offset + 8 + 2, idat.offset + 8 + Math.min(idat.length, 4096));
  fixPngCrc(zlib, idat.offset);
  b.add('png-crc', 'PNG with garbage zlib data under a valid IDAT CRC', 'png', zlib, { mustFail: true });
  const type = Buffer.from(png.bytes);
  type.write('IDAX', idat.offset + 4, 'latin1');
  fixPngCrc(type, idat.offset);
  b.add('png-crc', 'PNG whose IDAT is renamed to an unknown critical chunk', 'png', type, { mustFail: true });
}

function wrongMagic(b: Builder, rng: Prng, enc: Record<string, Encoded>): void {
  const patched = (e: Encoded, at: number, bytes: number[]) => {
    const out = Buffer.from(e.bytes);
    bytes.forEach((v, i) => (out[at + i] = v));
    return out;
  };
  b.add('wrong-magic', 'PNG with its first signature byte changed', 'png', patched(enc.png!, 0, [0x88]), { mustFail: true });
  b.add('wrong-magic', 'JPEG starting FF D9 instead of FF D8', 'jpg', patched(enc.jpg!, 1, [0xd9]), { mustFail: true });
  b.add('wrong-magic', 'TIFF with version 43 (BigTIFF) in a classic header', 'tif', patched(enc.tif!, 2, [43]), { mustFail: true });
  b.add('wrong-magic', "BMP starting 'MB'", 'bmp', patched(enc.bmp!, 0, [0x4d, 0x42]), { mustFail: true });
  b.add('wrong-magic', 'random bytes named .png', 'png', Buffer.from(Array.from({ length: 4096 }, () => rng.int(0, 255))), { mustFail: true });
  b.add('wrong-magic', 'a text file named .jpg', 'jpg', Buffer.from('this is not an image\n'.repeat(50)), { mustFail: true });
  b.add('wrong-magic', 'a PNG named .bmp', 'bmp', enc.png!.bytes, { reference: enc.png!.reference });
  b.add('wrong-magic', 'a JPEG named .tif', 'tif', enc.jpg!.bytes, { reference: enc.jpg!.reference });
  b.add('wrong-magic', 'a line YAML named .png', 'png', readFileSync(path.join(ROOT, 'configs/demo-line.yaml')), { mustFail: true });
}

function empty(b: Builder): void {
  for (const ext of ['png', 'jpg', 'tif', 'bmp']) b.add('empty', `zero-length .${ext}`, ext, Buffer.alloc(0), { mustFail: true });
  b.add('empty', 'one NUL byte .png', 'png', Buffer.alloc(1), { mustFail: true });
  b.add('empty', 'JPEG SOI + EOI only', 'jpg', Buffer.from([0xff, 0xd8, 0xff, 0xd9]), { mustFail: true });
  b.add('empty', 'PNG signature only', 'png', Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), { mustFail: true });
  b.add('empty', "'BM' only", 'bmp', Buffer.from('BM'), { mustFail: true });
}

async function wrongSizes(b: Builder, good: Grey): Promise<void> {
  const sizes: [number, number, 'png' | 'jpg'][] = [
    [1, 1, 'png'],
    [2, 2, 'png'],
    [16, 16, 'png'],
    [256, 256, 'png'],
    [511, 512, 'png'],
    [512, 511, 'png'],
    [513, 512, 'png'],
    [640, 480, 'png'],
    [640, 480, 'jpg'],
    [1024, 1024, 'png'],
    [2048, 64, 'png'],
    [64, 2048, 'jpg'],
  ];
  for (const [w, h, fmt] of sizes) {
    const img = raw(good).resize(w, h, { fit: 'fill' });
    const bytes = fmt === 'png' ? await img.png().toBuffer() : await img.jpeg({ quality: 90 }).toBuffer();
    b.add('wrong-size', `the good frame resized to ${w}×${h} (${fmt.toUpperCase()})`, fmt, bytes);
  }
  const crop = new Uint8Array(300 * 200);
  for (let y = 0; y < 200; y++) crop.set(good.subarray(y * SIZE, y * SIZE + 300), y * 300);
  b.add('wrong-size', 'a 300×200 crop of the good frame (BMP)', 'bmp', bmp(crop, 300, 200));
  // Real pixels at extreme sizes: a camera at the wrong resolution (67 MP), one past the 100 MP decode limit.
  const big = (n: number) =>
    sharp({ create: { width: n, height: n, channels: 3, background: { r: 120, g: 120, b: 120 } } })
      .greyscale()
      .png({ compressionLevel: 9 })
      .toBuffer();
  b.add('wrong-size', 'a real 8192×8192 grey PNG (67 MP)', 'png', await big(8192));
  b.add('wrong-size', 'a real 10240×10240 grey PNG (105 MP, past the decode limit)', 'png', await big(10240), { mustFail: true });
}

async function hugeHeaders(b: Builder, good: Grey, enc: Record<string, Encoded>): Promise<void> {
  const small = await raw(good.subarray(0, 64 * 64), 64, 64)
    .png()
    .toBuffer();
  for (const [w, h] of [
    [8192, 8192],
    [65535, 65535],
    [2 ** 31 - 1, 1],
    [1, 2 ** 31 - 1],
    [0, 0],
    [512, 0],
    [2 ** 32 - 1, 2 ** 32 - 1],
  ] as const) {
    b.add('huge-header', `PNG IHDR claims ${w}×${h} over 64×64 data`, 'png', pngClaiming(small, w, h), { mustFail: true });
  }
  for (const [w, h] of [
    [8192, 8192],
    [65535, 65535],
    [0, 512],
    [512, 0],
  ] as const) {
    b.add('huge-header', `JPEG SOF claims ${w}×${h}`, 'jpg', jpegClaiming(enc.jpg!.bytes, w, h), { mustFail: true });
  }
  const tinyGrey = good.subarray(0, 16 * 16);
  for (const [w, h] of [
    [8192, 8192],
    [100_000, 100_000],
    [2 ** 32 - 1, 1],
    [0, 16],
  ] as const) {
    b.add('huge-header', `TIFF claims ${w}×${h} over 16×16 data`, 'tif', tiff(tinyGrey, 16, 16, { declaredWidth: w, declaredHeight: h }), {
      mustFail: true,
    });
  }
  const bmps: [string, Parameters<typeof bmp>[3]][] = [
    ['claims 8192×8192', { declaredWidth: 8192, declaredHeight: 8192 }],
    ['claims 100000×100000', { declaredWidth: 100_000, declaredHeight: 100_000 }],
    ['claims a negative width', { declaredWidth: -512 }],
    ['claims height -2^31', { declaredHeight: -(2 ** 31) }],
    ['claims 2^31-1 × 2', { declaredWidth: 2 ** 31 - 1, declaredHeight: 2 }],
    ['claims 0 bits per pixel', { declaredBpp: 0 }],
    ['claims 16 bits per pixel', { declaredBpp: 16 }],
    ['claims RLE8 compression', { bpp: 8, compression: 1 }],
    ['has its pixel data offset past the end', { dataOffset: 0x7fffffff }],
    ['has its pixel data offset at 0', { dataOffset: 0 }],
  ];
  for (const [note, o] of bmps) b.add('huge-header', `BMP ${note}`, 'bmp', bmp(tinyGrey, 16, 16, o), { mustFail: true });
}

async function wrongFormats(b: Builder, good: Grey): Promise<void> {
  const rgb = new Uint8Array(SIZE * SIZE * 3);
  const rgba = new Uint8Array(SIZE * SIZE * 4);
  for (let i = 0; i < SIZE * SIZE; i++) {
    rgb.fill(good[i]!, i * 3, i * 3 + 3);
    rgba.fill(good[i]!, i * 4, i * 4 + 3);
    rgba[i * 4 + 3] = 255;
  }
  const ok = { reference: good };
  b.add('wrong-format', '16-bit grey PNG', 'png', await raw(good).toColourspace('grey16').png().toBuffer(), ok);
  b.add('wrong-format', '16-bit RGB PNG', 'png', await raw(rgb, SIZE, SIZE, 3).toColourspace('rgb16').png().toBuffer(), ok);
  b.add('wrong-format', 'RGB PNG', 'png', await raw(rgb, SIZE, SIZE, 3).png().toBuffer(), ok);
  b.add('wrong-format', 'RGBA PNG (opaque)', 'png', await raw(rgba, SIZE, SIZE, 4).png().toBuffer(), ok);
  b.add('wrong-format', 'palette PNG (256 colours)', 'png', await raw(good).png({ palette: true, colours: 256, dither: 0 }).toBuffer(), ok);
  b.add('wrong-format', 'palette PNG (2 colours)', 'png', await raw(good).png({ palette: true, colours: 2, dither: 0 }).toBuffer(), ok);
  b.add('wrong-format', 'interlaced (Adam7) PNG', 'png', await raw(good).png({ progressive: true }).toBuffer(), ok);
  const cmyk = await raw(rgb, SIZE, SIZE, 3).toColourspace('cmyk').jpeg({ quality: 95 }).toBuffer();
  b.add('wrong-format', 'CMYK JPEG', 'jpg', cmyk, { reference: await decodeGrey(cmyk) });
  const prog = await raw(good).jpeg({ quality: 90, progressive: true }).toBuffer();
  b.add('wrong-format', 'progressive JPEG', 'jpg', prog, { reference: await decodeGrey(prog) });
  const rgbJpg = await raw(rgb, SIZE, SIZE, 3).jpeg({ quality: 90, chromaSubsampling: '4:4:4' }).toBuffer();
  b.add('wrong-format', 'RGB 4:4:4 JPEG', 'jpg', rgbJpg, { reference: await decodeGrey(rgbJpg) });
  b.add('wrong-format', '16-bit grey TIFF', 'tif', tiff(good, SIZE, SIZE, { sample: 'u16' }), ok);
  b.add('wrong-format', '32-bit float TIFF (values 0–1)', 'tif', tiff(good, SIZE, SIZE, { sample: 'f32' }), ok);
  b.add('wrong-format', 'deflate TIFF', 'tif', await raw(good).tiff({ compression: 'deflate' }).toBuffer(), ok);
  const jt = await raw(good).tiff({ compression: 'jpeg', quality: 90 }).toBuffer();
  b.add('wrong-format', 'JPEG-compressed TIFF', 'tif', jt, { reference: await decodeGrey(jt) });
  b.add('wrong-format', '8-bit palette BMP', 'bmp', bmp(good, SIZE, SIZE, { bpp: 8 }), ok);
  b.add('wrong-format', '32-bit BMP', 'bmp', bmp(good, SIZE, SIZE, { bpp: 32 }), ok);
  b.add('wrong-format', 'top-down BMP', 'bmp', bmp(good, SIZE, SIZE, { topDown: true }), ok);
  b.add('wrong-format', 'lossless WebP named .png', 'png', await raw(good).webp({ lossless: true }).toBuffer(), ok);
  b.add('wrong-format', 'GIF named .png', 'png', await raw(good).gif().toBuffer(), ok);
}

/** A 512² grey frame from a per-pixel function. */
function frame(f: (x: number, y: number, i: number) => number): Grey {
  const g = new Uint8Array(SIZE * SIZE);
  for (let y = 0, i = 0; y < SIZE; y++) for (let x = 0; x < SIZE; x++, i++) g[i] = Math.max(0, Math.min(255, Math.round(f(x, y, i))));
  return g;
}

async function notAPart(b: Builder, rng: Prng, good: Grey, plate: Grey, plateEnc: Record<string, Encoded>): Promise<void> {
  const png = (g: Grey) => raw(g).png().toBuffer();
  const frames: [string, Grey | Promise<Grey>][] = [
    ['all black', frame(() => 0)],
    ['all white', frame(() => 255)],
    ['uniform grey 128', frame(() => 128)],
    ['uniform grey 119 (the training mean)', frame(() => 119)],
    ['lens cap: dark with sensor noise', frame(() => 4 + 2 * rng.normal())],
    ['lens cap with hot pixels', frame(() => (rng.next() < 0.001 ? 255 : 3 + rng.normal()))],
    ['saturated: the good frame ×3', frame((_x, _y, i) => good[i]! * 3)],
    ['overexposed: the good frame +150', frame((_x, _y, i) => good[i]! + 150)],
    ['nearly dark: the good frame ×0.05', frame((_x, _y, i) => good[i]! * 0.05)],
    ['uniform random noise', frame(() => rng.int(0, 255))],
    ['Gaussian noise at the training mean (119 ± 8)', frame(() => 119 + 8 * rng.normal())],
    ['Gaussian noise 119 ± 31', frame(() => 119 + 31 * rng.normal())],
    ['horizontal ramp', frame((x) => (x / (SIZE - 1)) * 255)],
    ['8-pixel checkerboard', frame((x, y) => (((x >> 3) + (y >> 3)) & 1 ? 200 : 50))],
    ['vertical stripes', frame((x) => (x % 16 < 8 ? 90 : 150))],
    ['bottom half black (transfer dropped)', frame((_x, y, i) => (y < SIZE / 2 ? good[i]! : 0))],
    ['bottom 40% grey-filled (truncated transfer)', frame((_x, y, i) => (y < SIZE * 0.6 ? good[i]! : 128))],
    ['bottom 60% repeats the last good row', frame((x, y, i) => (y < SIZE * 0.4 ? good[i]! : good[Math.floor(SIZE * 0.4 - 1) * SIZE + x]!))],
    ['the part small in a corner, black around it', frame((x, y) => (x < 128 && y < 128 ? good[y * 4 * SIZE + x * 4]! : 0))],
    ['the drilled plate (the other station)', plate],
    [
      'blurred σ 6',
      raw(good)
        .blur(6)
        .raw()
        .toBuffer()
        .then((d) => new Uint8Array(d)),
    ],
    [
      'blurred σ 20',
      raw(good)
        .blur(20)
        .raw()
        .toBuffer()
        .then((d) => new Uint8Array(d)),
    ],
  ];
  for (const [note, g] of frames) b.add('not-a-part', note, 'png', await png(await g));
  b.add(
    'not-a-part',
    'all black as JPEG',
    'jpg',
    await raw(frame(() => 0))
      .jpeg()
      .toBuffer(),
  );
  b.add(
    'not-a-part',
    'all white as BMP',
    'bmp',
    bmp(
      frame(() => 255),
      SIZE,
      SIZE,
    ),
  );
  b.add(
    'not-a-part',
    'uniform grey as TIFF',
    'tif',
    tiff(
      frame(() => 128),
      SIZE,
      SIZE,
    ),
  );
  b.add(
    'not-a-part',
    'lens cap as JPEG',
    'jpg',
    await raw(frame(() => 4 + 2 * rng.normal()))
      .jpeg()
      .toBuffer(),
  );
  b.add('not-a-part', 'the drilled plate as JPEG', 'jpg', plateEnc.jpg!.bytes);
  b.add('not-a-part', 'the drilled plate as BMP', 'bmp', plateEnc.bmp!.bytes);
}
