/**
 * Options of the `lab` commands: `node:util`'s parseArgs, strict, with its errors turned into the project's
 * {@link InvalidArgumentError} — the option named, what was expected (for an unknown option, every option the
 * command has), and what was given — instead of Node's TypeError.
 */
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { InvalidArgumentError } from '../errors.js';

type Options = NonNullable<ParseArgsConfig['options']>;

/** How to show an option in a message: `--seed <value>` unless told, e.g. `{ seed: 'N' }` → `--seed N`. */
export type OptionHints = Readonly<Record<string, string>>;

/** The options of a command as a message lists them: `--seed N, --json`. */
export function optionList(options: Options, hints: OptionHints = {}): string {
  return Object.entries(options)
    .map(([name, o]) => (o.type === 'boolean' ? `--${name}` : `--${name} ${hints[name] ?? '<value>'}`))
    .join(', ');
}

/**
 * parseArgs, strict, for `command` (`lab report`, as messages name it). A bad option throws
 * {@link InvalidArgumentError}: an unknown one names the command and its options, a missing or unwanted value
 * names the option, an unexpected argument names the command.
 */
export function parseOptions<const T extends ParseArgsConfig & { readonly options: Options }>(
  command: string,
  config: T,
  hints: OptionHints = {},
): ReturnType<typeof parseArgs<T>> {
  try {
    return parseArgs<T>({ ...config, strict: true });
  } catch (err) {
    const code = (err as { code?: unknown }).code;
    if (typeof code !== 'string' || !code.startsWith('ERR_PARSE_ARGS_')) throw err;
    throw argumentError(command, config, hints, err as Error);
  }
}

/** The first token a strict parse refuses, as an {@link InvalidArgumentError}. */
function argumentError(
  command: string,
  config: ParseArgsConfig & { readonly options: Options },
  hints: OptionHints,
  err: Error,
): InvalidArgumentError {
  const { options } = config;
  const { tokens } = parseArgs({ ...config, strict: false, tokens: true, allowPositionals: true });
  for (const t of tokens) {
    if (t.kind === 'positional' && config.allowPositionals !== true)
      return new InvalidArgumentError(
        command,
        t.value,
        Object.keys(options).length === 0 ? 'no arguments' : `only its options (${optionList(options, hints)})`,
      );
    if (t.kind !== 'option') continue;
    const o = options[t.name];
    if (o === undefined)
      return new InvalidArgumentError(
        command,
        t.rawName,
        Object.keys(options).length === 0 ? 'no options' : `one of its options: ${optionList(options, hints)}`,
      );
    const shown = `--${t.name}${o.type === 'string' ? ` ${hints[t.name] ?? '<value>'}` : ''}`;
    if (o.type === 'boolean' && t.value !== undefined)
      return new InvalidArgumentError(`--${t.name}`, t.value, `no value (${shown} is a flag)`);
    if (o.type === 'string' && (t.value === undefined || (!t.inlineValue && t.value.startsWith('-'))))
      return new InvalidArgumentError(`--${t.name}`, t.value, `a value (${shown})`);
  }
  // Not expected: every refusal of a strict parse is one of the above. Say what Node said, under the command.
  return new InvalidArgumentError(command, err.message, `options it knows (${optionList(options, hints)})`);
}
