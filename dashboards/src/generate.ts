/**
 * Writes `dashboards/generated/<uid>.json` for every dashboard and removes
 * JSON files there that no dashboard produces any more.
 *
 *   node --import tsx dashboards/src/generate.ts
 */
import { mkdir, readdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { dashboards, GENERATED_DIR } from './index.js';
import { renderDashboard } from './render.js';

async function main(): Promise<void> {
  await mkdir(GENERATED_DIR, { recursive: true });
  const written = new Set<string>();
  for (const d of dashboards()) {
    await writeFile(d.file, await renderDashboard(d.json, d.file));
    written.add(d.file);
    console.log(`wrote ${d.file}`);
  }
  for (const name of await readdir(GENERATED_DIR)) {
    const file = join(GENERATED_DIR, name);
    if (name.endsWith('.json') && !written.has(file)) {
      await rm(file);
      console.log(`removed ${file}`);
    }
  }
}

await main();
