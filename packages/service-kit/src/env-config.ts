/**
 * Configuration from environment variables, the way every service here reads
 * it: once, at start-up, each variable through its own zod schema (with its
 * default), and the first bad one reported by name and value. The error type
 * is the service's own (its error tree), made by the factory it passes.
 */
import { z } from 'zod';

/** `true`/`false`/`1`/`0`. */
export const envBool = z
  .enum(['true', 'false', '1', '0'], { error: 'must be true or false' })
  .transform((v) => v === 'true' || v === '1');

/** A decimal integer within `[min, max]`. */
export function envInt(min: number, max: number) {
  const msg = `must be an integer from ${min} to ${max}`;
  return z.string().regex(/^\d+$/, msg).transform(Number).pipe(z.number().min(min, msg).max(max, msg));
}

/** A comma-separated `host:port` list, split and trimmed. */
export const envBrokers = z
  .string()
  .min(1)
  .transform((s) => s.split(',').map((b) => b.trim()))
  .refine((bs) => bs.every((b) => /^[^\s:]+:\d{1,5}$/.test(b)), 'must be a comma-separated list of host:port');

/** pino's levels. */
export const envLogLevel = z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']);

export type EnvSpec = Readonly<Record<string, z.ZodType>>;
export type EnvValues<S extends EnvSpec> = { [K in keyof S]: z.output<S[K]> };

/**
 * Parses every variable of `spec` from `env` (an empty string counts as unset). The first that fails is thrown
 * as `error(variable, value, problem)`.
 */
export function parseEnv<S extends EnvSpec>(
  spec: S,
  env: NodeJS.ProcessEnv,
  error: (variable: string, value: string | undefined, problem: string) => Error,
): EnvValues<S> {
  const v: Record<string, unknown> = {};
  for (const [name, schema] of Object.entries(spec)) {
    const raw = env[name] === '' ? undefined : env[name];
    const r = schema.safeParse(raw);
    if (!r.success)
      throw error(name, raw, raw === undefined ? 'is required' : (r.error.issues[0]?.message ?? 'is invalid'));
    v[name] = r.data;
  }
  return v as EnvValues<S>;
}
