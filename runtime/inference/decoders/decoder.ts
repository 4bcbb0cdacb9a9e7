/**
 * The decoder contract. A decoder kind (model.yaml `decoder.kind`) owns three things: the schema of its model.yaml
 * section, the schema of the station's decision rule for it (a key on the station's model entry: `anomaly:`,
 * `labels:`), and the code that reads the model's outputs in place (`decode`) and turns them into reasons,
 * measurements and defects (`decide`). Decoders are registered by kind in ./index.ts, the way sources and sinks
 * are registered by type; nothing else branches on the kind.
 */
import type { z } from 'zod';
import type { Defect, Reason } from '../../results/result.ts';

/** Where the model looked in the frame and at what scale: maps model-output pixels back to frame pixels and mm. */
export interface FrameGeometry {
  readonly roi: { readonly x: number; readonly y: number; readonly width: number; readonly height: number };
  readonly mmPerPx: number | null;
}

/** The decision being built for one part; each decoder appends to it. */
export interface DecisionParts {
  readonly reasons: Reason[];
  readonly measurements: Record<string, number>;
  readonly defects: Defect[];
}

/** A loaded model's output buffers, filled in place by each run. */
export interface ModelOutputs {
  output(name: string): Float32Array;
  outputShape(name: string): readonly number[];
}

/** A decoder bound to one model of one station: its output buffers and its rule. `state` holds the last decode. */
export interface BoundDecoder<K extends string = string, State = unknown> {
  readonly kind: K;
  readonly state: State;
  decode(): void;
  decide(geometry: FrameGeometry, into: DecisionParts): void;
}

export interface DecoderBinding<Spec, Rule> {
  /** The model's name in results (the station's `name:` or the manifest's). */
  readonly model: string;
  readonly spec: Spec;
  /** The station's rule for this model, undefined when the station gives none. */
  readonly rule: Rule | undefined;
  readonly outputs: ModelOutputs;
}

export interface DecoderDefinition<K extends string, SpecSchema extends z.ZodObject, RuleSchema extends z.ZodType, State> {
  readonly kind: K;
  /** model.yaml `decoder:` section for this kind, with `kind: z.literal(K)`. */
  readonly spec: SpecSchema;
  /** Key of the station model entry that holds this decoder's rule, and the rule's schema. */
  readonly ruleKey: string;
  readonly rule: RuleSchema;
  /** Graph outputs the decoder reads: checked against the ONNX graph at load. */
  outputs(this: void, spec: z.output<SpecSchema>): readonly string[];
  bind(this: void, binding: DecoderBinding<z.output<SpecSchema>, z.output<RuleSchema>>): BoundDecoder<K, State>;
}

export function defineDecoder<K extends string, SpecSchema extends z.ZodObject, RuleSchema extends z.ZodType, State>(
  def: DecoderDefinition<K, SpecSchema, RuleSchema, State>,
): DecoderDefinition<K, SpecSchema, RuleSchema, State> {
  return Object.freeze(def);
}

/** `Front Camera` → `FRONT_CAMERA`: reason codes made from model and label names. */
export function upperSnake(s: string): string {
  return s
    .replace(/[^A-Za-z0-9]+/g, '_')
    .replace(/^_|_$/g, '')
    .toUpperCase();
}

export function round4(v: number): number {
  return Math.round(v * 1e4) / 1e4;
}
