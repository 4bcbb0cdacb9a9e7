/**
 * Every decoder kind Linesight knows, registered by kind. model.yaml's `decoder:` union and the station model
 * entry's rule keys are built from this list; a new kind is one file (see ./decoder.ts) and one line here.
 */
import { z } from 'zod';
import { LinesightError } from '../../errors.ts';
import { anomalyMapDecoder } from './anomaly-map.ts';
import { classificationDecoder } from './classification.ts';
import type { BoundDecoder, ModelOutputs } from './decoder.ts';

export const DECODERS = [anomalyMapDecoder, classificationDecoder] as const;

type Registered = (typeof DECODERS)[number];
export type DecoderSpec = z.output<Registered['spec']>;
/** A bound decoder of any registered kind, discriminated by `kind` (its `state` is that kind's decoder). */
export type AnyBoundDecoder = ReturnType<Registered['bind']>;

/** model.yaml `decoder:`: one of the registered kinds. */
export const DecoderSpecSchema = z.discriminatedUnion('kind', [anomalyMapDecoder.spec, classificationDecoder.spec]);

/** The rule keys a station model entry may carry, one per registered kind (`anomaly`, `labels`). */
export const decoderRuleShape = {
  [anomalyMapDecoder.ruleKey]: anomalyMapDecoder.rule.optional(),
  [classificationDecoder.ruleKey]: classificationDecoder.rule.optional(),
} as const;

function definitionOf(kind: string): Registered {
  const def = DECODERS.find((d) => d.kind === kind);
  if (def === undefined)
    throw new LinesightError('LS_ERR_MODEL_MANIFEST_INVALID', `no decoder kind '${kind}' (known: ${DECODERS.map((d) => d.kind).join(', ')})`, {
      kind,
    });
  return def;
}

export function decoderOutputs(spec: DecoderSpec): readonly string[] {
  // The spec was parsed by this kind's own schema (DecoderSpecSchema), so the cast only names what zod checked.
  return (definitionOf(spec.kind).outputs as (s: DecoderSpec) => readonly string[])(spec);
}

/**
 * Binds the model's decoder to its outputs and the station's rule. `rules` is the station model entry: the key
 * of this kind is its rule; a key of another kind is a configuration mistake (e.g. `labels:` on an anomaly model).
 */
export function bindDecoder(
  model: string,
  spec: DecoderSpec,
  rules: Readonly<Record<string, unknown>>,
  outputs: ModelOutputs,
): AnyBoundDecoder & BoundDecoder {
  const def = definitionOf(spec.kind);
  for (const other of DECODERS) {
    if (other.ruleKey !== def.ruleKey && rules[other.ruleKey] !== undefined) {
      throw new LinesightError(
        'LS_ERR_CONFIG_INVALID',
        `model ${model}: '${other.ruleKey}:' is a rule for ${other.kind} models; this model's decoder is ${def.kind} (use '${def.ruleKey}:')`,
        {
          model,
          key: other.ruleKey,
          decoder: def.kind,
        },
      );
    }
  }
  const bind = def.bind as (b: { model: string; spec: DecoderSpec; rule: unknown; outputs: ModelOutputs }) => AnyBoundDecoder;
  return bind({ model, spec, rule: rules[def.ruleKey], outputs });
}
