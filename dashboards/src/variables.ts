/**
 * Grafana's variable interpolation, reduced to what these dashboards use, so
 * their queries can be sent to a plain Prometheus HTTP API (tests, reports).
 *
 * Built-ins: `$__rate_interval`, `$__interval`, `$__range` (each also as
 * `${__name}`). Dashboard variables: `$var`, `${var}`, `${var:regex}`. A
 * value is one string, a list (multi-select), or {@link ALL}, which becomes
 * `.*` as the dashboards' `allValue` makes it in Grafana.
 */

/** The value Grafana stores for "All"; resolves to `.*`. */
export const ALL = '$__all';

export type VariableValue = string | readonly string[];

export interface ResolveOptions {
  /** Replaces `$__rate_interval`, a Prometheus duration such as `1m`. */
  readonly rateInterval: string;
  /** Replaces `$__interval`. */
  readonly interval: string;
  /** Replaces `$__range`. */
  readonly range: string;
  /** Dashboard variables by name (without `$`). */
  readonly vars?: Readonly<Record<string, VariableValue>>;
}

export class DashboardsError extends Error {
  override readonly name: string = 'DashboardsError';
}

/** A query names a variable the caller gave no value for. */
export class UnknownVariableError extends DashboardsError {
  override readonly name = 'UnknownVariableError';
  constructor(
    readonly variable: string,
    readonly expr: string,
  ) {
    super(`no value for variable $${variable} in: ${expr}`);
  }
}

/** An option is not what Prometheus would accept there. */
export class InvalidOptionError extends DashboardsError {
  override readonly name = 'InvalidOptionError';
  constructor(
    readonly option: string,
    readonly value: unknown,
    reason: string,
  ) {
    super(`${option}=${JSON.stringify(value)}: ${reason}`);
  }
}

const DURATION = /^(\d+(ms|s|m|h|d|w|y))+$/;
const VARIABLE_NAME = /^[A-Za-z_]\w*$/;

/**
 * Grafana's three spellings: `${name}` or `${name:format}`, `[[name]]` (deprecated, not used here) and `$name`.
 * `$1`-style capture references (label_replace) start with a digit and are left alone.
 */
const REFERENCE = /\$\{([A-Za-z_]\w*)(?::(\w+))?\}|\$([A-Za-z_]\w*)/g;

/**
 * Escapes regex metacharacters for a regex that sits inside a PromQL string
 * literal, so each escape backslash is itself escaped (as Grafana does).
 */
const escapeRegex = (value: string): string => value.replace(/[\\^$.|?*+()[\]{}]/g, (c) => `\\\\${c}`);

function formatValue(value: VariableValue, format: string | undefined, name: string, expr: string): string {
  if (value === ALL) return '.*';
  if (format !== undefined && format !== 'regex') {
    throw new InvalidOptionError(`\${${name}:${format}}`, expr, 'only the regex format is supported');
  }
  if (typeof value === 'string') return format === 'regex' ? escapeRegex(value) : value;
  if (value.includes(ALL)) return '.*';
  if (value.length === 1 && value[0] !== undefined) return escapeRegex(value[0]);
  return `(${value.map(escapeRegex).join('|')})`;
}

export function resolveGrafanaVariables(expr: string, options: ResolveOptions): string {
  const builtins: Record<string, string> = {
    __rate_interval: options.rateInterval,
    __interval: options.interval,
    __range: options.range,
  };
  for (const [option, value] of [
    ['rateInterval', options.rateInterval],
    ['interval', options.interval],
    ['range', options.range],
  ] as const) {
    if (!DURATION.test(value)) throw new InvalidOptionError(option, value, 'not a Prometheus duration');
  }
  const vars = options.vars ?? {};
  for (const name of Object.keys(vars)) {
    if (!VARIABLE_NAME.test(name)) throw new InvalidOptionError('vars', name, 'not a variable name');
  }
  return expr.replace(REFERENCE, (_match, braced: string | undefined, format: string | undefined, bare: string) => {
    const name = braced ?? bare;
    const builtin = builtins[name];
    if (builtin !== undefined) return builtin;
    const value = Object.hasOwn(vars, name) ? vars[name] : undefined;
    if (value === undefined) throw new UnknownVariableError(name, expr);
    return formatValue(value, format, name, expr);
  });
}
