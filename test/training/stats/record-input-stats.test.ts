import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { measureTrainingInputs, withInputStats } from '../../../training/stats/record-input-stats.ts';
import { readManifest } from '../../../runtime/inference/onnx-model.ts';

const MODELS = path.resolve(import.meta.dirname, '../../../models');

describe('model.yaml inputStats of the shipped models', () => {
  it('surface-anomaly: the committed statistics are what its 48 good training parts give', () => {
    const file = path.join(MODELS, 'surface-anomaly', 'model.yaml');
    expect(measureTrainingInputs(file, 'surface-anomaly')).toEqual(readManifest(file).inputStats);
  });

  it.each(['surface-anomaly', 'drilling-defects', 'surface-segmenter'])('%s has inputStats', (name) => {
    const stats = readManifest(path.join(MODELS, name, 'model.yaml')).inputStats;
    expect(stats?.samples).toBeGreaterThan(40);
    expect(stats!.features.mean.min).toBeLessThanOrEqual(stats!.features.mean.max);
  });

  it('withInputStats changes that key only', () => {
    const file = path.join(MODELS, 'drilling-defects', 'model.yaml');
    const before = parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
    const stats = {
      samples: 3,
      features: { mean: { mean: 1, std: 0, min: 1, max: 1 }, std: { mean: 2, std: 0, min: 2, max: 2 }, focus: { mean: 3, std: 0, min: 3, max: 3 } },
    };
    const after = parse(withInputStats(readFileSync(file, 'utf8'), stats)) as Record<string, unknown>;
    expect(after).toEqual({ ...before, inputStats: stats });
  });
});
