/** The value classes, built on one shared context: every class but `keys`, which is a key for any of them. */
import type { Topics } from '@chaos-lab/contracts';
import { bytesValues } from './bytes.js';
import { valueContext } from './context.js';
import { oversizedValues } from './oversized.js';
import { schemaValues } from './schema.js';
import { textJsonBrokenValues } from './text-json-broken.js';

export function valueArbitraries(p: string, t: Topics) {
  const c = valueContext(p, t);
  return {
    bytes: bytesValues(c),
    textJsonBroken: textJsonBrokenValues(c),
    schema: schemaValues(c),
    oversized: oversizedValues(c),
  };
}
