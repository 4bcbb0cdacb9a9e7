/**
 * A small typed ONNX graph writer over onnx-proto: float32/int64 initializers, nodes with attributes,
 * statically shaped graph inputs/outputs, serialised as opset 17 / IR version 8.
 */
import onnxProto from 'onnx-proto';

const { onnx } = onnxProto;

export type AttrValue = number | number[] | string | { ints: number[] } | { floats: number[] } | { int: number } | { float: number };

export interface NodeSpec {
  op: string;
  inputs: string[];
  outputs: string[];
  attrs?: Record<string, AttrValue>;
  name?: string;
  domain?: string;
}

export const OPSET_VERSION = 17;
export const IR_VERSION = 8;

export class GraphBuilder {
  private readonly nodes: onnxProto.onnx.INodeProto[] = [];
  private readonly initializers: onnxProto.onnx.ITensorProto[] = [];
  private readonly inputs: onnxProto.onnx.IValueInfoProto[] = [];
  private readonly outputs: onnxProto.onnx.IValueInfoProto[] = [];
  private readonly names = new Set<string>();
  private counter = 0;

  readonly graphName: string;
  readonly docString: string;

  constructor(graphName: string, docString = '') {
    this.graphName = graphName;
    this.docString = docString;
  }

  /** A fresh tensor name with the given prefix. */
  fresh(prefix: string): string {
    let name: string;
    do name = `${prefix}_${this.counter++}`;
    while (this.names.has(name));
    return name;
  }

  /** Float32 initializer; dims must multiply to data.length. Returns its name. */
  addInitializer(name: string, data: Float32Array | readonly number[], dims: readonly number[]): string {
    const arr = data instanceof Float32Array ? data : Float32Array.from(data);
    checkSize(name, arr.length, dims);
    this.claim(name);
    const raw = new Uint8Array(arr.length * 4);
    const dv = new DataView(raw.buffer);
    for (let i = 0; i < arr.length; i++) dv.setFloat32(i * 4, arr[i]!, true);
    this.initializers.push({ name, dims: [...dims], dataType: onnx.TensorProto.DataType.FLOAT, rawData: raw });
    return name;
  }

  /** Int64 initializer (shapes, axes, gather indices). Returns its name. */
  addInt64Initializer(name: string, data: readonly number[] | Int32Array, dims: readonly number[]): string {
    checkSize(name, data.length, dims);
    this.claim(name);
    const raw = new Uint8Array(data.length * 8);
    const dv = new DataView(raw.buffer);
    for (let i = 0; i < data.length; i++) dv.setBigInt64(i * 8, BigInt(Math.trunc(data[i]!)), true);
    this.initializers.push({ name, dims: [...dims], dataType: onnx.TensorProto.DataType.INT64, rawData: raw });
    return name;
  }

  /** Scalar / 1-element float constant, named automatically. */
  constF(value: number | readonly number[], dims?: readonly number[], prefix = 'c'): string {
    const data = typeof value === 'number' ? [value] : value;
    return this.addInitializer(this.fresh(prefix), Float32Array.from(data), dims ?? (typeof value === 'number' ? [] : [data.length]));
  }

  constI64(value: readonly number[], prefix = 'i'): string {
    return this.addInt64Initializer(this.fresh(prefix), value, [value.length]);
  }

  addInput(name: string, shape: readonly number[], elemType: 'float' | 'int64' = 'float'): void {
    this.claim(name);
    this.inputs.push(valueInfo(name, shape, elemType));
  }

  /** Declare an existing tensor as a graph output with a static shape. */
  addOutput(name: string, shape: readonly number[], elemType: 'float' | 'int64' = 'float'): void {
    this.outputs.push(valueInfo(name, shape, elemType));
  }

  addNode(spec: NodeSpec): void {
    for (const o of spec.outputs) this.claim(o);
    const attribute: onnxProto.onnx.IAttributeProto[] = [];
    for (const [name, v] of Object.entries(spec.attrs ?? {})) attribute.push(attr(name, v));
    this.nodes.push({
      opType: spec.op,
      input: spec.inputs,
      output: spec.outputs,
      name: spec.name ?? `${spec.op}_${this.nodes.length}`,
      domain: spec.domain ?? '',
      attribute,
    });
  }

  /** Add a single-output node with an automatic output name; returns the output name. */
  op(op: string, inputs: string[], attrs?: Record<string, AttrValue>, out?: string): string {
    const o = out ?? this.fresh(op.toLowerCase());
    this.addNode({ op, inputs, outputs: [o], attrs });
    return o;
  }

  get nodeCount(): number {
    return this.nodes.length;
  }

  toModelProto(): onnxProto.onnx.ModelProto {
    return onnx.ModelProto.create({
      irVersion: IR_VERSION,
      producerName: 'linesight',
      producerVersion: '0.1.0',
      opsetImport: [{ domain: '', version: OPSET_VERSION }],
      graph: {
        name: this.graphName,
        docString: this.docString,
        node: this.nodes,
        initializer: this.initializers,
        input: this.inputs,
        output: this.outputs,
      },
    });
  }

  toBytes(): Uint8Array {
    return onnx.ModelProto.encode(this.toModelProto()).finish();
  }

  private claim(name: string): void {
    if (this.names.has(name)) throw new Error(`GraphBuilder: duplicate tensor name ${name}`);
    this.names.add(name);
  }
}

function checkSize(name: string, n: number, dims: readonly number[]): void {
  const expect = dims.reduce((a, b) => a * b, 1);
  if (expect !== n) throw new Error(`GraphBuilder: initializer ${name} has ${n} values but dims ${JSON.stringify(dims)}`);
}

function valueInfo(name: string, shape: readonly number[], elemType: 'float' | 'int64'): onnxProto.onnx.IValueInfoProto {
  return {
    name,
    type: {
      tensorType: {
        elemType: elemType === 'float' ? onnx.TensorProto.DataType.FLOAT : onnx.TensorProto.DataType.INT64,
        shape: { dim: shape.map((d) => ({ dimValue: d })) },
      },
    },
  };
}

function attr(name: string, v: AttrValue): onnxProto.onnx.IAttributeProto {
  const T = onnx.AttributeProto.AttributeType;
  if (typeof v === 'string') return { name, type: T.STRING, s: new TextEncoder().encode(v) };
  if (typeof v === 'number') return Number.isInteger(v) ? { name, type: T.INT, i: v } : { name, type: T.FLOAT, f: v };
  if (Array.isArray(v)) return v.every(Number.isInteger) ? { name, type: T.INTS, ints: v } : { name, type: T.FLOATS, floats: v };
  if ('ints' in v) return { name, type: T.INTS, ints: v.ints };
  if ('floats' in v) return { name, type: T.FLOATS, floats: v.floats };
  if ('int' in v) return { name, type: T.INT, i: v.int };
  return { name, type: T.FLOAT, f: v.float };
}
