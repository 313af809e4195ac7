/**
 * Runs on machines without a container runtime (these ones): the docker
 * provider must refuse at once, in one line that names the missing runtime
 * and the local alternative, and leave nothing behind.
 */
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { getContainerRuntimeClient } from 'testcontainers';
import { startEnvironment } from '../index.js';
import { NoContainerRuntimeError, firstLine } from './docker-errors.js';
import { InvalidArgumentError } from '../../errors.js';

// This file checks the refusal when no runtime answers: it does not look where the container tests point
// (DOCKER_HOST, set by .ci/run when podman is there); a runtime at a default place still skips it.
delete process.env.DOCKER_HOST;
const hasRuntime = await getContainerRuntimeClient().then(
  () => true,
  () => false,
);

describe('docker errors', () => {
  it('keeps the runtime error to one line', () => {
    const e = new NoContainerRuntimeError(
      firstLine(new Error('Could not find a working container runtime strategy\n  at x')),
    );
    expect(e.message).toBe(
      'LAB_PROVIDER=docker: no container runtime found (Could not find a working container runtime strategy); install and start Docker, or unset LAB_PROVIDER to use the local environment',
    );
    expect(e.retriable).toBe(false);
  });
});

describe('startEnvironment with provider docker and bad input', () => {
  it('names the field and the value before it looks for a container runtime', async () => {
    const logDir = join(tmpdir(), `lab-docker-bad-input-${process.pid}`);
    const err = await startEnvironment({ logDir, provider: 'docker', kafkaBrokers: 3 }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(InvalidArgumentError);
    expect((err as Error).message).toBe('kafkaBrokers: expected 1 on the docker provider (one KRaft broker) (got 3)');
    expect(existsSync(logDir)).toBe(false);
  });

  it('names an unknown service of startDockerServices before it looks for a container runtime', async () => {
    const { startDockerServices } = await import('./docker-services.js');
    const { readPinnedImages } = await import('./images.js');
    const logDir = join(tmpdir(), `lab-docker-bad-service-${process.pid}`);
    const err = await startDockerServices({
      services: ['redis', 'zookeeper' as never],
      images: readPinnedImages(),
      logDir,
    }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(InvalidArgumentError);
    expect((err as Error).message).toBe(
      'services: expected each one of kafka, redis, postgres, toxiproxy (got "zookeeper")',
    );
    expect(existsSync(logDir)).toBe(false);
  });
});

describe.skipIf(hasRuntime)('startEnvironment with provider docker and no container runtime', () => {
  let sandbox: string;
  let savedTmp: string | undefined;
  beforeEach(() => {
    sandbox = mkdtempSync(join(tmpdir(), 'lab-docker-test-'));
    savedTmp = process.env.TMPDIR;
    // Whatever a failed start could leave in the temp dir lands here, where the test can see it.
    process.env.TMPDIR = join(sandbox, 'tmp');
  });
  afterEach(() => {
    if (savedTmp === undefined) delete process.env.TMPDIR;
    else process.env.TMPDIR = savedTmp;
    rmSync(sandbox, { recursive: true, force: true });
  });

  it('rejects within seconds, in one line naming the runtime and the local provider, leaving nothing behind', async () => {
    const { mkdirSync } = await import('node:fs');
    mkdirSync(process.env.TMPDIR!);
    const logDir = join(sandbox, 'logs');
    const t0 = performance.now();
    const err = await startEnvironment({ logDir, provider: 'docker' }).then(
      () => undefined,
      (e: unknown) => e,
    );
    const ms = performance.now() - t0;
    expect(err).toBeInstanceOf(NoContainerRuntimeError);
    const message = (err as Error).message;
    expect(message).not.toContain('\n');
    expect(message).toMatch(/^LAB_PROVIDER=docker: no container runtime found \(.+\); /);
    expect(message).toContain('container runtime');
    expect(message).toContain('unset LAB_PROVIDER to use the local environment');
    expect(ms).toBeLessThan(6_000);
    expect(existsSync(logDir)).toBe(false);
    expect(readdirSync(process.env.TMPDIR!)).toEqual([]);
  }, 15_000);
});
