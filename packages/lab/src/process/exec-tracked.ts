/**
 * A short helper program (`cp -a`, `chown -R`) run to its end as a tracked
 * child: registered with the cleanup registry while it runs, so that a
 * signal in the middle of a start stops it before the folder it writes into
 * is removed. Untracked, a `cp -a` of the PostgreSQL template went on
 * writing into a work dir that the registry was removing: the removal
 * failed (ENOTEMPTY) after owner.json was gone, and the folder stayed
 * behind where no reaper would take it (issue 15).
 */
import { execFile } from 'node:child_process';
import { basename } from 'node:path';
import { isExiting, registerCleanup } from './cleanup.js';
import { ProviderStartError } from '../errors.js';

/** Runs `command` to its end; rejects when it cannot start, fails, or the lab is shutting down. */
export function execTracked(
  command: string,
  args: readonly string[],
  options: { readonly cwd?: string } = {},
): Promise<{ stdout: string; stderr: string }> {
  const name = basename(command);
  if (isExiting())
    return Promise.reject(new ProviderStartError(name, 'the lab is shutting down; nothing new is started'));
  return new Promise((resolve, reject) => {
    let onEnd: () => void = () => {};
    const ended = new Promise<void>((r) => (onEnd = r));
    const child = execFile(command, [...args], { ...options, maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) => {
      unregister();
      onEnd();
      if (err) reject(Object.assign(err, { stdout, stderr }));
      else resolve({ stdout, stderr });
    });
    const unregister = registerCleanup({
      name: `${name} (pid ${child.pid ?? '?'})`,
      run: async () => {
        child.kill('SIGKILL');
        await ended;
      },
      killSync: () => void child.kill('SIGKILL'),
    });
  });
}
