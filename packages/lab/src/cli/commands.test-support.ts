/**
 * The `lab` commands as their tests run them: the built CLI as a child process, as CI runs it, or a command's
 * function in this process; either way to its end, with its exit code, stdout and stderr.
 */
import { spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { vi } from 'vitest';

export interface CommandOutput {
  readonly code: number | null;
  readonly out: string;
  readonly err: string;
}

/** The built CLI (`npm run build` makes it). */
export const BUILT_CLI = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'dist', 'cli.js');

/** `lab <args>` through the built CLI, with `env` over this process's environment. */
export function runBuiltCli(args: readonly string[], env: NodeJS.ProcessEnv = {}): Promise<CommandOutput> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BUILT_CLI, ...args], {
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.once('error', reject);
    child.once('close', (code) => resolve({ code, out, err }));
  });
}

/** A command's function in this process, what it writes to stdout and stderr kept instead of shown. */
export async function withOutput(command: () => Promise<number>): Promise<CommandOutput & { readonly code: number }> {
  let out = '';
  let err = '';
  const o = vi.spyOn(process.stdout, 'write').mockImplementation((s) => ((out += String(s)), true));
  const e = vi.spyOn(process.stderr, 'write').mockImplementation((s) => ((err += String(s)), true));
  try {
    const code = await command();
    return { code, out, err };
  } finally {
    o.mockRestore();
    e.mockRestore();
  }
}
