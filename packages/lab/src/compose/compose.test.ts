/**
 * The Docker stack, checked without a Docker engine: `docker-compose config`
 * must accept docker-compose.distributed.yml, and the resolved file, the .env,
 * the configs under docker/ and the Dockerfiles must agree with each other and
 * with the code (topic names from the contracts). The checker is also fed
 * broken variants, so a check that cannot fail shows up here.
 */
/* eslint-disable @typescript-eslint/no-explicit-any -- the variants edit parsed YAML and JSON of any shape */
import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import { inputTopics, outputTopics, topics } from '@chaos-lab/contracts';
import {
  checkDistributedStack,
  checkDockerfile,
  parseEnvFile,
  resolveComposeFile,
  type StackFiles,
} from './compose-file.js';

const ROOT = fileURLToPath(new URL('../../../../', import.meta.url)).replace(/\/$/, '');
const read = (rel: string) => readFileSync(`${ROOT}/${rel}`, 'utf8');
const DOCKERFILE = 'apps/Dockerfile';
const APPS = ['coordinator', 'ingest'];

/** An app's HTTP port variable and default, read from its config schema (`<APP>_HTTP_PORT: int(0, 65535).default(N)`). */
function httpPortOf(app: string): { env: string; port: number } {
  const m = /\b([A-Z]+_HTTP_PORT): int\([^)]*\)\.default\((\d+)\)/.exec(read(`apps/${app}/src/config.ts`));
  if (!m) throw new Error(`apps/${app}/src/config.ts declares no <APP>_HTTP_PORT with a default`);
  return { env: m[1]!, port: Number(m[2]) };
}

async function loadStack(): Promise<StackFiles> {
  const t = topics();
  return {
    root: ROOT,
    config: await resolveComposeFile(ROOT, 'docker-compose.distributed.yml'),
    env: parseEnvFile(read('.env')),
    toxiproxy: JSON.parse(read('docker/toxiproxy.json')),
    prometheus: parse(read('docker/prometheus.yml')),
    grafanaDashboards: parse(read('docker/grafana/provisioning/dashboards/chaos-lab.yml')),
    grafanaDatasources: parse(read('docker/grafana/provisioning/datasources/prometheus.yml')),
    dockerfiles: { [DOCKERFILE]: read(DOCKERFILE) },
    apps: Object.fromEntries(APPS.map((a) => [a, httpPortOf(a)])),
    scripts: { 'docker/k6/run.sh': read('docker/k6/run.sh') },
    // As the lab creates them (stack/pipeline-stack.ts): 6 partitions per input topic, 3 per output topic.
    topics: [
      ...inputTopics(t).map((name) => ({ name, partitions: 6 })),
      ...outputTopics(t).map((name) => ({ name, partitions: 3 })),
    ],
  };
}

/** A deep copy of the stack with `edit` applied to it. */
function variant(stack: StackFiles, edit: (s: { -readonly [K in keyof StackFiles]: any }) => void): StackFiles {
  const copy = structuredClone(stack) as { -readonly [K in keyof StackFiles]: any };
  edit(copy);
  return copy;
}

describe('docker-compose.distributed.yml', { timeout: 30_000 }, () => {
  it('is valid for docker-compose and consistent with .env, docker/*, the Dockerfiles and the contracts', async () => {
    expect(checkDistributedStack(await loadStack())).toEqual([]);
  });

  it('pins every image in .env, which has only KEY=value lines', () => {
    const env = parseEnvFile(read('.env'));
    const images = Object.keys(env).filter((k) => k.endsWith('_IMAGE'));
    expect(images.sort()).toEqual(
      [
        'GRAFANA_IMAGE',
        'K6_IMAGE',
        'KAFKA_IMAGE',
        'NODE_IMAGE',
        'POSTGRES_IMAGE',
        'PROMETHEUS_IMAGE',
        'REDIS_IMAGE',
        'TOXIPROXY_IMAGE',
      ].sort(),
    );
    expect(env.KAFKA_IMAGE).toMatch(/^apache\/kafka:/);
    expect(env.TOXIPROXY_IMAGE).toMatch(/^ghcr\.io\/shopify\/toxiproxy:/);
    // k6 runs the TypeScript script natively from 1.0 on.
    expect(Number(/^grafana\/k6:(\d+)\./.exec(env.K6_IMAGE ?? '')?.[1])).toBeGreaterThanOrEqual(1);
    expect(() => parseEnvFile('A=1\nexport B=2\n')).toThrow(/line 2/);
  });

  it('reports each kind of inconsistency', async () => {
    const stack = await loadStack();
    const cases: [string, (s: any) => void, RegExp][] = [
      [
        'unpinned image',
        (s) => (s.config.services.redis.image = 'redis:latest'),
        /redis: image "redis:latest" is not one of/,
      ],
      ['latest in .env', (s) => (s.env.REDIS_IMAGE = 'redis'), /REDIS_IMAGE=redis is not pinned/],
      ['build arg', (s) => delete s.config.services.ingest.build.args, /ingest: build arg NODE_IMAGE/],
      [
        'wrong app',
        (s) => (s.config.services['coordinator-2'].build.args.APP = 'ingest'),
        /coordinator-2: build arg APP is "ingest", not "coordinator"/,
      ],
      [
        'health port',
        (s) => (s.config.services.ingest.build.args.HTTP_PORT = '8080'),
        /ingest: build arg HTTP_PORT is "8080", but ingest defaults to 8081/,
      ],
      [
        'health port variable',
        (s) => (s.config.services['coordinator-1'].build.args.HTTP_PORT_ENV = 'INGEST_HTTP_PORT'),
        /coordinator-1: build arg HTTP_PORT_ENV is "INGEST_HTTP_PORT", but coordinator reads COORDINATOR_HTTP_PORT/,
      ],
      [
        'direct redis',
        (s) => (s.config.services['coordinator-2'].environment.COORDINATOR_REDIS_URL = 'redis://redis:6379'),
        /coordinator-2: COORDINATOR_REDIS_URL/,
      ],
      [
        'shared listener',
        (s) =>
          (s.config.services['coordinator-3'].environment.COORDINATOR_POSTGRES_URL =
            s.config.services['coordinator-2'].environment.COORDINATOR_POSTGRES_URL),
        /share toxiproxy listeners/,
      ],
      [
        'two coordinators',
        (s) => delete s.config.services['coordinator-3'],
        /expected 3 coordinator services, found 2/,
      ],
      ['wrong upstream', (s) => (s.toxiproxy[0].upstream = 'postgres:5432'), /should forward to redis:6379/],
      [
        'extra proxy',
        (s) => s.toxiproxy.push({ name: 'x', listen: '0.0.0.0:1', upstream: 'redis:6379' }),
        /has 7 proxies/,
      ],
      ['no receiver', (s) => (s.config.services.prometheus.command = ['--config.file=/x']), /remote-write-receiver/],
      [
        'unscraped',
        (s) => (s.prometheus.scrape_configs = s.prometheus.scrape_configs.filter((c: any) => c.job_name !== 'ingest')),
        /does not scrape ingest:8081/,
      ],
      [
        'anonymous',
        (s) => (s.config.services.grafana.environment.GF_AUTH_ANONYMOUS_ENABLED = 'true'),
        /anonymous access/,
      ],
      [
        'copied dashboards',
        (s) =>
          (s.config.services.grafana.volumes = s.config.services.grafana.volumes.filter(
            (v: any) => !JSON.stringify(v).includes('dashboards/generated'),
          )),
        /dashboards\/generated is not mounted/,
      ],
      [
        'provider path',
        (s) => (s.grafanaDashboards.providers[0].options.path = '/elsewhere'),
        /no dashboard provider reads/,
      ],
      ['k6 in up', (s) => delete s.config.services.k6.profiles, /k6: not under the "load" profile/],
      [
        'no rw output',
        (s) =>
          (s.scripts['docker/k6/run.sh'] = s.scripts['docker/k6/run.sh'].replace('-o experimental-prometheus-rw', '')),
        /experimental-prometheus-rw/,
      ],
      ['topics', (s) => s.topics.push({ name: 'extra', partitions: 1 }), /kafka-init TOPICS/],
      [
        'no healthcheck',
        (s) => delete s.config.services.redis.healthcheck,
        /waits for redis to be healthy, but redis has no healthcheck/,
      ],
    ];
    for (const [what, edit, expected] of cases) {
      const problems = checkDistributedStack(variant(stack, edit));
      expect(problems.join('\n'), what).toMatch(expected);
    }
  });
});

describe('the apps’ Dockerfile', () => {
  it(`${DOCKERFILE}: multi-stage on \${NODE_IMAGE}, non-root, with a HEALTHCHECK`, () => {
    expect(checkDockerfile(DOCKERFILE, read(DOCKERFILE))).toEqual([]);
  });

  it('reports running as root, a missing HEALTHCHECK or a hard-coded base image', () => {
    const text = read(DOCKERFILE);
    expect(checkDockerfile('x', text.replace('USER node', 'USER root')).join()).toMatch(/non-root USER/);
    expect(checkDockerfile('x', text.replace(/^HEALTHCHECK/m, 'LABEL h=1')).join()).toMatch(/no HEALTHCHECK/);
    expect(checkDockerfile('x', text.replace('FROM ${NODE_IMAGE} AS build', 'FROM node:20 AS build')).join()).toMatch(
      /does not use/,
    );
  });
});
