/**
 * The exact text committed for a dashboard. JSON.stringify alone is not
 * enough: the repository's `prettier --write .` would reflow the file (short
 * arrays onto one line) and the committed copy would then differ from the
 * generator's. Formatting with prettier and the repository's config makes the
 * generator's output a fixed point of the formatter.
 */
import { format, resolveConfig } from 'prettier';

export async function renderDashboard(json: unknown, file: string): Promise<string> {
  const config = await resolveConfig(file);
  return format(JSON.stringify(json), { ...config, filepath: file, parser: 'json' });
}
