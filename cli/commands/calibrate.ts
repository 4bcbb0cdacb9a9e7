/**
 * `linesight calibrate camera|telecentric …`: writes a calibration YAML (runtime/metrology/calibration.ts) that a station's
 * `metrology.calibration` or `measure holes --calibration` reads. opencv-js is imported only here.
 */
import { readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { writeCalibration, type Calibration } from '../../runtime/metrology/calibration.ts';
import { calibrateTelecentric, parseTarget, type GrayImage } from '../../calibration/telecentric.ts';
import { LinesightError, isLinesightError, reasonOf } from '../../runtime/errors.ts';
import { decodeImageFile, IMAGE_EXTENSIONS } from '../../runtime/frame/decode-image.ts';
import { parseCommandArgs, usageError } from '../args.ts';
import { EXIT } from '../exit-codes.ts';
import { optionalNumberOption } from '../option-values.ts';

export const HELP = `linesight calibrate camera --images DIR --board charuco:COLSxROWS:SQUARE_MM:MARKER_MM:DICT --out FILE
                    [--k3] [--min-corners N] [--plane-view IMAGE] [--json]
linesight calibrate telecentric --images DIR|IMAGE --target dots:COLSxROWS:PITCH_MM|ring:DIAMETER_MM --out FILE
                    [--origin-mm X,Y] [--json]

camera: Zhang's method with the Brown–Conrady model (k1, k2, p1, p2; k3 with --k3) from ChArUco views
(e.g. charuco:11x8:15:11:5X5_100). Prints the reprojection RMS per view and overall; a view above
max(3 × median, 0.3 px) is rejected and the camera re-solved. --plane-view names the view whose board lies
on the part plane: its homography gives measurements in the board's mm frame.
telecentric: affine pixel → mm from a dot grid (first image) or isotropic scale from a ring gauge (each image
one position); reports scale uniformity across the field. --origin-mm places dot (0,0) in the part frame.

Exit: 0 written, 1 calibration failed (too few views/points), 2 usage, 5 unreadable image.`;

export async function calibrateCommand(argv: string[]): Promise<number> {
  const [sub, ...rest] = argv;
  if (sub === undefined) {
    process.stdout.write(`${HELP}\n`);
    return EXIT.USAGE;
  }
  if (sub !== 'camera' && sub !== 'telecentric') throw usageError(`calibrate: unknown mode '${sub}' (camera | telecentric)`);
  const { values, positionals } = parseCommandArgs(
    rest,
    {
      images: { type: 'string' },
      board: { type: 'string' },
      target: { type: 'string' },
      out: { type: 'string', short: 'o' },
      k3: { type: 'boolean' },
      'min-corners': { type: 'string' },
      'plane-view': { type: 'string' },
      'origin-mm': { type: 'string' },
      json: { type: 'boolean' },
    },
    true,
  );
  if (!values.out) throw usageError(`calibrate ${sub} needs --out FILE`);
  // Option values are checked before any image is decoded.
  const minCorners = optionalNumberOption('--min-corners', values['min-corners'], { integer: true, min: 4, max: 100_000 });
  const origin = values['origin-mm'] ? values['origin-mm'].split(',').map((v) => (v.trim() === '' ? Number.NaN : Number(v))) : [0, 0];
  if (origin.length !== 2 || !origin.every(Number.isFinite))
    throw usageError(`--origin-mm '${values['origin-mm'] ?? ''}': must be X,Y in mm (two numbers)`);
  const files = listImages(values.images, positionals);
  const images: GrayImage[] = [];
  for (const f of files) {
    try {
      const img = await decodeImageFile(f, 'Mono8');
      images.push({ name: path.basename(f), width: img.width, height: img.height, data: img.data });
    } catch (err) {
      if (!isLinesightError(err, 'LS_ERR_FRAME_CORRUPT') && !isLinesightError(err, 'LS_ERR_FRAME_UNREADABLE')) throw err;
      process.stderr.write(`linesight: ${err.message}\n`);
      return EXIT.UNREADABLE;
    }
  }
  let cal: Calibration;
  if (sub === 'camera') {
    if (!values.board) throw usageError('calibrate camera needs --board charuco:COLSxROWS:SQUARE_MM:MARKER_MM:DICT');
    const { parseBoard, detectViews, calibrateCharuco, planeFromView } = await import('../../calibration/charuco.ts');
    const { loadOpenCv } = await import('../../calibration/opencv.ts');
    const board = parseBoard(values.board);
    const sizes = new Set(images.map((i) => `${i.width}x${i.height}`));
    if (sizes.size !== 1) throw usageError(`calibrate camera: all views must have one size (got ${[...sizes].join(', ')})`);
    // eslint-disable-next-line @typescript-eslint/no-unsafe-assignment -- the OpenCV binding is `any` by design (calibration/opencv.ts)
    const { cv } = await loadOpenCv();
    const views = detectViews(cv, board, images);
    const pin = calibrateCharuco(cv, board, views, [images[0]!.width, images[0]!.height], {
      k3: values.k3 ?? false,
      ...(minCorners ? { minCorners } : {}),
    });
    if (values['plane-view']) {
      const v = views.find((x) => x.name === values['plane-view'] || x.name === path.basename(values['plane-view']!));
      if (!v) throw usageError(`--plane-view ${values['plane-view']} is not one of the views`);
      pin.plane = { homography: planeFromView(pin, board, v), source: v.name };
    }
    cal = pin;
  } else {
    if (!values.target) throw usageError('calibrate telecentric needs --target dots:COLSxROWS:PITCH_MM or ring:DIAMETER_MM');
    cal = calibrateTelecentric(images, parseTarget(values.target), [origin[0]!, origin[1]!]);
  }
  writeCalibration(values.out, cal, `${files.length} image(s) from ${values.images ?? 'arguments'}`);
  process.stdout.write(values.json ? `${JSON.stringify(cal)}\n` : `${summary(cal, values.out)}\n`);
  return EXIT.OK;
}

function listImages(dir: string | undefined, positionals: string[]): string[] {
  const out: string[] = [...positionals];
  if (dir) {
    let st;
    try {
      st = statSync(dir);
    } catch (err) {
      throw new LinesightError('LS_ERR_USAGE', `--images ${dir} cannot be read: ${reasonOf(err)}`, { dir }, { cause: err });
    }
    if (st.isDirectory()) {
      for (const f of readdirSync(dir).sort()) if (IMAGE_EXTENSIONS.has(path.extname(f).toLowerCase())) out.push(path.join(dir, f));
    } else out.push(dir);
  }
  if (out.length === 0) throw usageError('no images: give --images DIR (png, jpg, bmp, tif)');
  return out;
}

function summary(cal: Calibration, file: string): string {
  if (cal.kind === 'telecentric') {
    const u = cal.uniformity;
    return (
      `wrote ${file}: telecentric ${cal.mmPerPx.toPrecision(7)} mm/px` +
      (cal.residualRmsMm !== undefined ? `, residual ${(cal.residualRmsMm * 1000).toFixed(2)} µm RMS` : '') +
      (u
        ? `, scale uniformity ${u.spreadPct.toFixed(3)}% over ${u.cells} field cells (${u.minMmPerPx.toPrecision(6)}–${u.maxMmPerPx.toPrecision(6)})`
        : '')
    );
  }
  const q = cal.quality;
  const rows = q
    ? q.views.map(
        (v) =>
          `  ${v.image.padEnd(24)} ${String(v.corners).padStart(4)} corners  ${v.rmsPx === null ? '   —   ' : v.rmsPx.toFixed(4)} px  ${v.used ? 'used' : `rejected: ${v.reason}`}`,
      )
    : [];
  const c = cal.camera,
    d = cal.distortion;
  return [
    `wrote ${file}: pinhole fx ${c.fx.toFixed(2)} fy ${c.fy.toFixed(2)} cx ${c.cx.toFixed(2)} cy ${c.cy.toFixed(2)}; k1 ${d.k1.toFixed(5)} k2 ${d.k2.toFixed(5)} p1 ${d.p1.toFixed(6)} p2 ${d.p2.toFixed(6)} k3 ${d.k3.toFixed(5)}`,
    q ? `reprojection RMS ${q.rmsPx.toFixed(4)} px over ${q.views.length - q.rejected} views (${q.rejected} rejected)` : '',
    ...rows,
  ].join('\n');
}
