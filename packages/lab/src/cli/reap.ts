/** `lab reap`: stops the servers and removes the work dirs a killed lab process left behind. */
import { reapStaleWorkDirs } from '../environment/local/work-dir.js';
import { parseOptions } from './args.js';

export async function reapCommand(argv: string[]): Promise<number> {
  parseOptions('lab reap', { args: argv, options: {} });
  const reaped = await reapStaleWorkDirs();
  process.stdout.write(
    reaped.length === 0 ? 'nothing to reap\n' : reaped.map((r) => `reaped ${JSON.stringify(r)}`).join('\n') + '\n',
  );
  return 0;
}
