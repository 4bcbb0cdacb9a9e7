/**
 * The MES server: a node-opcua OPCUAServer with the Machine Vision nodeset, one VisionSystem per station
 * (address-space.ts) with its methods bound — VisionStateMachine (vision-control.ts), AutomaticModeStateMachine
 * (automatic-mode.ts), ResultManagement from the store (result-management.ts), RecipeManagement — a
 * ResultReadyEvent per result (result-publisher.ts) and the dashboard namespace (dashboard.ts). Security comes in
 * ready-made server options (security.ts) and one method guard. This module imports node-opcua at load: the
 * adapter's entry (index.ts) imports it lazily, on open().
 */
import { OPCUAServer, type OPCUAServerOptions } from 'node-opcua';
import type { Logger } from 'pino';
import type { ServiceContext } from '../../../runtime/adapter.ts';
import { buildMachineVisionSpace, machineVisionNodesets, type MachineVisionSpace } from './address-space.ts';
import { bindAutomaticMode } from './automatic-mode.ts';
import { buildDashboard, DASHBOARD_NS_URI } from './dashboard.ts';
import type { MethodGuard } from './method-arguments.ts';
import { bindResultManagement } from './result-management.ts';
import { bindRecipeManagement } from './recipe-management.ts';
import { publishResults } from './result-publisher.ts';
import { VisionControl } from './vision-control.ts';

/** Subscriptions one session may hold, on average, within the server-wide cap. */
const SUBSCRIPTIONS_PER_SESSION = 4;

export interface MesServerOptions {
  readonly host: string;
  readonly port: number;
  readonly maxResultsPerCall: number;
  readonly maxSessions: number;
  /** securityModes, securityPolicies, allowAnonymous, userManager, certificate managers. */
  readonly security: Partial<OPCUAServerOptions>;
  readonly guard: MethodGuard;
}

export interface MesServer {
  readonly server: OPCUAServer;
  readonly space: MachineVisionSpace;
  readonly controls: ReadonlyMap<string, VisionControl>;
  readonly endpoint: string;
  shutdown(): Promise<void>;
}

export async function startMesServer(ctx: ServiceContext, options: MesServerOptions): Promise<MesServer> {
  const server = new OPCUAServer({
    ...options.security,
    hostname: options.host,
    port: options.port,
    nodeset_filename: machineVisionNodesets(),
    maxConnectionsPerEndpoint: options.maxSessions,
    // Every session may subscribe: the server-wide cap follows maxSessions (node-opcua's default of 100 refused the
    // 101st subscription with BadTooManySubscriptions in bench -- mes).
    serverCapabilities: { maxSessions: options.maxSessions, maxSubscriptions: options.maxSessions * SUBSCRIPTIONS_PER_SESSION },
    buildInfo: { productName: 'Linesight MES server', manufacturerName: 'Linesight' },
  });
  await server.initialize();
  const space = buildMachineVisionSpace(
    server,
    ctx.line,
    ctx.stations.map((p) => p.station.name),
  );
  // Each event monitored item listens on its VisionSystem: Node's default of 10 listeners crashed the process at the
  // 11th concurrent event subscription on one station (bench -- mes). Bound it by what the sessions may open.
  for (const h of space.stations.values()) h.visionSystem.setMaxListeners(options.maxSessions * SUBSCRIPTIONS_PER_SESSION + 20);
  // The Server object (i=2253) takes event items too (the VisionSystems notify it): the same limit.
  server.engine.addressSpace!.rootFolder.objects.server.setMaxListeners(options.maxSessions * SUBSCRIPTIONS_PER_SESSION + 20);
  const stopPublishing: (() => void)[] = [];
  const controls = bindStations(space, ctx, options, stopPublishing);
  bindResultManagement(space, ctx.store, { log: ctx.log, maxResultsPerCall: options.maxResultsPerCall, guard: options.guard });
  bindRecipeManagement(space, new Map(ctx.stations.map((p) => [p.station.name, p.recipes])), { log: ctx.log, guard: options.guard });
  buildDashboard(server.engine.addressSpace!.registerNamespace(DASHBOARD_NS_URI), space.folder, ctx.stations);
  await server.start();
  const endpoint = `opc.tcp://${options.host}:${options.port}`;
  return {
    server,
    space,
    controls,
    endpoint,
    async shutdown() {
      for (const c of controls.values()) c.close();
      for (const stop of stopPublishing) stop();
      await server.shutdown(0);
    },
  };
}

function bindStations(
  space: MachineVisionSpace,
  ctx: ServiceContext,
  options: MesServerOptions,
  stopPublishing: (() => void)[],
): Map<string, VisionControl> {
  const controls = new Map<string, VisionControl>();
  for (const port of ctx.stations) {
    const handle = space.stations.get(port.station.name)!;
    const log: Logger = ctx.log; // every MES log line names its station
    const control = new VisionControl(handle, port, { log, guard: options.guard });
    bindAutomaticMode(control, { log, guard: options.guard });
    stopPublishing.push(publishResults(handle, port.station, log));
    controls.set(port.station.name, control);
  }
  return controls;
}
