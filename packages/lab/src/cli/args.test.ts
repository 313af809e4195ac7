import { describe, expect, it } from 'vitest';
import { InvalidArgumentError } from '../errors.js';
import { optionList, parseOptions } from './args.js';

const options = {
  seed: { type: 'string', multiple: true },
  json: { type: 'boolean' },
} as const;
const parse = (args: string[], allowPositionals = false) =>
  parseOptions('lab thing', { args, options, allowPositionals }, { seed: 'N' });

/** The message of what `f` throws, checking it is an InvalidArgumentError. */
function refusal(f: () => unknown): string {
  try {
    f();
  } catch (err) {
    expect(err).toBeInstanceOf(InvalidArgumentError);
    return (err as Error).message;
  }
  throw new Error('nothing thrown');
}

describe('parseOptions', () => {
  it('parses like parseArgs, strict', () => {
    expect(parse(['--seed', '3', '--seed=4', '--json']).values).toEqual({ seed: ['3', '4'], json: true });
    expect(parse(['x', '--json'], true).positionals).toEqual(['x']);
  });

  it('names an unknown option with every option of the command', () => {
    expect(refusal(() => parse(['--sed', '3']))).toBe(
      'lab thing: expected one of its options: --seed N, --json (got "--sed")',
    );
    expect(refusal(() => parse(['-s']))).toBe('lab thing: expected one of its options: --seed N, --json (got "-s")');
    expect(refusal(() => parseOptions('lab reap', { args: ['--all'], options: {} }))).toBe(
      'lab reap: expected no options (got "--all")',
    );
  });

  it('names an option missing its value, or given one it does not take', () => {
    expect(refusal(() => parse(['--seed']))).toBe('--seed: expected a value (--seed N) (got undefined)');
    expect(refusal(() => parse(['--seed', '--json']))).toBe('--seed: expected a value (--seed N) (got "--json")');
    expect(refusal(() => parse(['--json=yes']))).toBe('--json: expected no value (--json is a flag) (got "yes")');
  });

  it('names an argument the command does not take', () => {
    expect(refusal(() => parse(['stray']))).toBe(
      'lab thing: expected only its options (--seed N, --json) (got "stray")',
    );
    expect(refusal(() => parseOptions('lab reap', { args: ['x'], options: {} }))).toBe(
      'lab reap: expected no arguments (got "x")',
    );
  });

  it('lists options with their value hints', () => {
    expect(optionList({ plan: { type: 'string' }, all: { type: 'boolean' } }, {})).toBe('--plan <value>, --all');
  });
});
