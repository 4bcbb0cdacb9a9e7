/** Minimal .npy (format 1.0) writer for the Python lab training: C-order uint8 / uint16 / float32 arrays. */
import { writeFileSync } from 'node:fs';

type Data = Uint8Array | Uint16Array | Float32Array;

export function writeNpy(file: string, data: Data, shape: readonly number[]): void {
  const n = shape.reduce((a, b) => a * b, 1);
  if (n !== data.length) throw new Error(`writeNpy: ${data.length} values but shape ${shape.join('x')}`);
  const descr = data instanceof Uint8Array ? '|u1' : data instanceof Uint16Array ? '<u2' : '<f4';
  let header = `{'descr': '${descr}', 'fortran_order': False, 'shape': (${shape.join(', ')}${shape.length === 1 ? ',' : ''}), }`;
  // magic(6) + version(2) + header-length(2) + header, padded with spaces to a multiple of 64, ending in \n
  const total = Math.ceil((10 + header.length + 1) / 64) * 64;
  header = header.padEnd(total - 10 - 1, ' ') + '\n';
  const pre = new Uint8Array(10);
  pre.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0]);
  new DataView(pre.buffer).setUint16(8, header.length, true);
  const body = new Uint8Array(data.buffer, data.byteOffset, data.byteLength); // little-endian hosts only (x86/arm)
  writeFileSync(file, Buffer.concat([pre, Buffer.from(header, 'latin1'), body]));
}
