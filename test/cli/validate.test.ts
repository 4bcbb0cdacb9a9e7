/**
 * `validate` checks what `run` checks before it opens anything (cli/preflight.ts), and both give the same exit code
 * and the same `FILE:LINE key.path: message` lines. Each case is the shipped demo line with one thing broken.
 */
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../../runtime/net/free-port.ts';
import { lineOf } from '../helpers/file-lines.ts';
import { linesight, ROOT } from '../helpers/cli.ts';
import { withDeadline } from '../helpers/wait.ts';

const dir = mkdtempSync(path.join(tmpdir(), 'ls-validate-'));
let demo = '';

/** The demo line with absolute model/calibration paths, its store in `dir` and free ports (run must never clash with a real line). */
beforeAll(async () => {
  const [plc, server, http] = [await freePort(), await freePort(), await freePort()];
  demo = readFileSync(path.join(ROOT, 'configs/demo-line.yaml'), 'utf8')
    .replaceAll('../models/', `${ROOT}/models/`)
    .replaceAll('../calibration/', `${ROOT}/calibration/`)
    .replace('path: ../var/demo-line.sqlite', `path: ${dir}/demo.sqlite`)
    .replaceAll('port: 5502', `port: ${plc}`)
    .replace('port: 5020', `port: ${server}`)
    .replace('port: 8420', `port: ${http}`);
});

function variant(name: string, edit: (yaml: string) => string): string {
  const file = path.join(dir, `${name}.yaml`);
  const text = edit(demo);
  expect(text, `${name}: the edit changed nothing`).not.toBe(demo);
  writeFileSync(file, text);
  return file;
}

/** validate and run on the same file: their exit codes, and validate's problem lines as run printed them too. */
async function both(file: string): Promise<{ code: number; problems: string[] }> {
  const [v, r] = await withDeadline(
    Promise.all([linesight('validate', file), linesight('run', '--config', file)]),
    90_000,
    'validate and run to answer',
  );
  const problems = v.stderr.split('\n').filter((l) => l.startsWith(`${file}:`));
  expect(problems.length, v.stderr).toBeGreaterThan(0);
  expect(r.code, `run exits as validate does\n${r.stderr}`).toBe(v.code);
  for (const p of problems) expect(r.stderr).toContain(p);
  expect(r.stderr).toContain('the line was not started');
  expect(r.stderr).not.toContain('line running');
  return { code: v.code, problems };
}

describe('linesight validate checks what run checks, with the same exit codes', () => {
  it('passes the demo line: a modbus client sink on the simulated PLC port is no clash', async () => {
    const file = variant('ok', (y) => y.replace('description: ', 'description: copy; '));
    const r = await linesight('validate', file);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(`${file}: ok (3 station(s))\n`);
  });

  it('refuses a model whose sha256 pin does not match, at the manifest line (exit 3 in both)', async () => {
    const models = path.join(dir, 'models');
    cpSync(path.join(ROOT, 'models/surface-anomaly'), path.join(models, 'surface-anomaly'), { recursive: true });
    const manifest = path.join(models, 'surface-anomaly/model.yaml');
    writeFileSync(manifest, readFileSync(manifest, 'utf8').replace(/sha256: [0-9a-f]{64}/, `sha256: "${'0'.repeat(64)}"`));
    const file = variant('sha', (y) => y.replaceAll(`${ROOT}/models/surface-anomaly/model.yaml`, manifest));
    const { code, problems } = await both(file);
    expect(code).toBe(3);
    expect(problems).toHaveLength(2); // the surface and recheck stations both name it
    expect(problems[0]).toMatch(/LS_ERR_MODEL_SHA256_MISMATCH: .*surface-anomaly\.onnx: sha256 [0-9a-f]{64} ≠ pinned 0{64}/);
    expect(problems[0]!.startsWith(`${file}:${lineOf(file, manifest)} stations[0].models[0].manifest: `)).toBe(true);
  });

  it('refuses a missing model.yaml with the line of its manifest key and the cause (exit 3 in both)', async () => {
    const file = variant('no-model', (y) => y.replace('models/drilling-defects/model.yaml', 'models/drilling-defects/gone.yaml'));
    const { code, problems } = await both(file);
    expect(code).toBe(3);
    expect(problems).toEqual([
      expect.stringMatching(
        new RegExp(
          `^${esc(file)}:${lineOf(file, 'gone.yaml')} stations\\[1\\]\\.models\\[0\\]\\.manifest: LS_ERR_MODEL_MANIFEST_INVALID: .*gone\\.yaml.*ENOENT`,
        ),
      ),
    ]);
  });

  it('refuses a model whose golden output drifted (exit 3)', async () => {
    const models = path.join(dir, 'golden');
    cpSync(path.join(ROOT, 'models/surface-anomaly'), models, { recursive: true });
    const golden = path.join(models, 'golden-output.json');
    const values = JSON.parse(readFileSync(golden, 'utf8')) as Record<string, number[]>;
    for (const v of Object.values(values)) v[0] = v[0]! + 1;
    writeFileSync(golden, JSON.stringify(values));
    const file = variant('golden', (y) => y.replace(`${ROOT}/models/surface-anomaly/model.yaml`, path.join(models, 'model.yaml')));
    const r = await linesight('validate', file);
    expect(r.code).toBe(3);
    expect(r.stderr).toContain('stations[0].models[0].manifest: LS_ERR_MODEL_GOLDEN_MISMATCH');
  });

  it('refuses a missing calibration file at its key (exit 2 in both)', async () => {
    const file = variant('no-calibration', (y) => y.replace('calibration/drilling-telecentric.yaml', 'calibration/missing.yaml'));
    const { code, problems } = await both(file);
    expect(code).toBe(2);
    expect(problems).toHaveLength(1);
    expect(problems[0]!.startsWith(`${file}:${lineOf(file, 'missing.yaml')} stations[1].metrology.calibration: LS_ERR_CALIBRATION_INVALID`)).toBe(
      true,
    );
    expect(problems[0]).toContain('missing.yaml');
  });

  it('refuses a Modbus server port equal to the simulated PLC port, naming both places (exit 2 in both)', async () => {
    const plcPort = /simulatedPlc:\n {2}port: (\d+)/.exec(demo)![1]!;
    const file = variant('clash', (y) => y.replace(/(- type: modbus-server\n {8}port: )\d+/, `$1${plcPort}`));
    const { code, problems } = await both(file);
    expect(code).toBe(2);
    expect(problems).toHaveLength(1);
    const plcLine = lineOf(file, 'simulatedPlc:') + 1;
    expect(problems[0]).toMatch(new RegExp(`^${esc(file)}:\\d+ stations\\[0\\]\\.sinks\\[2\\]\\.port: LS_ERR_CONFIG_INVALID: Modbus server mode`));
    expect(problems[0]).toContain(`127.0.0.1:${plcPort}, which the simulated PLC already takes (${file}:${plcLine} simulatedPlc.port)`);
    const clashLine = Number(/:(\d+) stations/.exec(problems[0]!)![1]);
    expect(readFileSync(file, 'utf8').split('\n')[clashLine - 1]).toBe(`        port: ${plcPort}`);
  });

  it('refuses an HTTP port equal to a Modbus server port (exit 2)', async () => {
    const serverPort = /- type: modbus-server\n {8}port: (\d+)/.exec(demo)![1]!;
    const file = variant('http-clash', (y) => y.replace(/(http:\n {2}port: )\d+/, `$1${serverPort}`));
    const r = await linesight('validate', file);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/stations\[0\]\.sinks\[2\]\.port: .*which the HTTP control listener already takes \(.*:\d+ http\.port\)/);
  });

  it('refuses a store path that is a directory, under a regular file or under /proc, fast, with path and cause (exit 2 in both)', async () => {
    const folder = path.join(dir, 'a-folder');
    mkdirSync(folder, { recursive: true });
    const plain = path.join(dir, 'plain.txt');
    writeFileSync(plain, 'not a folder');
    const cases = [
      { name: 'store-dir', store: folder, says: 'is a directory' },
      { name: 'store-under-file', store: `${plain}/x/results.sqlite`, says: `${plain} is not a folder` },
      { name: 'store-proc', store: '/proc/linesight-test/results.sqlite', says: 'folder /proc takes no new file (ENOENT' },
    ];
    for (const c of cases) {
      const file = variant(c.name, (y) => y.replace(`path: ${dir}/demo.sqlite`, `path: ${c.store}`));
      const { code, problems } = await both(file);
      expect(code, c.name).toBe(2);
      expect(problems, c.name).toEqual([
        expect.stringContaining(`${file}:${lineOf(file, `path: ${c.store}`)} store.path: LS_ERR_STORE_PATH: store path `),
      ]);
      expect(problems[0], c.name).toContain(c.says);
    }
  });

  it('creates nothing: a store folder that does not exist yet passes and is still absent', async () => {
    const folder = path.join(dir, 'not-yet', 'deeper');
    const file = variant('store-new-folder', (y) => y.replace(`path: ${dir}/demo.sqlite`, `path: ${folder}/results.sqlite`));
    const r = await linesight('validate', file);
    expect(r.code, r.stderr).toBe(0);
    expect(existsSync(path.join(dir, 'not-yet'))).toBe(false);
  });

  it('lists every problem of a file and exits with the code of the first (store before models)', async () => {
    const file = variant('many', (y) =>
      y.replace(`path: ${dir}/demo.sqlite`, `path: ${dir}`).replace('models/drilling-defects/model.yaml', 'models/drilling-defects/gone.yaml'),
    );
    const { code, problems } = await both(file);
    expect(code).toBe(2);
    expect(problems.map((p) => /:\d+ (\S+):/.exec(p)![1])).toEqual(['store.path', 'stations[1].models[0].manifest']);
  });
});

describe('linesight run option values', () => {
  it.each(['0', '-1', 'abc', '1e9', 'Infinity', ''])('refuses --status-every=%j with exit 2 before it loads the config', async (value) => {
    const r = await linesight('run', '--config', 'configs/demo-line.yaml', `--status-every=${value}`);
    expect(r.code).toBe(2);
    expect(r.stderr.trim()).toBe(`linesight: LS_ERR_USAGE: --status-every '${value}': must be a number from 1 to 86400`);
    expect(r.stderr).not.toContain('station status');
  });
});

describe('linesight run start failures', () => {
  it('a port held by another process: run reports it with the port, takes down what it booted and exits 1', async () => {
    const holder = createServer();
    const port = await new Promise<number>((resolve) => holder.listen(0, '127.0.0.1', () => resolve((holder.address() as AddressInfo).port)));
    try {
      const store = path.join(dir, 'busy.sqlite');
      const file = variant('http-busy', (y) =>
        y.replace(/(http:\n {2}port: )\d+/, `$1${port}`).replace(`path: ${dir}/demo.sqlite`, `path: ${store}`),
      );
      const r = await withDeadline(linesight('run', '--config', file, '--quiet'), 60_000, 'run to give up');
      expect(r.code, r.stderr.slice(-2000)).toBe(1);
      expect(r.stderr).toContain(`LS_ERR_HTTP_LISTEN_FAILED: HTTP control listener cannot listen on 127.0.0.1:${port}`);
      expect(r.stderr).toContain('"line stopped"');
      expect(existsSync(`${store}-wal`)).toBe(false);
    } finally {
      await new Promise((resolve) => holder.close(resolve));
    }
  });
});

function esc(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
