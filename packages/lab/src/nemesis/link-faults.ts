/**
 * Link faults: toxics and "link down" on the proxies between an instance (or
 * every instance) and Redis or PostgreSQL. Evidence comes from a probe sent
 * through the faulted proxy while the fault is on, and from the instances'
 * own dependency metrics over the window.
 */
import type { ActiveFault, FaultImplementation, FaultSpec, NemesisContext } from './types.js';
import { probeLink, type ProbeResult } from './probes.js';
import { dependencyDelta, snapshot } from './metrics.js';

function affected(ctx: NemesisContext, target: string) {
  return target === 'all' ? ctx.instances.all : ctx.instances.all.filter((x) => x.id === target);
}

async function probeFirst(
  ctx: NemesisContext,
  spec: { link: 'redis' | 'postgres'; target: string },
  timeoutMs: number,
  payload = 0,
): Promise<ProbeResult> {
  const name = ctx.links.names(spec.target, spec.link)[0]!;
  const { host, port } = await ctx.links.listen(name);
  return probeLink(spec.link, host, port, timeoutMs, payload);
}

type ToxicFault = Extract<FaultSpec, { kind: 'link-toxic' }>;

/** What a client must see through the toxic for it to count as in effect. */
function judge(spec: ToxicFault, p: ProbeResult): boolean {
  const a = spec.toxic.attributes;
  switch (spec.toxic.type) {
    case 'latency':
      return p.ok && p.ms >= 0.8 * (a.latency ?? 0);
    case 'timeout':
    case 'reset_peer':
    case 'limit_data':
      return !p.ok;
    case 'slicer':
      return p.ok && p.ms >= ((a.delay ?? 0) / 1000) * 2;
    case 'bandwidth':
      return p.ok && p.ms >= 0.5 * ((4096 / 1024 / (a.rate ?? 1)) * 1000);
    case 'slow_close':
      return p.ok;
  }
}

export const linkToxic: FaultImplementation<'link-toxic'> = {
  kind: 'link-toxic',
  label: (s) => `${s.toxic.type} ${JSON.stringify(s.toxic.attributes)} ${s.link}@${s.target}`,
  async start(spec, ctx): Promise<ActiveFault> {
    const xs = affected(ctx, spec.target);
    const before = await snapshot(xs);
    const name = `nemesis-${spec.toxic.type}`;
    await ctx.links.addToxic(spec.target, spec.link, name, spec.toxic);
    const a = spec.toxic.attributes;
    const probeTimeout = spec.toxic.type === 'timeout' ? Math.max(500, Math.min(a.timeout || 1000, 3000)) : 5000;
    // A probe only meets toxicity < 1 by chance; it is evidence only when toxicity is 1.
    const p = await probeFirst(ctx, spec, probeTimeout, spec.toxic.type === 'bandwidth' ? 4096 : 0);
    return {
      async end() {
        await ctx.links.removeToxic(spec.target, spec.link, name);
        const delta = dependencyDelta(before, await snapshot(xs), spec.link);
        const byProbe = (spec.toxic.toxicity ?? 1) >= 1 && judge(spec, p);
        // A slicer delays between slices, so a probe whose answer fits in one slice (PostgreSQL's one-byte answer
        // to an SSL request) meets no delay at all (fuzz seed 18: probe 6.8 ms, the instance's calls 612 ms on
        // average): the instance's own calls are evidence too.
        // Nor does PostgreSQL's probe meet a bandwidth limit: its answer is one byte (fuzz seed 47: rate 7 KB/s,
        // probe 150 ms, the instances' calls 68 ms on average): their calls, twice slower than before, are evidence.
        const byMetrics =
          spec.toxic.type === 'latency'
            ? delta.meanMs >= 0.5 * (a.latency ?? 0) && delta.calls > 0
            : spec.toxic.type === 'slicer'
              ? delta.meanMs >= Math.max(20, ((a.delay ?? 0) / 1000) * 2) && delta.calls > 0
              : spec.toxic.type === 'bandwidth'
                ? (delta.meanMs >= Math.max(20, 2 * delta.meanBeforeMs) && delta.calls > 0) || delta.errors > 0
                : delta.errors > 0;
        return { tookEffect: byProbe || byMetrics, detail: { probe: p, [spec.link]: delta } };
      },
    };
  },
};

export const linkDown: FaultImplementation<'link-down'> = {
  kind: 'link-down',
  label: (s) => `down ${s.link}@${s.target}`,
  async start(spec, ctx): Promise<ActiveFault> {
    const xs = affected(ctx, spec.target);
    const before = await snapshot(xs);
    await ctx.links.setEnabled(spec.target, spec.link, false);
    const p = await probeFirst(ctx, spec, 1000);
    return {
      async end() {
        await ctx.links.setEnabled(spec.target, spec.link, true);
        const delta = dependencyDelta(before, await snapshot(xs), spec.link);
        return { tookEffect: !p.ok || delta.errors > 0, detail: { probe: p, [spec.link]: delta } };
      },
    };
  },
};
