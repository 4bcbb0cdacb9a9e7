/** Separable Gaussian blur in place (optics: defocus, lens blur), clamped borders; shared by the generators. */
export function gaussianBlurInPlace(img: Float32Array, W: number, H: number, sigma: number, tmp: Float32Array = new Float32Array(W * H)): void {
  const r = Math.max(1, Math.ceil(3 * sigma));
  const k = new Float32Array(2 * r + 1);
  let sum = 0;
  for (let i = -r; i <= r; i++) sum += k[i + r] = Math.exp(-(i * i) / (2 * sigma * sigma));
  for (let i = 0; i < k.length; i++) k[i] = k[i]! / sum;
  for (let y = 0; y < H; y++)
    for (let x = 0; x < W; x++) {
      let acc = 0;
      for (let i = -r; i <= r; i++) acc += k[i + r]! * img[y * W + Math.min(W - 1, Math.max(0, x + i))]!;
      tmp[y * W + x] = acc;
    }
  for (let y = 0; y < H; y++)
    for (let x = 0; x < W; x++) {
      let acc = 0;
      for (let i = -r; i <= r; i++) acc += k[i + r]! * tmp[Math.min(H - 1, Math.max(0, y + i)) * W + x]!;
      img[y * W + x] = acc;
    }
}
