/**
 * Links on the real Toxiproxy: the proxies listen on the container's exposed
 * range, and the lab reaches them through the host-mapped ports.
 */
import { Toxiproxy } from 'toxiproxy-node-client';
import { InvalidArgumentError } from '../../errors.js';
import { LINKS, Links, type InstanceLinks, type LinkName } from '../../links/links.js';
import { MAX_INSTANCES, POSTGRES_USER, linkUrl, proxyPort, upstreamOf } from './docker-plan.js';
import type { PlannedContainer } from './planned-container.js';

export class DockerLinks extends Links {
  private readonly tp: Toxiproxy;
  private readonly slots = new Map<string, number>();

  constructor(
    apiUrl: string,
    private readonly toxiproxy: PlannedContainer,
  ) {
    super(apiUrl, { redis: upstreamOf('redis'), postgres: upstreamOf('postgres'), postgresUser: POSTGRES_USER });
    this.tp = new Toxiproxy(apiUrl);
  }

  override async create(instanceId: string): Promise<InstanceLinks> {
    let slot = this.slots.get(instanceId);
    if (slot === undefined) {
      slot = this.slots.size;
      if (slot >= MAX_INSTANCES)
        throw new InvalidArgumentError(
          'instanceId',
          instanceId,
          `at most ${MAX_INSTANCES} instances on the docker provider`,
        );
    }
    await this.tp.populate(
      LINKS.map((link) => ({
        name: Links.proxyName(instanceId, link),
        listen: `0.0.0.0:${proxyPort(slot, link)}`,
        upstream: upstreamOf(link),
        enabled: true,
      })),
    );
    this.slots.set(instanceId, slot);
    const host = this.toxiproxy.host;
    return {
      redisUrl: linkUrl('redis', host, this.toxiproxy.mappedPort(proxyPort(slot, 'redis'))),
      postgresUrl: linkUrl('postgres', host, this.toxiproxy.mappedPort(proxyPort(slot, 'postgres'))),
    };
  }

  override names(target: string, link: LinkName): string[] {
    if (!(LINKS as readonly string[]).includes(link))
      throw new InvalidArgumentError('link', link, `one of ${LINKS.join(', ')}`);
    if (target === 'all') return [...this.slots.keys()].map((i) => Links.proxyName(i, link));
    if (!this.slots.has(target))
      throw new InvalidArgumentError('target', target, `"all" or one of ${[...this.slots.keys()].join(', ')}`);
    return [Links.proxyName(target, link)];
  }

  /** The host address of a proxy (Toxiproxy reports the port inside its container). */
  override async listen(proxy: string): Promise<{ host: string; port: number }> {
    const inside = await super.listen(proxy);
    return { host: this.toxiproxy.host, port: this.toxiproxy.mappedPort(inside.port) };
  }
}
