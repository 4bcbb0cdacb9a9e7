/**
 * Value ↔ Modbus register encoding shared by the Modbus client and server modes. A Modbus register is 16 bits;
 * 32-bit values take two. The Modbus spec fixes the byte order inside a register (big-endian) but not the order
 * of the two registers, and some devices swap the bytes too, so both are configurable:
 *
 *   value 0x11223344 as bytes A B C D = 11 22 33 44
 *   wordOrder big,    byteOrder big    → [0x1122, 0x3344]   "ABCD" (Modbus default, Siemens, Banner)
 *   wordOrder little, byteOrder big    → [0x3344, 0x1122]   "CDAB" (many Schneider/Modicon, Wago)
 *   wordOrder big,    byteOrder little → [0x2211, 0x4433]   "BADC"
 *   wordOrder little, byteOrder little → [0x4433, 0x2211]   "DCBA"
 */

export type RegisterType = 'int16' | 'uint16' | 'int32' | 'uint32' | 'float32';
export type Endianness = 'big' | 'little';

export interface RegisterOrder {
  readonly wordOrder: Endianness;
  readonly byteOrder: Endianness;
}

export const BIG_ENDIAN: RegisterOrder = Object.freeze({ wordOrder: 'big', byteOrder: 'big' });

export const REGISTER_TYPES = ['int16', 'uint16', 'int32', 'uint32', 'float32'] as const;

export function registerCount(type: RegisterType): 1 | 2 {
  return type === 'int16' || type === 'uint16' ? 1 : 2;
}

// One scratch buffer: encoding runs on the event loop only, never concurrently.
const scratch = new DataView(new ArrayBuffer(4));

function swapBytes(w: number): number {
  return ((w & 0xff) << 8) | (w >>> 8);
}

function clampInt(v: number, min: number, max: number): number {
  if (Number.isNaN(v)) return 0;
  return Math.min(max, Math.max(min, Math.round(v)));
}

/**
 * Writes `value × scale` as `type` into `out[offset..]`. Integers are rounded and saturate at their range (a
 * PLC compare on a wrapped value would pass a bad part); NaN becomes 0 for integers and stays NaN for float32.
 */
export function encodeValue(
  out: Uint16Array | number[],
  offset: number,
  type: RegisterType,
  value: number,
  scale: number,
  order: RegisterOrder,
): void {
  const v = value * scale;
  switch (type) {
    case 'int16':
      scratch.setInt16(0, clampInt(v, -0x8000, 0x7fff));
      break;
    case 'uint16':
      scratch.setUint16(0, clampInt(v, 0, 0xffff));
      break;
    case 'int32':
      scratch.setInt32(0, clampInt(v, -0x80000000, 0x7fffffff));
      break;
    case 'uint32':
      scratch.setUint32(0, clampInt(v, 0, 0xffffffff));
      break;
    case 'float32':
      scratch.setFloat32(0, v);
      break;
  }
  const swap = order.byteOrder === 'little';
  if (registerCount(type) === 1) {
    const w = scratch.getUint16(0);
    out[offset] = swap ? swapBytes(w) : w;
    return;
  }
  let hi = scratch.getUint16(0);
  let lo = scratch.getUint16(2);
  if (swap) {
    hi = swapBytes(hi);
    lo = swapBytes(lo);
  }
  if (order.wordOrder === 'big') {
    out[offset] = hi;
    out[offset + 1] = lo;
  } else {
    out[offset] = lo;
    out[offset + 1] = hi;
  }
}

/** Inverse of encodeValue (before scaling): what a PLC reading these registers sees. */
export function decodeValue(words: ArrayLike<number>, offset: number, type: RegisterType, order: RegisterOrder = BIG_ENDIAN): number {
  const swap = order.byteOrder === 'little';
  if (registerCount(type) === 1) {
    const w = words[offset]! & 0xffff;
    scratch.setUint16(0, swap ? swapBytes(w) : w);
    return type === 'int16' ? scratch.getInt16(0) : scratch.getUint16(0);
  }
  let hi = words[offset]! & 0xffff;
  let lo = words[offset + 1]! & 0xffff;
  if (order.wordOrder === 'little') [hi, lo] = [lo, hi];
  if (swap) {
    hi = swapBytes(hi);
    lo = swapBytes(lo);
  }
  scratch.setUint16(0, hi);
  scratch.setUint16(2, lo);
  if (type === 'int32') return scratch.getInt32(0);
  if (type === 'uint32') return scratch.getUint32(0);
  return scratch.getFloat32(0);
}

/** ASCII text, two characters per register, first character in the high byte, NUL padded, truncated to fit. */
export function encodeAscii(out: Uint16Array | number[], offset: number, words: number, text: string): void {
  for (let i = 0; i < words; i++) {
    const a = text.charCodeAt(2 * i);
    const b = text.charCodeAt(2 * i + 1);
    out[offset + i] = ((Number.isNaN(a) ? 0 : a & 0xff) << 8) | (Number.isNaN(b) ? 0 : b & 0xff);
  }
}

/** Reads ASCII text written by encodeAscii (or by a PLC string move), stopping at the first NUL; trims spaces. */
export function decodeAscii(words: ArrayLike<number>, offset: number, count: number): string {
  let s = '';
  for (let i = 0; i < count; i++) {
    const w = words[offset + i]! & 0xffff;
    const a = w >>> 8;
    const b = w & 0xff;
    if (a === 0) break;
    s += String.fromCharCode(a);
    if (b === 0) break;
    s += String.fromCharCode(b);
  }
  return s.trim();
}
