/**
 * Links: every coordinator instance reaches Redis and PostgreSQL through
 * its own pair of proxies on the fault proxy (`<instance>-redis`,
 * `<instance>-postgres`), so a link fault can hit one instance alone — the
 * partitioned minority — or every instance at once. The proxies are driven
 * through the Toxiproxy HTTP API with `toxiproxy-node-client`, so the same
 * code drives a real Toxiproxy on the Docker path.
 *
 * Kafka is not proxied: brokers advertise their own addresses in metadata, so
 * a TCP proxy in front of a bootstrap address would be bypassed after the
 * first request. Kafka faults go through the broker's control API instead.
 */
import { Toxiproxy, type ICreateToxicBody } from 'toxiproxy-node-client';
import { InvalidArgumentError, LabError } from '../errors.js';

export const LINKS = ['redis', 'postgres'] as const;
export type LinkName = (typeof LINKS)[number];

export type ToxicType = 'latency' | 'bandwidth' | 'slow_close' | 'timeout' | 'reset_peer' | 'slicer' | 'limit_data';

export interface ToxicSpec {
  readonly type: ToxicType;
  /** Default `downstream` (server → client), as in Toxiproxy. */
  readonly stream?: 'upstream' | 'downstream';
  /** Probability a connection is affected. Default 1. */
  readonly toxicity?: number;
  readonly attributes: Record<string, number>;
}

export interface InstanceLinks {
  readonly redisUrl: string;
  readonly postgresUrl: string;
}

export class Links {
  private readonly client: Toxiproxy;
  private readonly instances = new Set<string>();

  /**
   * @param apiUrl the fault proxy's HTTP API, e.g. `http://127.0.0.1:8474`
   * @param upstreams where each link really goes (`host:port`)
   */
  constructor(
    readonly apiUrl: string,
    private readonly upstreams: { readonly redis: string; readonly postgres: string; readonly postgresUser: string },
  ) {
    this.client = new Toxiproxy(apiUrl);
  }

  static proxyName(instanceId: string, link: LinkName): string {
    return `${instanceId}-${link}`;
  }

  /** Creates (or replaces) the instance's proxies; returns the URLs the instance must use. */
  async create(instanceId: string): Promise<InstanceLinks> {
    const ports: Partial<Record<LinkName, number>> = {};
    for (const link of LINKS) {
      const name = Links.proxyName(instanceId, link);
      const proxies = await this.client.populate([
        { name, listen: '127.0.0.1:0', upstream: this.upstreams[link], enabled: true },
      ]);
      const listen = proxies[name]?.listen ?? '';
      const port = Number(listen.slice(listen.lastIndexOf(':') + 1));
      if (!Number.isInteger(port) || port <= 0)
        throw new LabError(`fault proxy reported no port for ${name} (listen ${JSON.stringify(listen)})`);
      ports[link] = port;
    }
    this.instances.add(instanceId);
    return {
      redisUrl: `redis://127.0.0.1:${ports.redis}`,
      postgresUrl: `postgres://${this.upstreams.postgresUser}@127.0.0.1:${ports.postgres}/postgres`,
    };
  }

  /** The proxy names a target selects: one instance's link, or that link of every instance. */
  names(target: string, link: LinkName): string[] {
    if (!(LINKS as readonly string[]).includes(link))
      throw new InvalidArgumentError('link', link, `one of ${LINKS.join(', ')}`);
    if (target === 'all') return [...this.instances].map((i) => Links.proxyName(i, link));
    if (!this.instances.has(target))
      throw new InvalidArgumentError('target', target, `"all" or one of ${[...this.instances].join(', ')}`);
    return [Links.proxyName(target, link)];
  }

  /** Adds a toxic named `name` to every selected proxy. */
  async addToxic(target: string, link: LinkName, name: string, spec: ToxicSpec): Promise<void> {
    for (const proxy of this.names(target, link)) {
      const p = await this.client.get(proxy);
      const body: ICreateToxicBody<unknown> = {
        name,
        type: spec.type,
        stream: spec.stream ?? 'downstream',
        toxicity: spec.toxicity ?? 1,
        attributes: spec.attributes,
      };
      await p.addToxic(body);
    }
  }

  async removeToxic(target: string, link: LinkName, name: string): Promise<void> {
    for (const proxy of this.names(target, link)) {
      const p = await this.client.get(proxy);
      const t = await p.getToxic(name).catch(() => undefined);
      await t?.remove();
    }
  }

  /** `enabled: false` closes the open connections and refuses new ones (a link down). */
  async setEnabled(target: string, link: LinkName, enabled: boolean): Promise<void> {
    for (const proxy of this.names(target, link)) {
      const p = await this.client.get(proxy);
      await p.update({ enabled, listen: p.listen, upstream: p.upstream });
    }
  }

  /** The address a proxy listens on (for probes). */
  async listen(proxy: string): Promise<{ host: string; port: number }> {
    const p = await this.client.get(proxy);
    const i = p.listen.lastIndexOf(':');
    return { host: p.listen.slice(0, i) || '127.0.0.1', port: Number(p.listen.slice(i + 1)) };
  }

  /** Every proxy enabled, every toxic removed. */
  async reset(): Promise<void> {
    await this.client.reset();
  }
}
