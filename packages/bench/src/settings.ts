/** The bench commands' `LAB_BENCH_*` settings: environment variables read once, checked with their names. */
import { z } from 'zod';
import { InvalidArgumentError } from '@chaos-lab/lab';

/** A whole number 1..max, `dflt` when unset or empty. */
export const positiveInt = (name: string, dflt: number, max: number) =>
  z
    .string()
    .regex(/^\d+$/)
    .transform(Number)
    .pipe(z.number().int().min(1).max(max))
    .optional()
    .transform((v) => v ?? dflt)
    .describe(name);

/** A whole number 1..max, or undefined when unset or empty. */
export const optionalPositiveInt = (name: string, max: number) =>
  z.string().regex(/^\d+$/).transform(Number).pipe(z.number().int().min(1).max(max)).optional().describe(name);

/** Reads the schema's variables from `env`; a bad value throws naming the variable, the value and the rule. */
export function readSettings<S extends z.ZodObject>(schema: S, env: NodeJS.ProcessEnv): z.infer<S> {
  const picked = Object.fromEntries(Object.keys(schema.shape).map((k) => [k, env[k] === '' ? undefined : env[k]]));
  const r = schema.safeParse(picked);
  if (!r.success) {
    const issue = r.error.issues[0]!;
    const field = String(issue.path[0]);
    throw new InvalidArgumentError(field, env[field], issue.message);
  }
  return r.data;
}
