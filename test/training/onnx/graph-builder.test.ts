import onnxProto from 'onnx-proto';
import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { GraphBuilder, IR_VERSION, OPSET_VERSION } from '../../../training/onnx/graph-builder.ts';

const { onnx } = onnxProto;

describe('GraphBuilder', () => {
  it('writes a model onnxruntime-node loads and runs (initializers, attributes, int64 constants)', async () => {
    const g = new GraphBuilder('roundtrip', 'test graph');
    g.addInput('x', [1, 1, 4, 4]);
    // 3×3 box conv with pads (ints attr), then Gemm with float attr alpha, ReduceSum with int64 axes
    const w = g.addInitializer('w', new Float32Array(9).fill(1), [1, 1, 3, 3]);
    const conv = g.op('Conv', ['x', w], { kernel_shape: [3, 3], pads: [1, 1, 1, 1] });
    const flat = g.op('Reshape', [conv, g.constI64([1, 16])]);
    const W2 = g.addInitializer(
      'W2',
      Float32Array.from({ length: 32 }, (_, i) => (i % 2 ? 1 : -1)),
      [16, 2],
    );
    g.op('Gemm', [flat, W2, g.constF([0.5, -0.5], [2])], { alpha: 0.5, transB: 0 }, 'gemm_out');
    g.op('ReduceSum', ['gemm_out', g.constI64([1])], { keepdims: 0 }, 'total');
    g.op('LeakyRelu', ['total'], { alpha: 0.25 }, 'act');
    g.addOutput('gemm_out', [1, 2]);
    g.addOutput('act', [1]);
    const bytes = g.toBytes();

    const decoded = onnx.ModelProto.decode(bytes);
    expect(Number(decoded.irVersion)).toBe(IR_VERSION);
    expect(decoded.opsetImport[0]!.version).toBeDefined();
    expect(Number(decoded.opsetImport[0]!.version)).toBe(OPSET_VERSION);
    expect(decoded.producerName).toBe('linesight');
    expect((decoded.graph?.initializer ?? []).map((t) => t.name)).toContain('W2');

    const session = await ort.InferenceSession.create(bytes);
    expect(session.inputNames).toEqual(['x']);
    expect(session.outputNames).toEqual(['gemm_out', 'act']);
    const x = Float32Array.from({ length: 16 }, (_, i) => i);
    const res = await session.run({ x: new ort.Tensor('float32', x, [1, 1, 4, 4]) });

    // reference in plain TypeScript
    const box = new Float64Array(16);
    for (let y = 0; y < 4; y++)
      for (let xx = 0; xx < 4; xx++) {
        let s = 0;
        for (let dy = -1; dy <= 1; dy++)
          for (let dx = -1; dx <= 1; dx++) {
            const yy = y + dy;
            const xk = xx + dx;
            if (yy >= 0 && yy < 4 && xk >= 0 && xk < 4) s += x[yy * 4 + xk]!;
          }
        box[y * 4 + xx] = s;
      }
    const gemm = [0, 1].map((j) => 0.5 * box.reduce((a, v, i) => a + v * ((i * 2 + j) % 2 ? 1 : -1), 0) + (j ? -0.5 : 0.5));
    const out = res.gemm_out!.data as Float32Array;
    expect(out[0]).toBeCloseTo(gemm[0]!, 3);
    expect(out[1]).toBeCloseTo(gemm[1]!, 3);
    const total = gemm[0]! + gemm[1]!;
    expect((res.act!.data as Float32Array)[0]).toBeCloseTo(total >= 0 ? total : 0.25 * total, 3);
    expect(res.act!.dims).toEqual([1]);
  });

  it('refuses bad initializer sizes and duplicate tensor names', () => {
    const g = new GraphBuilder('bad');
    expect(() => g.addInitializer('w', [1, 2, 3], [2, 2])).toThrow(/dims/);
    g.addInitializer('a', [1], [1]);
    expect(() => g.addInitializer('a', [1], [1])).toThrow(/duplicate/);
    g.addInput('x', [1]);
    expect(() => g.addNode({ op: 'Relu', inputs: ['x'], outputs: ['x'] })).toThrow(/duplicate/);
  });

  it('encodes string and float-list attributes', async () => {
    const g = new GraphBuilder('pad');
    g.addInput('x', [1, 1, 2, 2]);
    g.op('Pad', ['x', g.constI64([0, 0, 1, 1, 0, 0, 1, 1])], { mode: 'reflect' }, 'y');
    g.addOutput('y', [1, 1, 4, 4]);
    const s = await ort.InferenceSession.create(g.toBytes());
    const r = await s.run({ x: new ort.Tensor('float32', Float32Array.from([1, 2, 3, 4]), [1, 1, 2, 2]) });
    expect(Array.from(r.y!.data as Float32Array)).toEqual([4, 3, 4, 3, 2, 1, 2, 1, 4, 3, 4, 3, 2, 1, 2, 1]);
  });
});
