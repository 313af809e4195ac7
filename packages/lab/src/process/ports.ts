import { createServer } from 'node:net';
import { LabError } from '../errors.js';

/**
 * Asks the kernel for a free loopback port. There is a window between closing
 * the probe socket and the server binding it; callers that bind a server on
 * the port treat EADDRINUSE at start as retriable.
 */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      srv.close(() =>
        addr && typeof addr === 'object'
          ? resolve(addr.port)
          : reject(new LabError('freePort: the listening socket has no address')),
      );
    });
  });
}
