/**
 * The set of proxies by name, with Toxiproxy's rules for adding (a name is
 * taken once), populating (create, keep an identical one untouched, or
 * replace one whose listen/upstream differ) and resetting (every proxy
 * enabled, every toxic removed).
 */
import { parseAddress } from './address.js';
import { BadRequestError, ProxyAlreadyExistsError, ProxyNotFoundError, ToxiproxyApiError } from './errors.js';
import { Proxy, type ProxyEnvironment, type ProxySettings } from './proxy.js';
import { expectObject, jsonKind, optionalField } from './toxic.js';

export interface ProxyInput extends ProxySettings {
  readonly name: string;
}

export class ProxyCollection {
  private readonly proxies = new Map<string, Proxy>();

  constructor(private readonly env: ProxyEnvironment) {}

  /** Proxies sorted by name: Go's JSON encoder sorts map keys, so `GET /proxies` lists them that way. */
  list(): Proxy[] {
    return [...this.proxies.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }

  get(name: string): Proxy {
    const proxy = this.proxies.get(name);
    if (!proxy) throw new ProxyNotFoundError(name);
    return proxy;
  }

  /** Creates a proxy; it is kept only if it could start (when asked to be enabled). */
  async add(input: ProxyInput): Promise<Proxy> {
    if (this.proxies.has(input.name)) throw new ProxyAlreadyExistsError(input.name);
    const proxy = new Proxy(input.name, input, this.env);
    if (input.enabled) await proxy.start();
    // Another request may have taken the name while this one was binding.
    if (this.proxies.has(input.name)) {
      await proxy.stop();
      throw new ProxyAlreadyExistsError(input.name);
    }
    this.proxies.set(input.name, proxy);
    return proxy;
  }

  /**
   * `POST /populate`: each proxy is created, or left as it is when an
   * existing one has the same listen and upstream, or replaced (toxics and
   * connections go with the old one). Stops at the first failure and returns
   * what was done so far with the error, as Toxiproxy does.
   */
  async populate(inputs: readonly ProxyInput[]): Promise<{ proxies: Proxy[]; error?: ToxiproxyApiError }> {
    const done: Proxy[] = [];
    for (const input of inputs) {
      try {
        const existing = this.proxies.get(input.name);
        if (existing && !existing.differs(input)) {
          done.push(existing);
          continue;
        }
        await existing?.stop();
        const proxy = new Proxy(input.name, input, this.env);
        if (input.enabled) await proxy.start();
        this.proxies.set(input.name, proxy);
        done.push(proxy);
      } catch (err) {
        if (err instanceof ToxiproxyApiError) return { proxies: done, error: err };
        throw err;
      }
    }
    return { proxies: done };
  }

  async remove(name: string): Promise<void> {
    const proxy = this.get(name);
    this.proxies.delete(name);
    await proxy.stop();
  }

  /** `POST /reset`: enables every proxy and removes every toxic. */
  async reset(): Promise<void> {
    for (const proxy of this.proxies.values()) {
      await proxy.start();
      proxy.removeAllToxics();
    }
  }

  /** Stops every proxy and forgets them (server shutdown). */
  async clear(): Promise<void> {
    const proxies = [...this.proxies.values()];
    this.proxies.clear();
    await Promise.all(proxies.map((p) => p.stop()));
  }
}

/**
 * Reads a proxy object from a request body with Toxiproxy's defaults and
 * checks: `name` and `upstream` are required (`missing required field: name`),
 * `listen` defaults to `defaults.listen`, `enabled` to `defaults.enabled`.
 * `where` is appended to the missing-field text (`at proxy 2` in populate).
 */
export function parseProxyInput(
  body: unknown,
  defaults: { name?: string; listen: string; upstream: string; enabled: boolean },
  where = '',
): ProxyInput {
  const input = expectObject(body, 'toxiproxy.Proxy');
  const name = optionalField(input, 'name', 'string', 'Proxy') ?? defaults.name ?? '';
  const listen = optionalField(input, 'listen', 'string', 'Proxy') ?? defaults.listen;
  const upstream = optionalField(input, 'upstream', 'string', 'Proxy') ?? defaults.upstream;
  const enabled = optionalField(input, 'enabled', 'boolean', 'Proxy') ?? defaults.enabled;
  if (name === '') throw new BadRequestError(`missing required field: name${where}`, 'name', name);
  if (upstream === '') throw new BadRequestError(`missing required field: upstream${where}`, 'upstream', upstream);
  parseAddress(listen, 'listen');
  parseAddress(upstream, 'upstream');
  return { name, listen, upstream, enabled };
}

/** Reads the body of `POST /populate`: an array of proxies, all checked before any is created. */
export function parsePopulateInput(body: unknown): ProxyInput[] {
  if (!Array.isArray(body)) {
    throw new BadRequestError(
      `bad request body: json: cannot unmarshal ${jsonKind(body)} into Go value of type []toxiproxy.Proxy`,
      'body',
      body,
    );
  }
  return body.map((item, i) =>
    parseProxyInput(item, { listen: '', upstream: '', enabled: true }, ` at proxy ${i + 1}`),
  );
}
