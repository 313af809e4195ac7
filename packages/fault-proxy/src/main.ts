#!/usr/bin/env node
/**
 * `fault-proxy` — the server as its own process, for callers that want it
 * out of their event loop (or are not written in JavaScript).
 *
 *   node dist/main.js [--host 127.0.0.1] [--port 8474] [--parent-pid PID]
 *
 * Prints one JSON line `{"ready":true,"url":"http://127.0.0.1:8474"}` on
 * stdout once listening. Exits 0 on SIGTERM/SIGINT/SIGHUP after closing every
 * proxy, and by itself when its parent dies (it polls its parent pid, since
 * a SIGKILLed parent cannot tell it): `--parent-pid`, or else the parent it
 * had when it started. Bad arguments exit 2; a port that cannot be bound
 * exits 1.
 */
import { parseArgs } from 'node:util';
import { InvalidArgumentError } from './errors.js';
import { startFaultProxy, type StartedFaultProxy } from './fault-proxy.js';

const USAGE = 'usage: fault-proxy [--host 127.0.0.1] [--port 8474] [--parent-pid PID]   (port 0: the kernel chooses)';
// Read before anything else can take time: a parent that dies during the start must still be noticed.
const startPpid = process.ppid;

function fail(message: string, code: number): never {
  process.stderr.write(`fault-proxy: ${message}\n`);
  process.exit(code);
}

function readArgs(): { host: string; port: number; parentPid: number } {
  let values;
  try {
    ({ values } = parseArgs({
      options: {
        host: { type: 'string', default: '127.0.0.1' },
        port: { type: 'string', default: '8474' },
        'parent-pid': { type: 'string' },
        help: { type: 'boolean', short: 'h', default: false },
      },
      strict: true,
    }));
  } catch (err) {
    fail(`${(err as Error).message}\n${USAGE}`, 2);
  }
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    process.exit(0);
  }
  if (!/^\d{1,5}$/.test(values.port) || Number(values.port) > 65_535) {
    fail(new InvalidArgumentError('--port', values.port, 'an integer from 0 to 65535').message, 2);
  }
  if (values.host === '') fail(new InvalidArgumentError('--host', values.host, 'a host name or IP').message, 2);
  const parent = values['parent-pid'];
  if (parent !== undefined && (!/^\d{1,7}$/.test(parent) || Number(parent) < 1)) {
    fail(new InvalidArgumentError('--parent-pid', parent, 'a process id').message, 2);
  }
  return { host: values.host, port: Number(values.port), parentPid: parent === undefined ? startPpid : Number(parent) };
}

const args = readArgs();
let server: StartedFaultProxy;
try {
  server = await startFaultProxy({ host: args.host, port: args.port });
} catch (err) {
  fail(err instanceof Error ? err.message : String(err), 1);
}

let stopping = false;
function shutdown(reason: string): void {
  if (stopping) return;
  stopping = true;
  process.stderr.write(`fault-proxy: stopping (${reason})\n`);
  server.stop().then(
    () => process.exit(0),
    (err: unknown) => fail(`stop failed: ${String(err)}`, 1),
  );
}

// Once the parent is gone its ends of our pipes may be closed; an EPIPE there
// must not turn a clean shutdown into a crash.
process.stdout.on('error', () => {});
process.stderr.on('error', () => {});
process.on('SIGTERM', () => shutdown('SIGTERM'));
process.on('SIGINT', () => shutdown('SIGINT'));
process.on('SIGHUP', () => shutdown('SIGHUP'));

// A SIGKILLed parent cannot stop us and nothing else would; being reparented
// shows up as a changed ppid (read after the start, the ppid would already be
// the new one when the parent died during it).
const parentPid = args.parentPid;
const checkParent = () => {
  if (process.ppid !== parentPid) shutdown(`parent ${parentPid} is gone`);
};
checkParent();
setInterval(checkParent, 500).unref();

process.stdout.write(JSON.stringify({ ready: true, url: server.url }) + '\n');
