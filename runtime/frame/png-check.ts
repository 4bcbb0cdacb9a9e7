/**
 * PNG structure check before decoding: every chunk complete and its CRC right, IHDR first, IEND present. libpng
 * through libvips says only "libpng read error" (or, for a bad CRC in IHDR, nothing at all: "Unknown error"); this
 * names the chunk, the byte offset and what is wrong, so a broken transfer is told from a broken camera.
 */
const SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a] as const;

export function isPng(buf: Uint8Array): boolean {
  return buf.length >= SIGNATURE.length && SIGNATURE.every((b, i) => buf[i] === b);
}

/** Throws an Error saying what is wrong with the PNG's chunk structure; returns when it is whole. */
export function checkPngChunks(buf: Uint8Array): void {
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  let offset: number = SIGNATURE.length;
  for (let index = 0; ; index++) {
    if (offset + 12 > buf.length) throw new Error(`PNG is truncated at byte ${offset} of ${buf.length}: no IEND chunk`);
    const length = view.getUint32(offset);
    const type = String.fromCharCode(buf[offset + 4]!, buf[offset + 5]!, buf[offset + 6]!, buf[offset + 7]!);
    if (!/^[A-Za-z]{4}$/.test(type)) throw new Error(`PNG chunk ${index} at byte ${offset} has no valid type`);
    if (index === 0 && type !== 'IHDR') throw new Error(`PNG starts with chunk ${type}, not IHDR`);
    const end = offset + 12 + length;
    if (end > buf.length)
      throw new Error(`PNG is truncated in chunk ${type} at byte ${offset}: ${length} data bytes declared, file ends at ${buf.length}`);
    const stored = view.getUint32(offset + 8 + length);
    const computed = crc32(buf, offset + 4, offset + 8 + length);
    if (stored !== computed) throw new Error(`PNG chunk ${type} at byte ${offset} has a bad CRC (stored ${hex(stored)}, computed ${hex(computed)})`);
    if (type === 'IEND') return;
    offset = end;
  }
}

const CRC_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

/** CRC-32 (ISO 3309, as PNG uses) of buf[start, end). */
function crc32(buf: Uint8Array, start: number, end: number): number {
  let c = 0xffffffff;
  for (let i = start; i < end; i++) c = CRC_TABLE[(c ^ buf[i]!) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

function hex(v: number): string {
  return `0x${v.toString(16).padStart(8, '0')}`;
}
