/**
 * Fail-points: named places in the code where a test harness may make the
 * process fail on purpose, to reproduce the crashes that break consumers.
 *
 * They are off unless `COORDINATOR_FAILPOINTS` is set — by the chaos lab, never
 * by a deployment — and an unset fail-point costs one call to a no-op. The
 * only action is a crash (SIGKILL to itself), because that is the failure the
 * code must survive: anything gentler could run cleanup a real crash skips.
 *
 * Syntax: `name=N[,name=N…]` — crash at the N-th time `name` is reached.
 *
 * - `after-commit-before-offset`: the message's database transaction has
 *   committed, its Kafka offset is not yet resolved or committed. A consumer
 *   that is not idempotent duplicates work here; one that commits offsets
 *   early loses it.
 * - `after-cache-before-store`: the input's slot is proposed in Redis, its
 *   Postgres transaction has not begun (reached once per input, a run of
 *   inputs settled together reaching it once for each before its one
 *   transaction). Redis is ahead of Postgres; the redelivered input must get
 *   the slot Redis proposed. A consumer that commits offsets early loses the
 *   input here, and its whole run with it.
 */
export const FAILPOINT_NAMES = ['after-commit-before-offset', 'after-cache-before-store'] as const;
export type FailpointName = (typeof FAILPOINT_NAMES)[number];

export type Failpoints = (name: FailpointName) => void;

const inert: Failpoints = () => {};

/** Parses the specification; throws naming the bad part. */
export function parseFailpoints(spec: string | undefined): Map<FailpointName, number> {
  const out = new Map<FailpointName, number>();
  if (!spec) return out;
  for (const part of spec.split(',')) {
    const m = /^\s*([a-z-]+)\s*=\s*(\d+)\s*$/.exec(part);
    if (!m || !(FAILPOINT_NAMES as readonly string[]).includes(m[1]!) || Number(m[2]) < 1) {
      throw new Error(`"${part}" is not name=N with a name among ${FAILPOINT_NAMES.join(', ')} and N ≥ 1`);
    }
    out.set(m[1] as FailpointName, Number(m[2]));
  }
  return out;
}

export function createFailpoints(
  spec: Map<FailpointName, number>,
  beforeCrash: (name: string) => void = () => {},
): Failpoints {
  if (spec.size === 0) return inert;
  const hits = new Map<FailpointName, number>();
  return (name) => {
    const at = spec.get(name);
    if (at === undefined) return;
    const n = (hits.get(name) ?? 0) + 1;
    hits.set(name, n);
    if (n === at) {
      beforeCrash(name);
      process.kill(process.pid, 'SIGKILL');
    }
  };
}
