/**
 * The catalogue: exhaustive by type (a kind without a definition does not
 * build — checked below by the compiler, since `tsc -b` compiles this file),
 * and what each definition says it holds and disables.
 */
import { describe, expect, it } from 'vitest';
import {
  FAULT_KINDS,
  definitionOf,
  disabledBy,
  faultLabel,
  faultKindDescriptions,
  faultMakers,
  faultResources,
  implementationOf,
  type Catalogue,
} from './catalogue.js';
import type { FaultKind, FaultSpec } from './types.js';
import { InvalidArgumentError } from '../errors.js';

const ids = ['coordinator-1', 'coordinator-2', 'coordinator-3'];
const links = (id: string) => [`link:redis:${id}`, `link:postgres:${id}`];

/** One spec of every kind. */
const specs: { readonly [K in FaultKind]: Extract<FaultSpec, { kind: K }> } = {
  'link-toxic': {
    kind: 'link-toxic',
    link: 'redis',
    target: 'all',
    toxic: { type: 'latency', attributes: { latency: 100 } },
  },
  'link-down': { kind: 'link-down', link: 'postgres', target: 'coordinator-2' },
  kill: { kind: 'kill', target: 'coordinator-1' },
  pause: { kind: 'pause', target: 'coordinator-3' },
  restart: { kind: 'restart', target: 'coordinator-2' },
  'rolling-restart': { kind: 'rolling-restart' },
  'rolling-upgrade': { kind: 'rolling-upgrade' },
  'commit-boundary-crash': {
    kind: 'commit-boundary-crash',
    target: 'coordinator-1',
    nth: 2,
    at: 'after-commit-before-offset',
  },
  'redis-restart': { kind: 'redis-restart' },
  'postgres-restart': { kind: 'postgres-restart' },
  'redis-readonly': { kind: 'redis-readonly' },
  'redis-busy': { kind: 'redis-busy' },
  'postgres-readonly': { kind: 'postgres-readonly' },
  'broker-down': { kind: 'broker-down', broker: 2 },
  'leader-move': { kind: 'leader-move', topic: 't.a', partition: 4, broker: 3 },
  'request-errors': { kind: 'request-errors', api: 'OffsetCommit', errors: ['NOT_COORDINATOR'] },
  'clock-skew': { kind: 'clock-skew', target: 'coordinator-2', offsetMs: -30_000 },
  'redis-out-of-memory': { kind: 'redis-out-of-memory' },
};

describe('the catalogue', () => {
  it('is checked by the compiler: a kind without a definition, or with another kind’s, does not build', () => {
    const { kill: _kill, ...withoutKill } = definitionsOf();
    // @ts-expect-error -- 'kill' is missing.
    const missing: Catalogue = withoutKill;
    // @ts-expect-error -- a pause is not a kill.
    const swapped: Catalogue = { ...definitionsOf(), kill: definitionOf('pause') };
    expect(Object.keys(missing)).not.toContain('kill');
    expect(swapped.kill.kind).toBe('pause');
  });

  it('lists every kind in a fixed order (the mixed nemesis draws kinds by their index in it)', () => {
    expect(FAULT_KINDS).toEqual([
      'link-toxic',
      'link-down',
      'kill',
      'pause',
      'restart',
      'rolling-restart',
      'rolling-upgrade',
      'commit-boundary-crash',
      'redis-restart',
      'postgres-restart',
      'redis-readonly',
      'redis-busy',
      'postgres-readonly',
      'broker-down',
      'leader-move',
      'request-errors',
      'clock-skew',
      'redis-out-of-memory',
    ]);
    for (const k of FAULT_KINDS) {
      expect(definitionOf(k).kind).toBe(k);
      expect(faultMakers[k]).toBe(definitionOf(k));
    }
  });

  it('describes every kind in a line, with the family of the module that defines it', () => {
    const listed = faultKindDescriptions();
    expect(listed.map((f) => f.kind)).toEqual(FAULT_KINDS);
    for (const f of listed) expect(f.description, f.kind).toMatch(/^[A-Za-z].{20,110}$/);
    const family = (kind: FaultKind) => listed.find((f) => f.kind === kind)?.family;
    expect([family('link-down'), family('kill'), family('broker-down'), family('redis-busy')]).toEqual([
      'link',
      'process',
      'infra',
      'store',
    ]);
    expect(family('clock-skew')).toBe('clock');
  });

  it('refuses a kind it does not know (a plan read from JSON may carry any string), naming it', () => {
    const bogus = { kind: 'meteor' } as unknown as FaultSpec;
    expect(() => definitionOf(bogus.kind)).toThrow(InvalidArgumentError);
    expect(() => implementationOf(bogus)).toThrow(/^kind/);
    expect(() => faultLabel(bogus)).toThrow(/meteor/);
    expect(() => faultResources(bogus, ids)).toThrow(InvalidArgumentError);
  });

  it('labels each spec through its own kind’s definition', () => {
    expect(faultLabel(specs.kill)).toBe('kill -9 coordinator-1');
    expect(faultLabel(specs['clock-skew'])).toBe('clock -30 s coordinator-2');
    expect(implementationOf(specs['broker-down']).label(specs['broker-down'])).toBe('kafka broker 2 down');
  });

  it('holds what each fault must not share (resources.ts)', () => {
    const held = Object.fromEntries(FAULT_KINDS.map((k) => [k, faultResources(specs[k], ids)]));
    expect(held).toEqual({
      'link-toxic': ids.map((id) => `link:redis:${id}`),
      'link-down': ['link:postgres:coordinator-2'],
      kill: ['process:coordinator-1'],
      pause: ['process:coordinator-3'],
      restart: ['process:coordinator-2', ...links('coordinator-2')],
      'rolling-restart': [...ids.map((id) => `process:${id}`), ...ids.flatMap(links)],
      'rolling-upgrade': [...ids.map((id) => `process:${id}`), ...ids.flatMap(links)],
      'commit-boundary-crash': ['process:coordinator-1', ...links('coordinator-1')],
      'redis-restart': ['store:redis', ...ids.map((id) => `link:redis:${id}`)],
      'postgres-restart': ['store:postgres', ...ids.map((id) => `link:postgres:${id}`)],
      'redis-readonly': ['store:redis', ...ids.map((id) => `link:redis:${id}`)],
      'redis-busy': ['store:redis', ...ids.map((id) => `link:redis:${id}`)],
      'postgres-readonly': ['store:postgres', ...ids.map((id) => `link:postgres:${id}`)],
      'broker-down': ['broker:2', 'brokers-down'],
      'leader-move': ['broker:3', 'leader:t.a[4]'],
      'request-errors': ['request-errors:OffsetCommit'],
      'clock-skew': ['clock:coordinator-2', 'process:coordinator-2'],
      'redis-out-of-memory': ['store:redis', ...ids.map((id) => `link:redis:${id}`)],
    });
  });

  it('says which instances each fault takes out of service', () => {
    const out = Object.fromEntries(FAULT_KINDS.map((k) => [k, disabledBy(specs[k], ids)]));
    expect(out).toEqual({
      // A latency slows, it does not cut.
      'link-toxic': [],
      'link-down': ['coordinator-2'],
      kill: ['coordinator-1'],
      pause: ['coordinator-3'],
      restart: ['coordinator-2'],
      'rolling-restart': ['rolling-restart'],
      'rolling-upgrade': ['rolling-upgrade'],
      'commit-boundary-crash': ['coordinator-1'],
      'redis-restart': [],
      'postgres-restart': [],
      'redis-readonly': [],
      'redis-busy': [],
      'postgres-readonly': [],
      'broker-down': [],
      'leader-move': [],
      'request-errors': [],
      'clock-skew': [],
      'redis-out-of-memory': [],
    });
    const cut = { ...specs['link-toxic'], toxic: { type: 'reset_peer' as const, attributes: {} } };
    expect(disabledBy(cut, ids)).toEqual(ids);
    expect(disabledBy({ ...cut, target: 'coordinator-3' }, ids)).toEqual(['coordinator-3']);
  });
});

/** The catalogue's definitions, as a fresh object a test can take apart. */
function definitionsOf(): Catalogue {
  return Object.fromEntries(FAULT_KINDS.map((k) => [k, definitionOf(k)])) as unknown as Catalogue;
}
