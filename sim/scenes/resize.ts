/**
 * The runtime's preprocessing for Mono8 frames: bilinear resize with half-pixel centres
 * (src = (dst + 0.5) * scale − 0.5, clamped to the image) followed by input = (p/255 − mean) / std.
 */
export function resizeBilinearMono8ToFloat(
  src: Uint8Array,
  sw: number,
  sh: number,
  dst: Float32Array,
  dw: number,
  dh: number,
  mean: number,
  std: number,
): Float32Array {
  if (src.length < sw * sh) throw new RangeError('resizeBilinearMono8ToFloat: source too small');
  if (dst.length < dw * dh) throw new RangeError('resizeBilinearMono8ToFloat: destination too small');
  const sx = sw / dw;
  const sy = sh / dh;
  const k = 1 / (255 * std);
  const b = mean / std;
  for (let y = 0; y < dh; y++) {
    let fy = (y + 0.5) * sy - 0.5;
    if (fy < 0) fy = 0;
    if (fy > sh - 1) fy = sh - 1;
    const y0 = Math.floor(fy);
    const y1 = y0 < sh - 1 ? y0 + 1 : y0;
    const wy = fy - y0;
    const r0 = y0 * sw;
    const r1 = y1 * sw;
    for (let x = 0; x < dw; x++) {
      let fx = (x + 0.5) * sx - 0.5;
      if (fx < 0) fx = 0;
      if (fx > sw - 1) fx = sw - 1;
      const x0 = Math.floor(fx);
      const x1 = x0 < sw - 1 ? x0 + 1 : x0;
      const wx = fx - x0;
      const top = src[r0 + x0]! + (src[r0 + x1]! - src[r0 + x0]!) * wx;
      const bot = src[r1 + x0]! + (src[r1 + x1]! - src[r1 + x0]!) * wx;
      dst[y * dw + x] = (top + (bot - top) * wy) * k - b;
    }
  }
  return dst;
}
