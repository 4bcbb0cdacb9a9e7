/**
 * The MES server on a real line: `services: [{ type: opcua-mes }]` in a line YAML booted by the composition root,
 * a free-running station fed from a folder of frames and a software-triggered synthetic one, the shipped surface
 * model, a real SQLite store, and real node-opcua clients on 127.0.0.1 — anonymous (operator) and an engineer user.
 */
import { copyFileSync, mkdirSync, mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { DataType, StatusCodes } from 'node-opcua';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bootLine, loadConfig, type BootedLine } from '../../../../cli/boot.ts';
import { hashPassword } from '../../../../adapters/service/opcua-mes/security.ts';
import { configIdOf } from '../../../../runtime/config/config-id.ts';
import { freePort } from '../../../../runtime/net/free-port.ts';
import type { Station } from '../../../../runtime/pipeline/station.ts';
import { ROOT } from '../../../helpers/cli.ts';
import { waitUntil, withDeadline } from '../../../helpers/wait.ts';
import { connectMesClient, idOf, jobArguments, type MesClient, type MesEvent } from '../../../fakes/mes-client.ts';

const LINE = 'mes-line';
const MODEL = path.join(ROOT, 'models/surface-anomaly/model.yaml');
const GOLDEN = path.join(ROOT, 'models/surface-anomaly/golden-frame.png');
const RESULT_FIELDS = [
  'ResultId',
  'JobId',
  'PartId',
  'MeasId',
  'ProductId',
  'ResultState',
  'IsSimulated',
  'InternalConfigurationId',
  'ResultContent',
];
const AMSM = '/MV:VisionStateMachine/MV:AutomaticModeStateMachine';

const dir = mkdtempSync(path.join(tmpdir(), 'ls-mes-line-'));
const frames = path.join(dir, 'frames');
let booted: BootedLine;
let anonymous: MesClient;
let engineer: MesClient;
let recheckEvents: MesEvent[];
let endpoint: string;

function station(name: string): Station {
  return booted.line.station(name)!;
}

beforeAll(async () => {
  mkdirSync(frames);
  for (const n of ['a', 'b']) copyFileSync(GOLDEN, path.join(frames, `${n}.png`));
  const port = await freePort();
  endpoint = `opc.tcp://127.0.0.1:${port}`;
  const file = path.join(dir, 'line.yaml');
  writeFileSync(
    file,
    `line: ${LINE}
store: { path: results.sqlite }
services:
  - type: opcua-mes
    port: ${port}
    security:
      allowUnsecured: true
      anonymous: operator
      users: [{ name: eng, passwordHash: '${hashPassword('s3cret-eng')}', role: engineer }]
stations:
  - name: belt
    recipe: panel-A
    source: { type: folder, path: frames, width: 512, height: 512, pixelFormat: RGB8, loop: true }
    trigger: { mode: free-run, fps: 10 }
    models: [{ manifest: ${MODEL} }]
  - name: recheck
    recipe: panel-A
    source: { type: synthetic, scene: surface, width: 512, height: 512, seed: 9000, defectRate: 0 }
    trigger: { mode: software, continuousFps: 10 }
    models: [{ manifest: ${MODEL} }]
    recipes:
      - id: panel-B
        models: [{ manifest: ${MODEL}, anomaly: { reason: PANEL_B_DEFECT } }]
`,
  );
  booted = await bootLine(loadConfig(file), pino({ level: 'silent' }));
  await booted.line.start();
  // Stations inspect at once; the server joins when ready.
  expect(booted.line.services[0]).toBeDefined();
  await withDeadline(booted.line.whenServicesOpen(), 30_000, 'MES server open');
  anonymous = await connectMesClient(endpoint, LINE);
  engineer = await connectMesClient(endpoint, LINE, { user: { name: 'eng', password: 's3cret-eng' } });
  recheckEvents = await anonymous.collectEvents('recheck', 1024, RESULT_FIELDS);
}, 90_000);

afterAll(async () => {
  await anonymous?.close();
  await engineer?.close();
  await booted?.stop();
  rmSync(dir, { recursive: true, force: true });
});

async function startSingleJob(client: MesClient, part: string) {
  const args = await jobArguments(client, { meas: `M-${part}`, part, product: 'PRD-7' });
  const r = await client.call('recheck', AMSM, 'StartSingleJob', args);
  return { statusCode: r.statusCode, jobId: idOf(r.outputs[0]?.value) };
}

describe('MES server on a running line', () => {
  it('shows each station Operational with its automatic mode and SEMI E10 state', async () => {
    await waitUntil(async () => (await anonymous.readText('/1:belt/MV:VisionStateMachine/CurrentState')) === 'Operational' || null, {
      what: 'belt Operational',
    });
    expect(await anonymous.readText(`/1:belt${AMSM}/CurrentState`)).toBe('ContinuousExecution');
    expect(await anonymous.readText(`/1:recheck${AMSM}/CurrentState`)).toBe('Ready');
    const systemState = (await anonymous.read('/1:recheck/MV:SystemState')) as { state: number };
    expect(systemState.state).toBe(2); // SBY
  });

  it('StartSingleJob inspects one part whose ResultReadyEvent and stored result carry the job', async () => {
    const job = await startSingleJob(anonymous, 'P-100');
    expect(job.statusCode).toBe(StatusCodes.Good);
    const event = await waitUntil(() => recheckEvents.find((e) => idOf(e.fields.JobId) === job.jobId), { what: 'ResultReadyEvent of the job' });
    expect(idOf(event.fields.PartId)).toBe('P-100');
    expect(idOf(event.fields.MeasId)).toBe('M-P-100');
    expect(idOf(event.fields.ProductId)).toBe('PRD-7');
    expect(event.fields.ResultState).toBe(1);
    expect(event.fields.IsSimulated).toBe(false);
    expect(idOf(event.fields.InternalConfigurationId)).toBe(configIdOf(booted.line.config));
    const content = JSON.parse((event.fields.ResultContent as string[])[0]!) as { verdict: string };
    expect(['OK', 'NOK']).toContain(content.verdict);
    const resultId = idOf(event.fields.ResultId)!;
    const sequence = Number(resultId.split('/')[1]);
    const stored = booted.line.store.getBySequence(LINE, 'recheck', sequence)!.result;
    expect(stored.partId).toBe('P-100');
    expect(stored.job).toEqual({ jobId: job.jobId, measId: 'M-P-100', productId: 'PRD-7', externalRecipeId: 'panel-A' });
    expect(stored.verdict).toBe(content.verdict);
    // The same result by JobId through ResultManagement.
    const list = await anonymous.call('recheck', '/MV:ResultManagement', 'GetResultListFiltered', [
      { dataType: DataType.Int32, value: 0 },
      await anonymous.id(3015, null),
      await anonymous.id(3004, null),
      await anonymous.id(3002, null),
      await anonymous.id(3013, null),
      await anonymous.id(3008, null),
      await anonymous.id(3008, null),
      await anonymous.id(3003, null),
      await anonymous.id(3016, job.jobId),
      { dataType: DataType.UInt32, value: 10 },
      { dataType: DataType.UInt32, value: 0 },
      { dataType: DataType.Int32, value: 0 },
    ]);
    expect(list.statusCode).toBe(StatusCodes.Good);
    const results = list.outputs[3]!.value as { resultId: { id: string } }[];
    expect(results.map((r) => r.resultId.id)).toEqual([resultId]);
  });

  it('every part raises a ResultReadyEvent, also the free-running station’s', async () => {
    const beltEvents = await anonymous.collectEvents('belt', 1024, RESULT_FIELDS);
    const first = await waitUntil(() => beltEvents[0], { what: 'a belt ResultReadyEvent' });
    expect(idOf(first.fields.JobId)).toBe('');
    expect(idOf(first.fields.ResultId)).toMatch(/^belt\/\d+$/);
  });

  it('StartContinuous free-runs the software station with the JobId on every part, Stop returns to Ready', async () => {
    const args = await jobArguments(anonymous, { meas: 'M-C', part: '', product: 'PRD-C' });
    const started = await anonymous.call('recheck', AMSM, 'StartContinuous', args);
    expect(started.statusCode).toBe(StatusCodes.Good);
    const jobId = idOf(started.outputs[0]?.value);
    expect(await anonymous.readText(`/1:recheck${AMSM}/CurrentState`)).toBe('ContinuousExecution');
    await waitUntil(() => recheckEvents.filter((e) => idOf(e.fields.JobId) === jobId).length >= 3 || null, { what: '3 parts of the continuous job' });
    const stopped = await anonymous.call('recheck', AMSM, 'Stop', [
      { dataType: DataType.Int32, value: 0 },
      { dataType: DataType.String, value: 'end of batch' },
    ]);
    expect(stopped.statusCode).toBe(StatusCodes.Good);
    expect(station('recheck').continuous).toBe(false);
    expect(await anonymous.readText(`/1:recheck${AMSM}/CurrentState`)).toBe('Ready');
  });

  it('SimulationMode marks results IsSimulated', async () => {
    const on = await anonymous.call('recheck', AMSM, 'SimulationMode', [
      { dataType: DataType.Boolean, value: true },
      { dataType: DataType.Int32, value: 0 },
      { dataType: DataType.String, value: 'dry run' },
    ]);
    expect(on.statusCode).toBe(StatusCodes.Good);
    const job = await startSingleJob(anonymous, 'P-SIM');
    const event = await waitUntil(() => recheckEvents.find((e) => idOf(e.fields.JobId) === job.jobId), { what: 'simulated result' });
    expect(event.fields.IsSimulated).toBe(true);
    expect(((await anonymous.read('/1:recheck/MV:SystemState')) as { state: number }).state).toBe(3); // ENG
    station('recheck').setSimulationMode(false);
  });

  it('Halt needs the engineer role; a halted station refuses jobs until Reset', async () => {
    const cause = [
      { dataType: DataType.Int32, value: 0 },
      { dataType: DataType.String, value: 'cleaning' },
    ];
    const denied = await anonymous.call('recheck', '/MV:VisionStateMachine', 'Halt', cause);
    expect(denied.statusCode).toBe(StatusCodes.BadUserAccessDenied);
    const halted = await engineer.call('recheck', '/MV:VisionStateMachine', 'Halt', cause);
    expect(halted.statusCode).toBe(StatusCodes.Good);
    expect(await anonymous.readText('/1:recheck/MV:VisionStateMachine/CurrentState')).toBe('Halted');
    expect(((await anonymous.read('/1:recheck/MV:SystemState')) as { state: number }).state).toBe(4); // SDT
    expect((await startSingleJob(anonymous, 'P-HALT')).statusCode).toBe(StatusCodes.BadInvalidState);
    const reset = await engineer.call('recheck', '/MV:VisionStateMachine', 'Reset', cause);
    expect(reset.statusCode).toBe(StatusCodes.Good);
    expect(await anonymous.readText('/1:recheck/MV:VisionStateMachine/CurrentState')).toBe('Operational');
    expect((await startSingleJob(anonymous, 'P-AFTER')).statusCode).toBe(StatusCodes.Good);
  });

  it('goes to Error with an ErrorEvent when the camera stops delivering, and back when it delivers again', async () => {
    const errors = await anonymous.collectEvents('belt', 1019, ['Message']);
    const resolved = await anonymous.collectEvents('belt', 1020, ['Message']);
    const away = path.join(dir, 'away');
    renameSync(frames, away);
    await waitUntil(async () => (await anonymous.readText('/1:belt/MV:VisionStateMachine/CurrentState')) === 'Error' || null, {
      what: 'belt in Error',
    });
    expect(((await anonymous.read('/1:belt/MV:SystemState')) as { state: number }).state).toBe(5); // UDT
    const raised = await waitUntil(() => errors[0], { what: 'ErrorEvent' });
    expect((raised.fields.Message as { text: string }).text).toContain('belt: camera-lost');
    renameSync(away, frames);
    await waitUntil(async () => (await anonymous.readText('/1:belt/MV:VisionStateMachine/CurrentState')) === 'Operational' || null, {
      what: 'belt Operational again',
    });
    await waitUntil(() => resolved[0], { what: 'ErrorResolvedEvent' });
  });

  it('PrepareRecipe switches the station to another recipe of its YAML at run time, and back', async () => {
    const prepare = async (id: string) =>
      engineer.call('recheck', '/MV:RecipeManagement', 'PrepareRecipe', [await engineer.id(3002, null), await engineer.id(3013, id)]);
    const switched = await prepare('panel-B');
    expect(switched.statusCode).toBe(StatusCodes.Good);
    expect(switched.outputs.at(-1)?.value).toBe(0);
    expect(station('recheck').recipe.id).toBe('panel-B');
    const job = await startSingleJob(anonymous, 'P-RECIPE-B');
    const event = await waitUntil(() => recheckEvents.find((e) => idOf(e.fields.JobId) === job.jobId), { what: 'result under panel-B' });
    const sequence = Number(idOf(event.fields.ResultId)!.split('/')[1]);
    expect(booted.line.store.getBySequence(LINE, 'recheck', sequence)!.result.recipe).toBe('panel-B');
    expect((await prepare('panel-A')).statusCode).toBe(StatusCodes.Good);
    expect(station('recheck').recipe.id).toBe('panel-A');
  });

  it('takes more event subscriptions on one station than the 10 listeners Node allows by default', async () => {
    const collectors: MesEvent[][] = [];
    for (let n = 0; n < 12; n++) collectors.push(await anonymous.collectEvents('belt', 1024, ['ResultId']));
    await waitUntil(() => collectors.every((c) => c.length > 0) || null, { what: 'an event on each of 12 subscriptions' });
  });

  it('serves a dashboard namespace with counters and the last verdict', async () => {
    const nsArray = await anonymous.session.readNamespaceArray();
    const dash = nsArray.indexOf('urn:linesight:dashboard');
    expect(dash).toBeGreaterThan(0);
    const inspected = await anonymous.read(`/${dash}:Dashboard/${dash}:belt/${dash}:Inspected`);
    expect(inspected).toBeGreaterThan(0);
    expect(['OK', 'NOK']).toContain(await anonymous.read(`/${dash}:Dashboard/${dash}:belt/${dash}:LastVerdict`));
    const models = (await anonymous.read(`/${dash}:Dashboard/${dash}:belt/${dash}:Models`)) as string[];
    expect(models[0]).toMatch(/^surface-anomaly [0-9a-f]{64}$/);
  });
});
