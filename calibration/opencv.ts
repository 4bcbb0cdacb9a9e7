/**
 * Loads @techstark/opencv-js once. Two traps, both measured here:
 *  - the module object has a `then` method, so `await cv` (or returning it from an async function) waits for
 *    a thenable that re-resolves to itself forever: we resolve a wrapper `{ cv }` instead;
 *  - its Emscripten runtime installs process-wide `uncaughtException`/`unhandledRejection` handlers when it
 *    loads, so only the calibration commands import it (dynamically), never the station path.
 */

// The package's typings do not cover the aruco/calib3d bindings we use; the calibration code checks shapes.
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- see the line above
export type CV = any;

let pending: Promise<{ cv: CV }> | null = null;

export function loadOpenCv(): Promise<{ cv: CV }> {
  pending ??= import('@techstark/opencv-js').then((mod) => {
    const m = (mod as { default?: CV }).default ?? mod;
    return new Promise<{ cv: CV }>((resolve) => {
      if (m.Mat && m.calledRun) resolve({ cv: m });
      else {
        const prev = m.onRuntimeInitialized;
        m.onRuntimeInitialized = () => {
          prev?.();
          resolve({ cv: m });
        };
      }
    });
  });
  return pending;
}
