/**
 * Writes rendered ChArUco views (known camera) as PNGs into argv[2], for the calibrate-camera CLI test. Runs in
 * its own process: opencv-js's Emscripten runtime cannot be loaded inside a vitest worker (the worker dies
 * silently on import), so tests drive it through processes.
 * View 4 is rendered through a different lens (k1 +0.2) so that bad-view rejection has something to reject.
 */
import sharp from 'sharp';
import { loadOpenCv } from '../../calibration/opencv.ts';
import { parseBoard } from '../../calibration/charuco.ts';
import { BoardTexture, posesCoveringField, renderCharucoView, type TrueCamera } from '../../sim/scenes/charuco-views.ts';

export const TEST_CAMERA: TrueCamera = {
  width: 640,
  height: 480,
  fx: 820,
  fy: 818,
  cx: 322.4,
  cy: 238.1,
  distortion: { k1: -0.15, k2: 0.1, p1: 0, p2: 0, k3: 0 },
};
export const TEST_BOARD = 'charuco:9x7:12:9:5X5_100';

const out = process.argv[2];
if (out) {
  const { cv } = await loadOpenCv();
  const board = parseBoard(TEST_BOARD);
  const tex = new BoardTexture(cv, board, 6);
  const poses = posesCoveringField(TEST_CAMERA, board, 9, 5);
  for (let i = 0; i < poses.length; i++) {
    const cam = i === 4 ? { ...TEST_CAMERA, distortion: { ...TEST_CAMERA.distortion, k1: 0.2 } } : TEST_CAMERA;
    const img = renderCharucoView(tex, cam, poses[i]!, { ss: 2, noiseSigma: 1, seed: i });
    await sharp(img, { raw: { width: cam.width, height: cam.height, channels: 1 } })
      .png()
      .toFile(`${out}/view-${String(i).padStart(2, '0')}.png`);
  }
}
