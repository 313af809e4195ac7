import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { InvalidArgumentError } from '../../errors.js';
import { LINKS, Links } from '../../links/links.js';
import { isPinned, readPinnedImages } from './images.js';
import {
  KAFKA_HOST_LISTENER_PORT,
  MAX_INSTANCES,
  POSTGRES_PORT,
  PROXY_PORT_COUNT,
  PROXY_PORT_FIRST,
  REDIS_PORT,
  TOXIPROXY_CONTROL_PORT,
  dockerEnvironmentPlan,
} from './docker-plan.js';

const images = readPinnedImages(join(dirname(fileURLToPath(import.meta.url)), 'fixtures', 'pinned.env'));
const instances = ['coordinator-1', 'coordinator-2', 'coordinator-3'];
const plan = dockerEnvironmentPlan({ images, instances, kafkaHostPort: 39092 });
const container = (name: string) => {
  const c = plan.containers.find((x) => x.name === name);
  if (!c) throw new Error(`no ${name} container`);
  return c;
};

describe('dockerEnvironmentPlan', () => {
  it('runs Kafka, Redis, Postgres and Toxiproxy from the pinned images of .env', () => {
    expect(plan.containers.map((c) => c.name).sort()).toEqual(['kafka', 'postgres', 'redis', 'toxiproxy']);
    expect(container('kafka').image).toBe(images.KAFKA_IMAGE);
    expect(container('redis').image).toBe(images.REDIS_IMAGE);
    expect(container('postgres').image).toBe(images.POSTGRES_IMAGE);
    expect(container('toxiproxy').image).toBe(images.TOXIPROXY_IMAGE);
    for (const c of plan.containers) expect(isPinned(c.image), c.name).toBe(true);
  });

  it('gives each service its name as network alias', () => {
    for (const c of plan.containers) expect(c.aliases).toEqual([c.name]);
    expect(new Set(plan.containers.map((c) => c.name)).size).toBe(plan.containers.length);
  });

  it('publishes the ports the lab needs', () => {
    expect(container('redis').exposedPorts).toEqual([REDIS_PORT]);
    expect(container('postgres').exposedPorts).toEqual([POSTGRES_PORT]);
    expect(container('kafka').exposedPorts).toEqual([KAFKA_HOST_LISTENER_PORT]);
    expect(container('kafka').hostBindings).toEqual({ [KAFKA_HOST_LISTENER_PORT]: 39092 });
    const tp = container('toxiproxy').exposedPorts;
    expect(tp).toContain(TOXIPROXY_CONTROL_PORT);
    expect(tp.filter((p) => p !== TOXIPROXY_CONTROL_PORT)).toHaveLength(PROXY_PORT_COUNT);
    // Its metrics, for the environment's Prometheus, as the compose stack's Toxiproxy serves them.
    expect(container('toxiproxy').command).toEqual(['-host=0.0.0.0', '-proxy-metrics', '-runtime-metrics']);
  });

  it('fixes host ports of Redis and Postgres only when asked', () => {
    expect(container('redis').hostBindings).toEqual({});
    const fixed = dockerEnvironmentPlan({ images, instances, redisHostPort: 40001, postgresHostPort: 40002 });
    expect(fixed.containers.find((c) => c.name === 'redis')!.hostBindings).toEqual({ [REDIS_PORT]: 40001 });
    expect(fixed.containers.find((c) => c.name === 'postgres')!.hostBindings).toEqual({ [POSTGRES_PORT]: 40002 });
  });

  it('configures Kafka as one KRaft node advertising the network and the host listener', () => {
    const env = container('kafka').env;
    expect(env.KAFKA_PROCESS_ROLES).toBe('broker,controller');
    expect(env.KAFKA_NODE_ID).toBe('1');
    expect(env.KAFKA_CONTROLLER_QUORUM_VOTERS).toBe('1@kafka:9093');
    expect(env.KAFKA_ADVERTISED_LISTENERS).toBe('PLAINTEXT://kafka:9092,HOST://127.0.0.1:39092');
    expect(env.CLUSTER_ID).toMatch(/^[A-Za-z0-9_-]{22}$/);
    for (const l of env.KAFKA_LISTENERS!.split(',')) {
      const name = l.split(':')[0]!;
      expect(env.KAFKA_LISTENER_SECURITY_PROTOCOL_MAP).toContain(`${name}:PLAINTEXT`);
    }
    expect(env.KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR).toBe('1');
  });

  it('runs Redis without persistence by default and with AOF always when asked', () => {
    expect(container('redis').command).toEqual([
      'redis-server',
      '--protected-mode',
      'no',
      '--save',
      '',
      '--appendonly',
      'no',
    ]);
    const aof = dockerEnvironmentPlan({ images, instances, redisPersistence: 'aof-always' });
    expect(aof.containers.find((c) => c.name === 'redis')!.command).toContain('always');
  });

  it('gives Postgres the local server’s user and trust authentication', () => {
    expect(container('postgres').env).toMatchObject({
      POSTGRES_USER: 'postgres',
      POSTGRES_DB: 'postgres',
      POSTGRES_HOST_AUTH_METHOD: 'trust',
    });
  });

  it('creates one proxy per instance per link, named as Links names them, with unique names and ports', () => {
    expect(plan.proxies).toHaveLength(instances.length * LINKS.length);
    for (const id of instances)
      for (const link of LINKS) expect(plan.proxies.map((p) => p.name)).toContain(Links.proxyName(id, link));
    expect(new Set(plan.proxies.map((p) => p.name)).size).toBe(plan.proxies.length);
    expect(new Set(plan.proxies.map((p) => p.listen)).size).toBe(plan.proxies.length);
    const exposed = container('toxiproxy').exposedPorts;
    for (const p of plan.proxies) {
      expect(p.listen).toMatch(/^0\.0\.0\.0:\d+$/);
      expect(exposed).toContain(Number(p.listen.split(':')[1]));
      expect(p.upstream).toBe(p.link === 'redis' ? 'redis:6379' : 'postgres:5432');
    }
  });

  it('sends every instance’s Redis and Postgres through its own proxies, never to the servers directly', () => {
    const seen = new Set<string>();
    for (const id of instances) {
      const env = plan.coordinatorEnv(id);
      for (const [key, link] of [
        ['COORDINATOR_REDIS_URL', 'redis'],
        ['COORDINATOR_POSTGRES_URL', 'postgres'],
      ] as const) {
        const url = new URL(env[key]!);
        expect(url.hostname, key).toBe('toxiproxy');
        expect(env[key]).not.toMatch(/redis:6379|postgres:5432/);
        const proxy = plan.proxies.find((p) => p.name === Links.proxyName(id, link))!;
        expect(Number(url.port)).toBe(Number(proxy.listen.split(':')[1]));
        seen.add(url.port);
      }
      expect(env.COORDINATOR_POSTGRES_URL).toMatch(/^postgres:\/\/postgres@toxiproxy:\d+\/postgres$/);
      expect(env.COORDINATOR_KAFKA_BROKERS).toBe('kafka:9092');
    }
    expect(seen.size).toBe(instances.length * LINKS.length);
  });

  it('rejects bad input where it enters, naming the field', () => {
    expect(() => plan.coordinatorEnv('nobody')).toThrow(InvalidArgumentError);
    expect(() => dockerEnvironmentPlan({ images, instances: ['a', 'a'] })).toThrow(/instances/);
    expect(() => dockerEnvironmentPlan({ images, instances: ['bad id'] })).toThrow(/instances/);
    const many = Array.from({ length: MAX_INSTANCES + 1 }, (_, i) => `i${i}`);
    expect(() => dockerEnvironmentPlan({ images, instances: many })).toThrow(/instances/);
    expect(() => dockerEnvironmentPlan({ images, instances, kafkaHostPort: 70000 })).toThrow(/kafkaHostPort/);
    expect(PROXY_PORT_FIRST + PROXY_PORT_COUNT - 1).toBe(8697);
  });

  it('is pure: the same input gives the same plan', () => {
    const again = dockerEnvironmentPlan({ images, instances, kafkaHostPort: 39092 });
    expect(JSON.stringify(again.containers)).toBe(JSON.stringify(plan.containers));
    expect(again.proxies).toEqual(plan.proxies);
  });
});
