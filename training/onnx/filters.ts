/** Fixed filter kernels and graph fragments (reflect-padded separable blurs) shared by the demo models. */
import type { GraphBuilder } from './graph-builder.ts';

export function gauss1d(sigma: number, radius = Math.ceil(3 * sigma)): Float32Array {
  const k = new Float32Array(2 * radius + 1);
  let s = 0;
  for (let i = -radius; i <= radius; i++) s += k[i + radius] = Math.exp(-(i * i) / (2 * sigma * sigma));
  for (let i = 0; i < k.length; i++) k[i] = k[i]! / s;
  return k;
}

/** 2-D kernel of size (2r+1)² from f(x, y), x to the right and y down. */
export function kernel2d(r: number, f: (x: number, y: number) => number): Float64Array {
  const n = 2 * r + 1;
  const k = new Float64Array(n * n);
  for (let y = -r; y <= r; y++) for (let x = -r; x <= r; x++) k[(y + r) * n + (x + r)] = f(x, y);
  return k;
}

export function gauss2d(r: number, sigma: number): Float64Array {
  const k = kernel2d(r, (x, y) => Math.exp(-(x * x + y * y) / (2 * sigma * sigma)));
  const s = k.reduce((a, b) => a + b, 0);
  return k.map((v) => v / s);
}

export function zeroMeanUnitNorm(k: Float64Array): Float64Array {
  const m = k.reduce((a, b) => a + b, 0) / k.length;
  const z = k.map((v) => v - m);
  const n = Math.sqrt(z.reduce((a, b) => a + b * b, 0));
  return z.map((v) => v / n);
}

/** Reflect-pad a [1,C,H,W] tensor by r on every spatial side. */
export function reflectPad(g: GraphBuilder, x: string, r: number): string {
  return g.op('Pad', [x, g.constI64([0, 0, r, r, 0, 0, r, r])], { mode: 'reflect' });
}

/** Depthwise separable Gaussian blur of a [1,C,H,W] tensor with reflect borders; keeps the shape. */
export function blurSep(g: GraphBuilder, x: string, channels: number, sigma: number): string {
  const k = gauss1d(sigma);
  const r = (k.length - 1) / 2;
  const wh = new Float32Array(channels * k.length);
  for (let c = 0; c < channels; c++) wh.set(k, c * k.length);
  const padded = reflectPad(g, x, r);
  const kh = g.addInitializer(g.fresh('blur_h'), wh, [channels, 1, 1, k.length]);
  const kv = g.addInitializer(g.fresh('blur_v'), wh, [channels, 1, k.length, 1]);
  const h = g.op('Conv', [padded, kh], { group: channels, kernel_shape: [1, k.length] });
  return g.op('Conv', [h, kv], { group: channels, kernel_shape: [k.length, 1] });
}
