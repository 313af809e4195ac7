import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { InvalidArgumentError } from '../../errors.js';
import { IMAGE_KEYS, findRepoRoot, imageTag, isPinned, parseImagesEnv, readPinnedImages } from './images.js';

const here = dirname(fileURLToPath(import.meta.url));
const fixture = join(here, 'fixtures', 'pinned.env');
const fixtureText = readFileSync(fixture, 'utf8');

function errorOf(text: string): InvalidArgumentError {
  try {
    parseImagesEnv(text);
  } catch (err) {
    if (err instanceof InvalidArgumentError) return err;
    throw err;
  }
  throw new Error('parseImagesEnv accepted it');
}

describe('image references', () => {
  it('finds the tag after the last path segment, not a registry port', () => {
    expect(imageTag('redis:7.2.5-alpine')).toBe('7.2.5-alpine');
    expect(imageTag('localhost:5000/team/redis')).toBeUndefined();
    expect(imageTag('localhost:5000/team/redis:7')).toBe('7');
    expect(imageTag(`redis@sha256:${'a'.repeat(64)}`)).toBeUndefined();
  });

  it('counts a version tag or a digest as pinned, latest or no tag as not', () => {
    expect(isPinned('apache/kafka:3.9.1')).toBe(true);
    expect(isPinned(`redis@sha256:${'0'.repeat(64)}`)).toBe(true);
    expect(isPinned('redis:latest')).toBe(false);
    expect(isPinned('redis')).toBe(false);
    expect(isPinned('localhost:5000/redis')).toBe(false);
  });
});

describe('parseImagesEnv', () => {
  it('reads every image key of the .env format, comments and blank lines ignored', () => {
    const images = parseImagesEnv(`\n# comment\n${fixtureText}\nOTHER=x\n`);
    expect(Object.keys(images).sort()).toEqual([...IMAGE_KEYS].sort());
    expect(images.KAFKA_IMAGE).toBe('apache/kafka:3.9.1');
    expect(images.TOXIPROXY_IMAGE).toBe('ghcr.io/shopify/toxiproxy:2.12.0');
  });

  it('accepts quoted values and trailing comments as compose does', () => {
    const text = fixtureText.replace('REDIS_IMAGE=redis:7.2.5-alpine', 'REDIS_IMAGE="redis:7.2.5-alpine"  # cache');
    expect(parseImagesEnv(text).REDIS_IMAGE).toBe('redis:7.2.5-alpine');
    const text2 = fixtureText.replace('REDIS_IMAGE=redis:7.2.5-alpine', 'REDIS_IMAGE=redis:7.2.5 # cache');
    expect(parseImagesEnv(text2).REDIS_IMAGE).toBe('redis:7.2.5');
  });

  it('names a missing key', () => {
    const err = errorOf(fixtureText.replace(/^K6_IMAGE=.*$/m, ''));
    expect(err.field).toBe('K6_IMAGE');
    expect(err.message).toMatch(/^K6_IMAGE: /);
  });

  it.each([
    ['REDIS_IMAGE', 'redis:latest'],
    ['POSTGRES_IMAGE', 'postgres'],
    ['KAFKA_IMAGE', 'apache/kafka:'],
  ])('rejects %s=%s as unpinned, naming the key and the value', (key, value) => {
    const err = errorOf(fixtureText.replace(new RegExp(`^${key}=.*$`, 'm'), `${key}=${value}`));
    expect(err.field).toBe(key);
    expect(err.value).toBe(value);
    expect(err.message).toContain(key);
    expect(err.message).toContain(JSON.stringify(value));
  });
});

describe('readPinnedImages', () => {
  it('finds the workspace root by its package-lock.json', () => {
    expect(existsSync(join(findRepoRoot(here), 'package-lock.json'))).toBe(true);
  });

  it('reads a file given explicitly', () => {
    expect(readPinnedImages(fixture).POSTGRES_IMAGE).toBe('postgres:15.8-alpine');
  });

  it('says which file it could not read', () => {
    expect(() => readPinnedImages(join(here, 'fixtures', 'missing.env'))).toThrow(/missing\.env/);
  });

  // The root .env is shared with the compose file; where it exists, every image in it must be pinned.
  it.runIf(existsSync(join(findRepoRoot(here), '.env')))('the repository .env pins every image', () => {
    const images = readPinnedImages();
    for (const key of IMAGE_KEYS) expect(isPinned(images[key]), key).toBe(true);
  });
});
