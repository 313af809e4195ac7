/**
 * Container images, pinned in one place: the repository root's `.env`, which
 * docker compose reads too, so the compose stack and the lab's docker
 * provider can never run different versions. A key that is missing, or an
 * image without a tag or tagged `latest`, is rejected here, naming the key
 * and the value: an unpinned image would make two runs of one seed differ
 * for reasons no history records.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { InvalidArgumentError, LabError } from '../../errors.js';

export const IMAGE_KEYS = [
  'KAFKA_IMAGE',
  'REDIS_IMAGE',
  'POSTGRES_IMAGE',
  'TOXIPROXY_IMAGE',
  'PROMETHEUS_IMAGE',
  'GRAFANA_IMAGE',
  'K6_IMAGE',
  'NODE_IMAGE',
] as const;
export type ImageKey = (typeof IMAGE_KEYS)[number];
export type PinnedImages = Readonly<Record<ImageKey, string>>;

const PINNED = 'an image reference pinned to a version tag or a digest (not "latest", not untagged)';

/** The tag of an image reference (`registry:5000/a/b:1.2` → `1.2`), or undefined when it has none. */
export function imageTag(ref: string): string | undefined {
  const noDigest = ref.split('@')[0] ?? '';
  const lastSlash = noDigest.lastIndexOf('/');
  const colon = noDigest.indexOf(':', lastSlash + 1);
  return colon < 0 ? undefined : noDigest.slice(colon + 1);
}

/** True when the reference names one fixed image: a digest, or a tag other than `latest`. */
export function isPinned(ref: string): boolean {
  if (/@sha256:[0-9a-f]{64}$/.test(ref)) return true;
  const tag = imageTag(ref);
  return tag !== undefined && tag !== '' && tag !== 'latest';
}

/**
 * Parses `.env` text (`KEY=value` lines, `#` comments, blank lines, values
 * optionally quoted) and returns the pinned image of every {@link IMAGE_KEYS}
 * key. Other keys are ignored.
 */
export function parseImagesEnv(text: string): PinnedImages {
  const values = new Map<string, string>();
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const eq = line.indexOf('=');
    if (eq <= 0) continue;
    const key = line
      .slice(0, eq)
      .replace(/^export\s+/, '')
      .trim();
    let value = line.slice(eq + 1).trim();
    const quoted = /^(["'])(.*?)\1(\s+#.*)?$/.exec(value);
    if (quoted) value = quoted[2] ?? '';
    else value = value.replace(/\s+#.*$/, ''); // an unquoted trailing comment, as compose reads it
    values.set(key, value);
  }
  const out = {} as Record<ImageKey, string>;
  for (const key of IMAGE_KEYS) {
    const value = values.get(key);
    if (value === undefined || value === '') throw new InvalidArgumentError(key, value ?? null, PINNED);
    if (!isPinned(value)) throw new InvalidArgumentError(key, value, PINNED);
    out[key] = value;
  }
  return out;
}

/** The workspace root: the nearest folder above `from` holding `package-lock.json`. */
export function findRepoRoot(from: string = dirname(fileURLToPath(import.meta.url))): string {
  for (let d = resolve(from); ; d = dirname(d)) {
    if (existsSync(join(d, 'package-lock.json'))) return d;
    if (dirname(d) === d) throw new LabError(`no package-lock.json above ${from}: cannot find the repository root`);
  }
}

/** Reads and validates the pinned images. Default file: `<repository root>/.env`. */
export function readPinnedImages(envFile: string = join(findRepoRoot(), '.env')): PinnedImages {
  let text: string;
  try {
    text = readFileSync(envFile, 'utf8');
  } catch (err) {
    throw new LabError(`cannot read the pinned images from ${envFile}: ${(err as Error).message}`, { cause: err });
  }
  return parseImagesEnv(text);
}
