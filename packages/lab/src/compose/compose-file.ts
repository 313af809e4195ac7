/**
 * Checks of the Docker stack (docker-compose.distributed.yml, the root .env,
 * docker/*, the apps' Dockerfiles) that can run without a Docker engine.
 * `docker-compose config` validates and resolves the compose file; everything
 * else is read as data. {@link checkDistributedStack} is a pure checker: it
 * returns the problems it found (empty when the stack is consistent) and never
 * throws, so its test can feed it broken variants as well as the real files.
 */
import { execFile } from 'node:child_process';
import { parse } from 'yaml';
import { InvalidArgumentError, LabError, MissingDependencyError } from '../errors.js';

/** One topic the stack must create: name and partition count. */
export interface TopicSpec {
  readonly name: string;
  readonly partitions: number;
}

/** Everything the checker reads, already parsed (compose and configs as plain data). */
export interface StackFiles {
  /** The root directory, as `docker-compose config` prints bind-mount sources (absolute). */
  readonly root: string;
  /** `docker-compose config` output, parsed. */
  readonly config: unknown;
  /** The root .env (see {@link parseEnvFile}). */
  readonly env: Readonly<Record<string, string>>;
  /** docker/toxiproxy.json, parsed. */
  readonly toxiproxy: unknown;
  /** docker/prometheus.yml, parsed. */
  readonly prometheus: unknown;
  /** docker/grafana/provisioning/dashboards/*.yml and datasources/*.yml, parsed. */
  readonly grafanaDashboards: unknown;
  readonly grafanaDatasources: unknown;
  /** Dockerfile text by the path the compose file names (relative to the root). */
  readonly dockerfiles: Readonly<Record<string, string>>;
  /** The buildable apps (folders of apps/) with the HTTP port variable and default their config declares. */
  readonly apps: Readonly<Record<string, AppHttpPort>>;
  /** Script text by the path it is mounted from (relative to the root). */
  readonly scripts: Readonly<Record<string, string>>;
  /** The topics the kafka-init service must create. */
  readonly topics: readonly TopicSpec[];
}

/** An app's HTTP port, as its config declares it: the variable and its default. */
export interface AppHttpPort {
  readonly env: string;
  readonly port: number;
}

const COORDINATOR = /^coordinator-\d+$/;

/**
 * Parses a .env file of `KEY=value` lines, comments and blank lines — the only
 * form both compose and the lab's docker provider read. Throws naming the line
 * for anything else.
 */
export function parseEnvFile(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  text.split('\n').forEach((line, i) => {
    if (line.trim() === '' || line.startsWith('#')) return;
    const m = /^([A-Z][A-Z0-9_]*)=(\S*)$/.exec(line);
    if (!m) throw new InvalidArgumentError(`.env line ${i + 1}`, line, 'KEY=value');
    out[m[1]!] = m[2]!;
  });
  return out;
}

/**
 * Runs `docker-compose -f <file> config` in `root` and returns the resolved
 * file, parsed. Rejects with docker-compose's stderr when the file is invalid,
 * and with the install hint when docker-compose is missing.
 */
export function resolveComposeFile(root: string, file: string): Promise<unknown> {
  return new Promise((resolve, reject) => {
    execFile('docker-compose', ['-f', file, 'config'], { cwd: root, timeout: 30_000 }, (err, stdout, stderr) => {
      if (err && (err as NodeJS.ErrnoException).code === 'ENOENT') {
        reject(new MissingDependencyError('docker-compose', 'apt-get install docker-compose (1.29 validates offline)'));
      } else if (err) {
        reject(
          new LabError(`docker-compose -f ${file} config failed: ${stderr.trim() || err.message}`, { cause: err }),
        );
      } else {
        resolve(parse(stdout));
      }
    });
  });
}

type Obj = Record<string, unknown>;
const obj = (v: unknown): Obj => (v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Obj) : {});
const arr = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);
const str = (v: unknown): string => (typeof v === 'string' ? v : typeof v === 'number' ? String(v) : '');

/** A service's environment as a map, from either the map or the `KEY=value` list form. */
function environment(svc: Obj): Record<string, string> {
  const env = svc.environment;
  if (Array.isArray(env)) {
    return Object.fromEntries(env.map((e) => str(e).split(/=(.*)/s).slice(0, 2) as [string, string]));
  }
  return Object.fromEntries(Object.entries(obj(env)).map(([k, v]) => [k, str(v)]));
}

/** Bind mounts as source → target, from the short (`src:dst[:ro]`) or long form. */
function mounts(svc: Obj): { source: string; target: string }[] {
  return arr(svc.volumes).map((v) => {
    if (typeof v === 'string') {
      const [source = '', target = ''] = v.split(':');
      return { source, target };
    }
    return { source: str(obj(v).source), target: str(obj(v).target) };
  });
}

/** A command or entrypoint as a list of words. */
function words(v: unknown): string[] {
  return Array.isArray(v) ? v.map(str) : str(v).split(/\s+/).filter(Boolean);
}

/** `name:tag` with a real tag: not `latest`, and the colon after the last slash (not a registry port). */
function isPinned(image: string): boolean {
  const tag = /:([^/:]+)$/.exec(image)?.[1];
  return tag !== undefined && tag !== 'latest';
}

/** Returns every inconsistency found in the stack; an empty list means all checks passed. */
export function checkDistributedStack(s: StackFiles): string[] {
  const problems: string[] = [];
  const services = obj(obj(s.config).services);
  const svc = (name: string): Obj => obj(services[name]);
  const hostPath = (rel: string) => `${s.root.replace(/\/$/, '')}/${rel}`;

  // Images: every tag pinned, and every one used comes from .env.
  const imageVars = Object.entries(s.env).filter(([k]) => k.endsWith('_IMAGE'));
  for (const [k, v] of imageVars) if (!isPinned(v)) problems.push(`.env ${k}=${v} is not pinned to a tag`);
  const fromEnv = new Set(imageVars.map(([, v]) => v));
  for (const [name, raw] of Object.entries(services)) {
    const service = obj(raw);
    if (service.build !== undefined) {
      const build = obj(service.build);
      const arg = str(obj(build.args).NODE_IMAGE);
      if (arg !== s.env.NODE_IMAGE) problems.push(`${name}: build arg NODE_IMAGE is "${arg}", not .env NODE_IMAGE`);
      const args = obj(build.args);
      const app = str(args.APP);
      const declared = s.apps[app];
      const expectedApp = COORDINATOR.test(name) ? 'coordinator' : name;
      if (app !== expectedApp) problems.push(`${name}: build arg APP is "${app}", not "${expectedApp}"`);
      if (declared === undefined) {
        problems.push(`${name}: build arg APP "${app}" is not one of the apps (${Object.keys(s.apps).join(', ')})`);
      } else {
        // The image's healthcheck asks the port the service listens on: the same variable and default.
        if (str(args.HTTP_PORT_ENV) !== declared.env)
          problems.push(
            `${name}: build arg HTTP_PORT_ENV is "${str(args.HTTP_PORT_ENV)}", but ${app} reads ${declared.env}`,
          );
        if (Number(str(args.HTTP_PORT)) !== declared.port)
          problems.push(
            `${name}: build arg HTTP_PORT is "${str(args.HTTP_PORT)}", but ${app} defaults to ${declared.port}`,
          );
      }
      const dockerfile = str(build.dockerfile);
      const text = s.dockerfiles[dockerfile];
      if (text === undefined) problems.push(`${name}: Dockerfile ${dockerfile} was not read`);
      else problems.push(...checkDockerfile(dockerfile, text));
    } else if (!fromEnv.has(str(service.image))) {
      problems.push(`${name}: image "${str(service.image)}" is not one of the .env *_IMAGE values`);
    }
  }

  // Coordinators: each reaches Redis and Postgres through its own toxiproxy listener, Kafka directly.
  const coordinators = Object.keys(services)
    .filter((n) => COORDINATOR.test(n))
    .sort();
  if (coordinators.length !== 3) problems.push(`expected 3 coordinator services, found ${coordinators.length}`);
  const expectedProxies = new Map<string, string>(); // listen port → upstream
  for (const name of coordinators) {
    const env = environment(svc(name));
    const redis = /^redis:\/\/toxiproxy:(\d+)$/.exec(env.COORDINATOR_REDIS_URL ?? '');
    const pg = /^postgres(?:ql)?:\/\/[^@]+@toxiproxy:(\d+)\/\w+$/.exec(env.COORDINATOR_POSTGRES_URL ?? '');
    if (!redis) problems.push(`${name}: COORDINATOR_REDIS_URL "${env.COORDINATOR_REDIS_URL}" is not toxiproxy:<port>`);
    else expectedProxies.set(redis[1]!, 'redis:6379');
    if (!pg)
      problems.push(`${name}: COORDINATOR_POSTGRES_URL "${env.COORDINATOR_POSTGRES_URL}" is not toxiproxy:<port>`);
    else expectedProxies.set(pg[1]!, 'postgres:5432');
    if (env.COORDINATOR_KAFKA_BROKERS !== 'kafka:9092')
      problems.push(`${name}: COORDINATOR_KAFKA_BROKERS is not kafka:9092`);
    const deps = obj(svc(name).depends_on);
    for (const [dep, condition] of [
      ['kafka-init', 'service_completed_successfully'],
      ['toxiproxy', 'service_healthy'],
      ['redis', 'service_healthy'],
      ['postgres', 'service_healthy'],
    ] as const) {
      if (obj(deps[dep]).condition !== condition) problems.push(`${name}: does not wait for ${dep} (${condition})`);
    }
  }
  if (expectedProxies.size !== coordinators.length * 2) {
    problems.push('coordinators share toxiproxy listeners: each needs its own Redis and Postgres port');
  }

  // Toxiproxy: exactly those listeners, loaded from the mounted JSON file.
  const proxies = arr(s.toxiproxy).map(obj);
  const listened = new Map(proxies.map((p) => [str(p.listen).replace(/^.*:/, ''), str(p.upstream)]));
  if (proxies.length !== expectedProxies.size || listened.size !== proxies.length) {
    problems.push(
      `toxiproxy.json has ${proxies.length} proxies, the coordinators use ${expectedProxies.size} listeners`,
    );
  }
  for (const [port, upstream] of expectedProxies) {
    if (listened.get(port) !== upstream) {
      problems.push(
        `toxiproxy.json: listener :${port} should forward to ${upstream}, got ${listened.get(port) ?? 'none'}`,
      );
    }
  }
  const toxiCmd = words(svc('toxiproxy').command);
  const configPath = toxiCmd.find((w) => w.startsWith('-config='))?.slice('-config='.length);
  if (
    !mounts(svc('toxiproxy')).some((m) => m.source === hostPath('docker/toxiproxy.json') && m.target === configPath)
  ) {
    problems.push('toxiproxy: -config does not point at the mounted docker/toxiproxy.json');
  }

  // Prometheus: remote-write receiver on, every app scraped (toxiproxy too when it exports metrics).
  if (!words(svc('prometheus').command).includes('--web.enable-remote-write-receiver')) {
    problems.push('prometheus: --web.enable-remote-write-receiver is missing (k6 pushes by remote write)');
  }
  const targets = new Set(
    arr(obj(s.prometheus).scrape_configs).flatMap((sc) =>
      arr(obj(sc).static_configs).flatMap((st) => arr(obj(st).targets).map(str)),
    ),
  );
  const wanted = [
    ...coordinators.map((n) => `${n}:${environment(svc(n)).COORDINATOR_HTTP_PORT || '8080'}`),
    `ingest:${environment(svc('ingest')).INGEST_HTTP_PORT || '8081'}`,
    ...(toxiCmd.includes('-proxy-metrics') ? ['toxiproxy:8474'] : []),
  ];
  for (const t of wanted) if (!targets.has(t)) problems.push(`prometheus.yml does not scrape ${t}`);

  // Grafana: the committed dashboards mounted where the provider reads them, the provisioning, no anonymous access.
  const grafana = svc('grafana');
  const gMounts = mounts(grafana);
  const dashMount = gMounts.find((m) => m.source === hostPath('dashboards/generated'));
  if (!dashMount) problems.push('grafana: ./dashboards/generated is not mounted');
  if (
    !gMounts.some(
      (m) => m.source === hostPath('docker/grafana/provisioning') && m.target === '/etc/grafana/provisioning',
    )
  ) {
    problems.push('grafana: ./docker/grafana/provisioning is not mounted at /etc/grafana/provisioning');
  }
  const providerPaths = arr(obj(s.grafanaDashboards).providers).map((p) => str(obj(obj(p).options).path));
  if (dashMount && !providerPaths.includes(dashMount.target)) {
    problems.push(
      `grafana: no dashboard provider reads ${dashMount.target} (providers read ${providerPaths.join(', ')})`,
    );
  }
  const datasources = arr(obj(s.grafanaDatasources).datasources).map(obj);
  if (!datasources.some((d) => d.type === 'prometheus' && d.url === 'http://prometheus:9090' && d.isDefault === true)) {
    problems.push('grafana: no default Prometheus datasource at http://prometheus:9090');
  }
  if (environment(grafana).GF_AUTH_ANONYMOUS_ENABLED !== 'false') problems.push('grafana: anonymous access is not off');
  if (!environment(grafana).GF_SECURITY_ADMIN_PASSWORD) problems.push('grafana: no admin password');

  // k6: only under the "load" profile; runs the pipeline script with the remote-write output.
  const k6 = svc('k6');
  if (!arr(k6.profiles).includes('load')) problems.push('k6: not under the "load" profile (up would start the load)');
  const k6Env = environment(k6);
  if (k6Env.K6_PROMETHEUS_RW_SERVER_URL !== 'http://prometheus:9090/api/v1/write') {
    problems.push('k6: K6_PROMETHEUS_RW_SERVER_URL is not Prometheus remote-write endpoint');
  }
  if (!/p\(95\)/.test(k6Env.K6_PROMETHEUS_RW_TREND_STATS ?? ''))
    problems.push('k6: K6_PROMETHEUS_RW_TREND_STATS lacks p(95)');
  const loadMount = mounts(k6).find((m) => m.source === hostPath('packages/load'));
  if (!loadMount) problems.push('k6: packages/load is not mounted');
  const entry = [...words(k6.entrypoint), ...words(k6.command)];
  const scriptMount = mounts(k6).find((m) => entry.some((w) => w.startsWith(`${m.target}/`)));
  const scriptPath = scriptMount && entry.find((w) => w.startsWith(`${scriptMount.target}/`));
  const scriptRel =
    scriptMount &&
    scriptPath &&
    `${scriptMount.source.slice(s.root.length + 1)}${scriptPath.slice(scriptMount.target.length)}`;
  const script = scriptRel ? (s.scripts[scriptRel] ?? '') : entry.join(' ');
  if (!/\bk6 run\b[^\n]*-o experimental-prometheus-rw/.test(script.replace(/\\\n\s*/g, ' '))) {
    problems.push('k6: does not run `k6 run -o experimental-prometheus-rw`');
  }
  if (loadMount && !script.includes(`${loadMount.target}/k6/pipeline.ts`)) {
    problems.push(`k6: does not run ${loadMount.target}/k6/pipeline.ts`);
  }

  // Topics: kafka-init creates exactly the contract's topics.
  const specs = words(environment(svc('kafka-init')).TOPICS).sort();
  const expected = s.topics.map((t) => `${t.name}:${t.partitions}`).sort();
  if (specs.join(' ') !== expected.join(' ')) {
    problems.push(`kafka-init TOPICS is "${specs.join(' ')}", expected "${expected.join(' ')}"`);
  }

  // service_healthy needs a healthcheck on the other side (compose file or the image's Dockerfile).
  for (const [name, raw] of Object.entries(services)) {
    for (const [dep, cond] of Object.entries(obj(obj(raw).depends_on))) {
      if (obj(cond).condition !== 'service_healthy') continue;
      const target = svc(dep);
      const dockerfile = s.dockerfiles[str(obj(target.build).dockerfile)] ?? '';
      if (target.healthcheck === undefined && !/^HEALTHCHECK\s/m.test(dockerfile)) {
        problems.push(`${name} waits for ${dep} to be healthy, but ${dep} has no healthcheck`);
      }
    }
  }
  return problems;
}

/**
 * A Dockerfile's rules: `ARG NODE_IMAGE` before the first stage, every stage
 * `FROM ${NODE_IMAGE}`, at least a builder and a runtime stage, and a final
 * stage that runs as a non-root user with a HEALTHCHECK.
 */
export function checkDockerfile(path: string, text: string): string[] {
  const problems: string[] = [];
  const lines = text.split('\n').filter((l) => l.trim() !== '' && !l.startsWith('#'));
  const froms = lines.map((l, i) => [l, i] as const).filter(([l]) => /^FROM\s/i.test(l));
  const argAt = lines.findIndex((l) => /^ARG\s+NODE_IMAGE\s*$/.test(l));
  if (argAt === -1 || (froms[0] && argAt > froms[0][1]))
    problems.push(`${path}: no ARG NODE_IMAGE before the first FROM`);
  if (froms.length < 2) problems.push(`${path}: not multi-stage (${froms.length} FROM)`);
  for (const [l] of froms) {
    if (!/^FROM\s+\$\{NODE_IMAGE\}(\s+AS\s+\S+)?\s*$/i.test(l))
      problems.push(`${path}: "${l}" does not use \${NODE_IMAGE}`);
  }
  const last = lines.slice(froms.at(-1)?.[1] ?? 0);
  const user = last
    .filter((l) => /^USER\s/i.test(l))
    .at(-1)
    ?.split(/\s+/)[1];
  if (!user || user === 'root' || user === '0')
    problems.push(`${path}: the final stage does not switch to a non-root USER`);
  if (!last.some((l) => /^HEALTHCHECK\s/i.test(l))) problems.push(`${path}: the final stage has no HEALTHCHECK`);
  return problems;
}
