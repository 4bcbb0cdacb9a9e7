export { Prng, hash3, hashUnit } from './prng.ts';
export {
  renderSurface, familyForSeed, maskBBox, SURFACE_FAMILIES, SURFACE_DEFECTS,
  type SurfaceFamily, type SurfaceDefectKind, type SurfaceOptions, type SurfaceTruth, type DefectBox,
} from './surface.ts';
export {
  renderDrilledPlate, DEFAULT_HOLE_PATTERN, OVERSIZE_DELTA_MM, PLATE_DEFECTS,
  type PlateDefectKind, type PlateOptions, type PlateTruth, type HoleTruth, type HolePattern,
} from './holes.ts';
export { resizeBilinearMono8ToFloat } from './resize.ts';
