import { readdir, readFile } from 'node:fs/promises';
import { basename } from 'node:path';
import { describe, expect, it } from 'vitest';
import { dashboards, GENERATED_DIR } from './index.js';
import { renderDashboard } from './render.js';

const REGENERATE = 'node --import tsx dashboards/src/generate.ts';

describe('committed dashboards/generated/*.json', () => {
  for (const d of dashboards()) {
    it(`${d.uid}.json is what the code generates`, async () => {
      const committed = await readFile(d.file, 'utf8').catch(() => undefined);
      expect(committed, `dashboards/generated/${basename(d.file)} is missing; run: ${REGENERATE}`).toBeDefined();
      const generated = await renderDashboard(d.json, d.file);
      // toBe would print a 30 kB diff; a boolean with the file and the command is what the reader needs.
      expect(
        committed === generated,
        `dashboards/generated/${basename(d.file)} differs from what the code generates; run: ${REGENERATE}`,
      ).toBe(true);
    });
  }

  it('holds no JSON that no dashboard generates', async () => {
    const expected = dashboards().map((d) => basename(d.file));
    const present = (await readdir(GENERATED_DIR)).filter((name) => name.endsWith('.json'));
    expect(present.sort(), `stale files in dashboards/generated; run: ${REGENERATE}`).toEqual(expected.sort());
  });

  it('renders deterministically and as pretty-printed JSON', async () => {
    const [d] = dashboards();
    if (d === undefined) throw new Error('no dashboards');
    const once = await renderDashboard(d.json, d.file);
    expect(await renderDashboard(dashboards()[0]?.json, d.file)).toBe(once);
    // The SDK marks targets with a function property, which JSON leaves out.
    expect(JSON.parse(once)).toEqual(JSON.parse(JSON.stringify(d.json)));
    expect(once.split('\n').length).toBeGreaterThan(100);
  });
});
