/**
 * The fault proxy (`@chaos-lab/fault-proxy`, Toxiproxy's HTTP API) as a
 * child process of the local environment — its own process, like a real
 * Toxiproxy, so pausing or killing the lab's event loop never stalls the
 * traffic it proxies.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { ManagedProcess } from '../../process/managed-process.js';
import { LabTimeoutError, ProviderStartError } from '../../errors.js';

import type { StartedFaultProxy } from '../contract.js';

export type { StartedFaultProxy };

function entry(): string {
  let path: string;
  try {
    path = fileURLToPath(import.meta.resolve('@chaos-lab/fault-proxy/main'));
  } catch (err) {
    throw new ProviderStartError(
      'fault-proxy',
      'the package @chaos-lab/fault-proxy is not installed (run npm install)',
      { cause: err },
    );
  }
  if (!existsSync(path)) throw new ProviderStartError('fault-proxy', `${path} is missing; run npm run build`);
  return path;
}

export async function startFaultProxyProcess(logFile: string, timeoutMs = 10_000): Promise<StartedFaultProxy> {
  let url: string | undefined;
  const proc = await ManagedProcess.spawn({
    name: 'fault-proxy',
    command: process.execPath,
    // It ends itself when the lab dies; it is told which process that is.
    args: [entry(), '--host', '127.0.0.1', '--port', '0', '--parent-pid', String(process.pid)],
    logFile,
    onStdoutLine: (line) => {
      if (url) return;
      try {
        const m = JSON.parse(line) as { ready?: boolean; url?: string };
        if (m.ready && m.url) url = m.url;
      } catch {
        // not the ready line
      }
    },
  });
  try {
    await proc.waitUntil('its ready line', async () => url !== undefined, timeoutMs);
  } catch (err) {
    await proc.stop();
    if (err instanceof LabTimeoutError)
      throw new ProviderStartError('fault-proxy', `no ready line within ${timeoutMs} ms`, { logFile });
    throw err;
  }
  return {
    url: url!,
    get pid() {
      return proc.pid;
    },
    get running() {
      return proc.running;
    },
    stop: async () => {
      await proc.stop();
    },
  };
}
