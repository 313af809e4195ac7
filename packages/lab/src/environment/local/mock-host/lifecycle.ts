/**
 * The host process' life once its cluster exists: the control server, the
 * ready line on stdout, and shutdown — on a signal, or when the parent is
 * gone, so a crashed lab never leaves brokers holding ports.
 */
import { createServer } from 'node:http';
import type { MockHost } from './host.js';
import { handle } from './routes.js';
import { fail, say } from './stderr.js';

/**
 * Serves `host`'s control API on 127.0.0.1:`port` (0: any) until a signal or the death of `parentPid` (the lab)
 * ends the process.
 */
export function serve(host: MockHost, port: number, parentPid: number): void {
  const server = createServer((req, res) => void handle(host, req, res));
  // Control calls are rare and tiny; a keep-alive socket left by a client must not hold shutdown up.
  server.keepAliveTimeout = 1000;

  let stopping = false;
  function shutdown(reason: string, code = 0): void {
    if (stopping) return;
    stopping = true;
    say(`stopping (${reason})`);
    server.closeAllConnections();
    server.close();
    try {
      host.destroy();
    } catch (err) {
      say(`destroy failed: ${String(err)}`);
      code ||= 1;
    }
    process.exit(code);
  }

  // Once the parent is gone its end of our stdout/stderr pipes may be closed;
  // an EPIPE there must not turn a clean shutdown into a crash.
  process.stdout.on('error', () => {});
  process.stderr.on('error', () => {});
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));
  process.on('SIGHUP', () => shutdown('SIGHUP'));

  // A parent killed with SIGKILL cannot stop us, and nothing else would: the
  // reparenting shows up as a changed ppid. The parent's pid is the one the
  // lab gave: read here, after the cluster's start, it would already be init's
  // when the lab died during that start, and the host would never end.
  const check = () => {
    if (process.ppid !== parentPid) shutdown(`parent ${parentPid} is gone`);
  };
  check();
  setInterval(check, 500).unref();

  server.once('error', (err) => {
    host.destroy();
    fail(`control server: ${String(err.message)}`, 4);
  });
  server.listen(port, '127.0.0.1', () => {
    const addr = server.address();
    if (addr === null || typeof addr !== 'object') return shutdown('control server has no address', 4);
    const ready = {
      ready: true,
      bootstrapServers: host.bootstrapServers,
      controlUrl: `http://127.0.0.1:${addr.port}`,
      brokers: host.brokers,
    };
    process.stdout.write(JSON.stringify(ready) + '\n');
  });
}
