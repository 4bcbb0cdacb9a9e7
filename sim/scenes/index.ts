export { Prng, hash3, hashUnit } from './prng.ts';
export {
  renderSurface, familyForSeed, maskBBox, SURFACE_FAMILIES, SURFACE_DEFECTS, SURFACE_DEFECTS_ALL, SURFACE_GENERATOR_VERSION,
  type SurfaceFamily, type SurfaceDefectKind, type SurfaceOptions, type SurfaceTruth, type DefectBox,
} from './surface.ts';
export {
  renderDrilledPlate, DEFAULT_HOLE_PATTERN, OVERSIZE_DELTA_MM, PLATE_DEFECTS,
  type PlateDefectKind, type PlateOptions, type PlateTruth, type HoleTruth, type HolePattern,
} from './holes.ts';
export { resizeBilinearMono8ToFloat } from './resize.ts';
export {
  renderHoleCrop, holeCropDefectsForSeed, holeCropMaterialForSeed, HOLE_DEFECTS, HOLE_CROP_GENERATOR_VERSION,
  type HoleDefectKind, type HoleMaterial, type HoleCropOptions, type HoleCropTruth,
} from './hole-defects.ts';
