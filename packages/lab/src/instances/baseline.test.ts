import { describe, expect, it } from 'vitest';
import { buildBaseline } from './baseline.js';
import { InvalidArgumentError } from '../errors.js';

const root = new URL('../../../..', import.meta.url).pathname;

describe('buildBaseline', () => {
  it('names LAB_BASELINE_REF and the value when the ref is not a commit of the repository', async () => {
    const err = await buildBaseline('no-such-ref-anywhere', { root, cacheDir: '/nonexistent' }).catch(
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(InvalidArgumentError);
    expect((err as Error).message).toMatch(
      /^LAB_BASELINE_REF: expected a commit of the repository .*\(got "no-such-ref-anywhere"\)$/s,
    );
  });

  it('refuses a ref that could be read as a shell word or an option', async () => {
    await expect(buildBaseline('$(touch /tmp/x)', { root })).rejects.toThrow(/LAB_BASELINE_REF/);
    await expect(buildBaseline('', { root })).rejects.toThrow(/LAB_BASELINE_REF/);
  });
});
