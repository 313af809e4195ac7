/**
 * `apps/Dockerfile` on a real container runtime: each service's image is
 * built through the runtime's API with the compose file's build args, then
 * run against the lab's local environment (real Redis and PostgreSQL, the
 * mock Kafka cluster) on the host network. It must come up, run as the
 * non-root `node` user, pass its own HEALTHCHECK command, and on SIGTERM
 * drain and exit 0 within the compose file's grace period.
 *
 * Opt-in (`LAB_CONTAINER_TESTS=1`). The base image is NODE_IMAGE of
 * `LAB_IMAGES_FILE` (default: the repository's `.env`, the pinned official
 * image); `scripts/podman/` builds a stand-in for machines that reach no
 * image registry.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GenericContainer, ImageName, Wait, getContainerRuntimeClient } from 'testcontainers';
import { inputTopics, outputTopics, topics } from '@chaos-lab/contracts';
import { startEnvironment, type StartedEnvironment } from '../environment/index.js';
import { readPinnedImages } from '../environment/docker/images.js';
import { GROUP_COORDINATOR_BROKER } from '../scenario/session.js';
import { freePort } from '../process/ports.js';

const enabled = process.env.LAB_CONTAINER_TESTS === '1';
const ROOT = fileURLToPath(new URL('../../../../', import.meta.url)).replace(/\/$/, '');
const PREFIX = 'lab.';
const GROUP_ID = 'batch-coordinator-image-test';

interface AppCase {
  readonly app: 'coordinator' | 'ingest';
  readonly portEnv: string;
  readonly port: number;
  /** The compose file's stop_grace_period. */
  readonly graceSeconds: number;
  readonly started: RegExp;
}

const APPS: AppCase[] = [
  {
    app: 'coordinator',
    portEnv: 'COORDINATOR_HTTP_PORT',
    port: 8080,
    graceSeconds: 30,
    started: /"msg":"coordinator started"/,
  },
  { app: 'ingest', portEnv: 'INGEST_HTTP_PORT', port: 8081, graceSeconds: 20, started: /"msg":"ingest started"/ },
];

function appEnv(app: AppCase['app'], env: StartedEnvironment): Record<string, string> {
  if (app === 'coordinator')
    return {
      ...env.coordinatorEnv(),
      COORDINATOR_INSTANCE_ID: 'coordinator-image-test',
      COORDINATOR_TOPIC_PREFIX: PREFIX,
      COORDINATOR_KAFKA_GROUP_ID: GROUP_ID,
    };
  return {
    INGEST_INSTANCE_ID: 'ingest-image-test',
    INGEST_POSTGRES_URL: env.endpoints.postgresUrl,
    INGEST_KAFKA_BROKERS: env.endpoints.kafkaBrokers.join(','),
    INGEST_KAFKA_IDEMPOTENT: 'false',
    INGEST_TOPIC_PREFIX: PREFIX,
  };
}

/** The HEALTHCHECK of apps/Dockerfile as the runtime stores it: `['CMD', ...argv]`. */
function dockerfileHealthcheck(): string[] {
  const text = readFileSync(join(ROOT, 'apps/Dockerfile'), 'utf8').replace(/\\\n/g, ' ');
  const m = /^HEALTHCHECK\s.*?\bCMD\s+(\[.*\])\s*$/m.exec(text);
  if (!m) throw new Error('apps/Dockerfile has no HEALTHCHECK ... CMD [...] instruction');
  return ['CMD', ...(JSON.parse(m[1]!) as string[])];
}

async function isPodman(): Promise<boolean> {
  const client = await getContainerRuntimeClient();
  const v = (await client.container.dockerode.version()) as { Components?: { Name: string }[] };
  return (v.Components ?? []).some((c) => /podman/i.test(c.Name));
}

describe.runIf(enabled)('apps/Dockerfile on a real container runtime', () => {
  let dir: string;
  let env: StartedEnvironment;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'lab-app-images-test-'));
    env = await startEnvironment({ logDir: join(dir, 'logs'), provider: 'local', prometheus: false });
    const t = topics(PREFIX);
    for (const topic of inputTopics(t)) await env.kafka.createTopic(topic, 6);
    for (const topic of outputTopics(t)) await env.kafka.createTopic(topic, 3);
    await env.kafka.coordinatorPins?.setCoordinator('group', GROUP_ID, GROUP_COORDINATOR_BROKER);
  }, 120_000);

  afterAll(async () => {
    await env?.stop();
    rmSync(dir, { recursive: true, force: true });
  }, 60_000);

  it.each(APPS)(
    '$app: builds, runs as node, passes its HEALTHCHECK, drains and exits 0 on SIGTERM',
    async ({ app, portEnv, port: defaultPort, graceSeconds, started }) => {
      const client = await getContainerRuntimeClient();
      const tag = `localhost/chaos-lab/${app}:test`;
      const tBuild = performance.now();
      const image = await GenericContainer.fromDockerfile(ROOT, 'apps/Dockerfile')
        .withBuildArgs({
          NODE_IMAGE: readPinnedImages(process.env.LAB_IMAGES_FILE).NODE_IMAGE,
          APP: app,
          HTTP_PORT_ENV: portEnv,
          HTTP_PORT: String(defaultPort),
        })
        .build(tag, { deleteOnExit: false });
      const buildMs = performance.now() - tBuild;

      const info = await client.image.inspect(ImageName.fromString(tag));
      expect(info.Config.User).toBe('node');
      let health = info.Config.Healthcheck?.Test ?? [];
      if (health.length === 0 && (await isPodman())) {
        // Podman's Docker-compatible build API writes OCI images, which have no healthcheck field; its own
        // CLI keeps it with --format docker. Run the Dockerfile's command instead, and say so.
        health = dockerfileHealthcheck();
        process.stdout.write(
          `${app} image: no HEALTHCHECK in an OCI image built by podman; running the Dockerfile's\n`,
        );
      }
      expect(health[0]).toBe('CMD');

      const port = await freePort();
      const container = await image
        .withNetworkMode('host')
        .withEnvironment({ ...appEnv(app, env), [portEnv]: String(port) })
        .withWaitStrategy(Wait.forLogMessage(started))
        .withStartupTimeout(60_000)
        .start();
      try {
        expect((await container.exec(['id', '-u'])).output.trim()).toBe('1000');
        const ready = await fetch(`http://127.0.0.1:${port}/readyz`);
        expect(ready.status).toBe(200);
        // The image's own HEALTHCHECK command, run as the runtime runs it (a runtime without systemd never does).
        const probe = await container.exec(health.slice(1));
        expect(probe.exitCode, probe.output).toBe(0);

        const tStop = performance.now();
        await container.stop({ timeout: graceSeconds * 1000, remove: false });
        const stopMs = performance.now() - tStop;
        const state = (await client.container.inspect(client.container.getById(container.getId()))).State;
        expect(state.ExitCode).toBe(0);
        expect(stopMs).toBeLessThan(graceSeconds * 1000);
        process.stdout.write(
          `${app} image: built in ${(buildMs / 1000).toFixed(1)} s, ${info.Size} bytes, user ${info.Config.User}; ` +
            `SIGTERM to exit 0 in ${(stopMs / 1000).toFixed(2)} s\n`,
        );
      } finally {
        await client.container.dockerode
          .getContainer(container.getId())
          .remove({ force: true })
          .catch(() => {});
      }
    },
    600_000,
  );
});
