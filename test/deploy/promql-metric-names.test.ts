import { promqlMetricNames, promqlSelectors, PromqlSyntaxError } from '../support/promql-metric-names';

const names = (expr: string) => [...promqlMetricNames(expr)].sort();

describe('the metric names of a PromQL expression', () => {
  it('reads a bare metric and one with label matchers, not the labels or their values', () => {
    expect(names('up')).toEqual(['up']);
    expect(names('tsp_ready{service="ingest", instance=~"10\\\\.0\\\\..*:8080", job!~"other|x"} == 0')).toEqual(['tsp_ready']);
  });

  it('skips functions, aggregations and the label list of by, around a histogram quantile', () => {
    expect(names('histogram_quantile(0.99, sum by (le) (rate(tsp_signal_e2e_seconds_bucket{service="forwarder"}[5m])))')).toEqual(['tsp_signal_e2e_seconds_bucket']);
    expect(names('sum(rate(a_total[1m])) by (outcome, service) / ignoring(outcome) group_left sum without (instance) (rate(b_total[1m]))')).toEqual(['a_total', 'b_total']);
  });

  it('skips the empty label list of `and on()` and reads both sides', () => {
    expect(names('max(tsp_rate_window_starts) >= 0.9 and on() max(tsp_rate_limiting_enabled) == 1')).toEqual(['tsp_rate_limiting_enabled', 'tsp_rate_window_starts']);
    expect(names('a unless on(job) b or c > bool 1')).toEqual(['a', 'b', 'c']);
  });

  it('reads no metric in durations, offsets, subqueries, numbers and @ modifiers', () => {
    expect(names('rate(x_total[5m] offset 5m) - rate(x_total[1h30m] offset -1d) + deriv(y[10m:1m]) * 1e-3 + 0x1f + 2.5 + Inf')).toEqual(['x_total', 'y']);
    expect(names('z @ start() + z @ 1609746000')).toEqual(['z']);
  });

  it('reads no metric in strings, even ones that look like expressions', () => {
    expect(names('label_replace(up{job="tsp-ingest"}, "svc", "$1", "job", "tsp-(.*)")')).toEqual(['up']);
    expect(names("count_values('version', build_info) + topk(3, `rate(w[1m])` == 0 or q)")).toEqual(['build_info', 'q']);
  });

  it('reads a metric named by __name__ equality only', () => {
    expect(names('{__name__="tsp_ready", service="x"}')).toEqual(['tsp_ready']);
    expect(names('{__name__=~"tsp_.*"}')).toEqual([]);
  });

  it("skips Grafana's template variables, in ranges and elsewhere", () => {
    expect(names('sum(rate(tsp_forward_attempts_total{service=~"$service"}[$__rate_interval])) * ${factor} / $__interval_ms')).toEqual(['tsp_forward_attempts_total']);
  });

  it('gives each selector its label matchers, with regex and negative operators and escaped quotes', () => {
    expect(promqlSelectors('sum(rate(a_total{service="forwarder", outcome=~"dead|expired"}[5m])) / on() b{x!="q\\"r", y!~\'z\'} + {__name__="c", d="e"}')).toEqual([
      { name: 'a_total', matchers: [{ label: 'service', op: '=', value: 'forwarder' }, { label: 'outcome', op: '=~', value: 'dead|expired' }] },
      { name: 'b', matchers: [{ label: 'x', op: '!=', value: 'q"r' }, { label: 'y', op: '!~', value: 'z' }] },
      { name: 'c', matchers: [{ label: 'd', op: '=', value: 'e' }] },
    ]);
  });

  it('skips comments', () => {
    expect(names('a # b_total is only mentioned\n + c')).toEqual(['a', 'c']);
  });

  it('refuses a call of a function it does not know, and an unclosed bracket or string', () => {
    expect(() => promqlMetricNames('rat(x[5m])')).toThrow(PromqlSyntaxError);
    expect(() => promqlMetricNames('rate(x[5m)')).toThrow(/unclosed/);
    expect(() => promqlMetricNames('x{a="b}')).toThrow(/unterminated/);
    expect(() => promqlMetricNames('sum(rate(x[5m])')).toThrow(/unclosed \(/);
    expect(() => promqlMetricNames('sum(x)) by (le)')).toThrow(/unmatched \)/);
  });
});
