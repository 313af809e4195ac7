/** A JSON file the lab wrote, read back and checked: each failure names the file, the field and what was expected. */
import { readFile } from 'node:fs/promises';
import type { z } from 'zod';
import { LabError } from '../errors.js';

export async function readJson<T>(file: string, schema: z.ZodType<T>, what: string): Promise<T> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    throw new LabError(`${file}: cannot be read (${(err as Error).message}); expected ${what}`, { cause: err });
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new LabError(`${file}: not JSON (${(err as Error).message})`, { cause: err });
  }
  const parsed = schema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new LabError(`${file}: ${issue.path.join('.') || '(root)'}: ${issue.message}; expected ${what}`);
  }
  return parsed.data;
}
