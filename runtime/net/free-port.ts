/**
 * A TCP port that was free a moment ago on `host`, found by letting the OS pick one. There is a small race
 * between closing the probe and the caller listening; callers that own the port keep it across restarts.
 * (modbus-serial's ServerTCP treats port 0 as 502, so it cannot be asked for an ephemeral port itself.)
 */
import { createServer } from 'node:net';

export function freePort(host = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, host, () => {
      const address = probe.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      probe.close(() => resolve(port));
    });
  });
}
