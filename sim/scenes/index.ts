export { Prng } from './prng.ts';
export { renderSurface, SURFACE_FAMILIES, SURFACE_DEFECTS } from './surface.ts';
export { renderDrilledPlate, DEFAULT_HOLE_PATTERN, OVERSIZE_DELTA_MM, PLATE_DEFECTS } from './holes.ts';
export { resizeBilinearMono8ToFloat } from './resize.ts';
export { renderHoleCrop, holeCropDefectsForSeed, HOLE_DEFECTS } from './hole-defects.ts';
