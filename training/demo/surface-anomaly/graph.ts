/**
 * Surface anomaly graph: band-pass → global contrast normalisation → fixed 9-filter bank → local log-energy,
 * centred per image → Mahalanobis distance under the good-texture statistics → smoothed map and its max.
 * The feature graph and head are the texture mode of training/edge/features.ts (shared with edge training).
 */
import { GraphBuilder } from '../../onnx/graph-builder.ts';
import { textureEnergies, textureHead, TEXTURE_CHANNELS, type TextureStats } from '../../edge/features.ts';

export { BROAD_DOG, FILTER_NAMES } from '../../edge/features.ts';
export const SIZE = 256;
export const INPUT = 'image';
export const MAP = 'anomaly_map';
export const SCORE = 'pred_score';
export const CHANNELS = TEXTURE_CHANNELS;
/** Map pixels this close to the frame edge are set to 0 (reflect-padding artefacts of oriented textures). */
export const BORDER = 12;
export type SurfaceStats = TextureStats;

/** Graph up to the smoothed filter energies e [1,C,S,S]; returns the tensor name. */
function energies(g: GraphBuilder): string {
  g.addInput(INPUT, [1, 1, SIZE, SIZE]);
  return textureEnergies(g, INPUT).energy;
}

/** Feature-extraction graph (output `energy`), used to fit the good-texture statistics. */
export function buildEnergyGraph(): Uint8Array {
  const g = new GraphBuilder('surface_energy');
  const e = energies(g);
  g.op('Identity', [e], undefined, 'energy');
  g.addOutput('energy', [1, CHANNELS, SIZE, SIZE]);
  return g.toBytes();
}

export function buildAnomalyGraph(stats: SurfaceStats, doc: string): Uint8Array {
  const g = new GraphBuilder('surface_anomaly', doc);
  textureHead(g, energies(g), stats, { size: SIZE, border: BORDER, mapName: MAP, scoreName: SCORE });
  return g.toBytes();
}
