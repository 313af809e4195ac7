import { describe, expect, it } from 'vitest';
import { counterDelta, dependencyDelta, parsePrometheus } from './metrics.js';

const samples = (errors: number, extra = '') =>
  parsePrometheus(`coordinator_kafka_client_errors_total{type="x"} ${errors}\n${extra}`);

describe('counterDelta', () => {
  it('adds what each instance’s counter rose', () => {
    expect(
      counterDelta([samples(3), samples(10)], [samples(5), samples(11)], 'coordinator_kafka_client_errors_total'),
    ).toBe(3);
  });

  it('counts nothing for an instance that did not answer the second snapshot (paused, killed)', () => {
    expect(
      counterDelta([samples(3), samples(10)], [samples(5), new Map()], 'coordinator_kafka_client_errors_total'),
    ).toBe(2);
  });

  it('counts from the restart for an instance whose counter went down, and from zero for one that was down before', () => {
    expect(
      counterDelta([samples(30), new Map()], [samples(4), samples(6)], 'coordinator_kafka_client_errors_total'),
    ).toBe(10);
  });

  it('is what dependencyDelta reads, label by label', () => {
    const deps = (errors: number, sumS: number, count: number) =>
      parsePrometheus(
        [
          `coordinator_dependency_errors_total{dependency="redis"} ${errors}`,
          `coordinator_dependency_errors_total{dependency="postgres"} 100`,
          `coordinator_dependency_duration_seconds_sum{dependency="redis"} ${sumS}`,
          `coordinator_dependency_duration_seconds_count{dependency="redis"} ${count}`,
        ].join('\n'),
      );
    expect(dependencyDelta([deps(1, 1, 10), deps(0, 0, 0)], [deps(3, 2, 20), new Map()], 'redis')).toEqual({
      errors: 2,
      calls: 10,
      meanMs: 100,
      // Before the first snapshot: 1 s over 10 calls (the second instance had made none).
      meanBeforeMs: 100,
    });
    const d = dependencyDelta([deps(0, 0.05, 10)], [deps(0, 0.75, 20)], 'redis');
    expect([d.meanMs, d.meanBeforeMs].map((x) => Math.round(x * 1000) / 1000)).toEqual([70, 5]);
  });
});
