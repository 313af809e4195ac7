import { describe, expect, it } from 'vitest';
import { ALL, InvalidOptionError, resolveGrafanaVariables, UnknownVariableError } from './variables.js';

const base = { rateInterval: '1m', interval: '15s', range: '15m' } as const;

describe('resolveGrafanaVariables', () => {
  it('replaces the built-in intervals, $__rate_interval not mistaken for $__range or $__interval', () => {
    expect(
      resolveGrafanaVariables('rate(x[$__rate_interval]) + rate(y[$__interval]) + increase(z[$__range])', base),
    ).toBe('rate(x[1m]) + rate(y[15s]) + increase(z[15m])');
    expect(resolveGrafanaVariables('rate(x[${__rate_interval}])', base)).toBe('rate(x[1m])');
  });

  it('replaces $var and ${var} with a single value as given', () => {
    const vars = { instance: 'coord-1' };
    expect(resolveGrafanaVariables('a{instance_id=~"$instance"}', { ...base, vars })).toBe('a{instance_id=~"coord-1"}');
    expect(resolveGrafanaVariables('a{instance_id=~"${instance}"}', { ...base, vars })).toBe(
      'a{instance_id=~"coord-1"}',
    );
  });

  it('turns All into .* in every form, alone or inside a list', () => {
    for (const value of [ALL, [ALL], ['a', ALL]]) {
      const vars = { instance: value };
      expect(resolveGrafanaVariables('a{i=~"$instance"}', { ...base, vars })).toBe('a{i=~".*"}');
      expect(resolveGrafanaVariables('a{i=~"${instance:regex}"}', { ...base, vars })).toBe('a{i=~".*"}');
    }
  });

  it('writes a multi-value selection as an alternation of escaped values, escaped for a PromQL string', () => {
    const vars = { instance: ['coord-1', 'coord.2'] };
    expect(resolveGrafanaVariables('a{i=~"$instance"}', { ...base, vars })).toBe('a{i=~"(coord-1|coord\\\\.2)"}');
    expect(resolveGrafanaVariables('a{i=~"${instance:regex}"}', { ...base, vars: { instance: 'x.y' } })).toBe(
      'a{i=~"x\\\\.y"}',
    );
  });

  it('does not take a longer name for a shorter variable, nor a capture reference for a variable', () => {
    const vars = { inst: 'short', instance: 'long' };
    expect(resolveGrafanaVariables('"$instance" "$inst"', { ...base, vars })).toBe('"long" "short"');
    expect(resolveGrafanaVariables('label_replace(a, "b", "$1", "c", "(.*)")', base)).toBe(
      'label_replace(a, "b", "$1", "c", "(.*)")',
    );
  });

  it('rejects a variable it has no value for, naming it', () => {
    expect(() => resolveGrafanaVariables('a{i=~"$testid"}', base)).toThrow(UnknownVariableError);
    expect(() => resolveGrafanaVariables('a{i=~"$testid"}', base)).toThrow(/\$testid/);
    expect(() => resolveGrafanaVariables('a[$__range_ms]', base)).toThrow(UnknownVariableError);
  });

  it('rejects a duration Prometheus would not accept and an unsupported format, naming the option', () => {
    expect(() => resolveGrafanaVariables('a', { ...base, rateInterval: '1 minute' })).toThrow(InvalidOptionError);
    expect(() => resolveGrafanaVariables('a', { ...base, rateInterval: '1 minute' })).toThrow(/rateInterval/);
    expect(resolveGrafanaVariables('a[$__range]', { ...base, range: '1h30m' })).toBe('a[1h30m]');
    expect(() => resolveGrafanaVariables('"${v:csv}"', { ...base, vars: { v: 'x' } })).toThrow(InvalidOptionError);
  });
});
