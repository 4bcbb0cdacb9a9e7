/**
 * A Machine Vision OPC UA server (node-opcua, SecurityMode None, 127.0.0.1, free port) with the line's address space
 * built by adapters/service/opcua-mes, and a real node-opcua client session on it: the MES tests' set-up.
 */
import { mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  makeBrowsePath,
  MessageSecurityMode,
  OPCUACertificateManager,
  OPCUAClient,
  OPCUAServer,
  SecurityPolicy,
  StatusCodes,
  type ClientSession,
  type NodeId,
} from 'node-opcua';
import {
  buildMachineVisionSpace,
  MACHINE_VISION_NS_URI,
  machineVisionNodesets,
  type MachineVisionSpace,
} from '../../adapters/service/opcua-mes/address-space.ts';
import { freePort } from '../../runtime/net/free-port.ts';
import { withDeadline } from '../helpers/wait.ts';

export interface MachineVisionPeer {
  readonly server: OPCUAServer;
  readonly space: MachineVisionSpace;
  readonly client: OPCUAClient;
  readonly session: ClientSession;
  /** Client-side index of the MachineVision namespace. */
  readonly mvNs: number;
  /** The node at a browse path from RootFolder; throws when it does not resolve. */
  resolve(path: string): Promise<NodeId>;
  close(): Promise<void>;
}

/** Starts the server with `bind` run on the built space before it listens, then connects the client. */
export async function startMachineVisionPeer(
  line: string,
  stations: readonly string[],
  bind: (space: MachineVisionSpace) => void,
): Promise<MachineVisionPeer> {
  const port = await freePort();
  const pki = join(tmpdir(), 'linesight-test-opcua-pki', 'mes-plain');
  mkdirSync(pki, { recursive: true });
  const server = new OPCUAServer({
    port,
    hostname: '127.0.0.1',
    nodeset_filename: machineVisionNodesets(),
    serverCertificateManager: new OPCUACertificateManager({ rootFolder: pki, automaticallyAcceptUnknownCertificate: true }),
    securityModes: [MessageSecurityMode.None],
    securityPolicies: [SecurityPolicy.None],
    allowAnonymous: true,
  });
  await withDeadline(server.initialize(), 30_000, 'OPC UA server initialize (nodesets)');
  const space = buildMachineVisionSpace(server, line, stations);
  bind(space);
  await withDeadline(server.start(), 10_000, 'OPC UA server start');
  const client = OPCUAClient.create({ endpointMustExist: false, connectionStrategy: { maxRetry: 0 }, securityMode: MessageSecurityMode.None });
  await withDeadline(client.connect(`opc.tcp://127.0.0.1:${port}`), 10_000, 'client connect');
  const session = await withDeadline(client.createSession(), 10_000, 'client session');
  const mvNs = (await withDeadline(session.readNamespaceArray(), 5_000, 'read NamespaceArray')).indexOf(MACHINE_VISION_NS_URI);
  return {
    server,
    space,
    client,
    session,
    mvNs,
    async resolve(path) {
      const result = await withDeadline(session.translateBrowsePath(makeBrowsePath('RootFolder', path)), 5_000, `translate ${path}`);
      if (result.statusCode !== StatusCodes.Good) throw new Error(`${path}: ${result.statusCode.toString()}`);
      return result.targets![0]!.targetId;
    },
    async close() {
      await session.close().catch(() => {});
      await client.disconnect().catch(() => {});
      await server.shutdown(0);
    },
  };
}
