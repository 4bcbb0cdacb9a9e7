/** Classification decoder: softmax (one class) or sigmoid (multi-label) into a preallocated array. */
import { z } from 'zod';
import { LinesightError } from '../../errors.ts';
import { defineDecoder, round4, upperSnake, type DecisionParts } from './decoder.ts';

/** model.yaml `decoder:` of a classification model. */
export const ClassificationSpecSchema = z
  .object({
    kind: z.literal('classification'),
    output: z.string().describe('Output holding logits or probabilities, shape [1,n]'),
    activation: z.enum(['softmax', 'sigmoid', 'none']).describe('softmax: one class; sigmoid: multi-label; none: already probabilities'),
    labels: z.array(z.string().min(1)).min(1).describe('Class names in output order'),
    thresholds: z.record(z.string(), z.number().min(0).max(1)).default({}).describe('Per-label decision threshold (default 0.5)'),
    okLabels: z.array(z.string()).default([]).describe('Labels that mean a good part (e.g. "good" in a softmax model)'),
  })
  .strict();

const LabelRule = z
  .object({
    threshold: z.number().min(0).max(1).optional().describe("Probability at or above which the label is present; default: the model's"),
    reason: z
      .string()
      .regex(/^[A-Z][A-Z0-9_]*$/)
      .optional()
      .describe('Reason code; default: the label in upper case'),
    nok: z.boolean().default(true).describe('Whether this label makes the part NOK (false: recorded only)'),
  })
  .strict();

/** The station's rules for a classification model (`labels:` on the station's model entry), per label. */
export const LabelRulesSchema = z.record(z.string(), LabelRule).describe('Decision rules per label of a classification model');

export type ClassificationDecoderSpec = z.output<typeof ClassificationSpecSchema>;
export type LabelRules = z.output<typeof LabelRulesSchema>;

export class ClassificationDecoder {
  readonly spec: ClassificationDecoderSpec;
  readonly probabilities: Float32Array;
  readonly thresholds: Float32Array;

  constructor(spec: ClassificationDecoderSpec) {
    this.spec = spec;
    this.probabilities = new Float32Array(spec.labels.length);
    this.thresholds = new Float32Array(spec.labels.length);
    for (let i = 0; i < spec.labels.length; i++) this.thresholds[i] = spec.thresholds[spec.labels[i]!] ?? 0.5;
  }

  decode(logits: Float32Array): void {
    const p = this.probabilities;
    const n = p.length;
    if (this.spec.activation === 'sigmoid') {
      for (let i = 0; i < n; i++) p[i] = 1 / (1 + Math.exp(-logits[i]!));
    } else if (this.spec.activation === 'softmax') {
      let m = -Infinity;
      for (let i = 0; i < n; i++) if (logits[i]! > m) m = logits[i]!;
      let s = 0;
      for (let i = 0; i < n; i++) s += p[i] = Math.exp(logits[i]! - m);
      for (let i = 0; i < n; i++) p[i]! /= s;
    } else {
      for (let i = 0; i < n; i++) p[i] = logits[i]!;
    }
  }
}

/** The classification kind: one probability per label; NOK when a label that is not an OK label reaches its threshold. */
export const classificationDecoder = defineDecoder({
  kind: 'classification',
  spec: ClassificationSpecSchema,
  ruleKey: 'labels',
  rule: LabelRulesSchema,
  outputs: (spec) => [spec.output],
  bind({ model, spec, rule, outputs }) {
    const unknown = Object.keys(rule ?? {}).filter((label) => !spec.labels.includes(label));
    if (unknown.length > 0) {
      throw new LinesightError(
        'LS_ERR_CONFIG_INVALID',
        `model ${model}: labels: ${unknown.join(', ')} not among the model's labels (${spec.labels.join(', ')})`,
        { model, unknown },
      );
    }
    const state = new ClassificationDecoder(spec);
    const logits = outputs.output(spec.output);
    return {
      kind: 'classification',
      state,
      decode: () => state.decode(logits),
      decide: (_geometry, into) => decideLabels(model, state, rule, into),
    };
  },
});

function decideLabels(model: string, dec: ClassificationDecoder, rules: LabelRules | undefined, into: DecisionParts): void {
  const labels = dec.spec.labels;
  for (let i = 0; i < labels.length; i++) {
    const label = labels[i]!;
    const p = dec.probabilities[i]!;
    into.measurements[`${model}.${label}`] = round4(p);
    const rule = rules?.[label];
    const threshold = rule?.threshold ?? dec.thresholds[i]!;
    if (p >= threshold && !dec.spec.okLabels.includes(label) && (rule?.nok ?? true)) {
      into.reasons.push({ code: rule?.reason ?? upperSnake(label), source: model, detail: `p(${label}) ${p.toFixed(3)} ≥ ${threshold}` });
    }
  }
}
