/**
 * The series of a /metrics answer (Prometheus text format 0.0.4): each sample's name and labels.
 * Enough to ask "does some service expose a series this selector selects", not a full parser
 * (timestamps and exemplars are ignored).
 */
import type { LabelMatcher, VectorSelector } from './promql-metric-names';

export interface ExposedSeries {
  name: string;
  labels: Record<string, string>;
  value: number;
}

export function parseExposition(text: string): ExposedSeries[] {
  const series: ExposedSeries[] = [];
  for (const line of text.split('\n')) {
    if (!line.trim() || line.startsWith('#')) continue;
    const name = /^[A-Za-z_:][A-Za-z0-9_:]*/.exec(line)?.[0];
    if (!name) throw new Error(`not a sample line: ${line}`);
    let i = name.length;
    const labels: Record<string, string> = {};
    if (line[i] === '{') {
      i++;
      while (line[i] !== '}') {
        if (line[i] === ',') { i++; continue; }
        const label = /^[A-Za-z_][A-Za-z0-9_]*/.exec(line.slice(i))?.[0];
        if (!label || line[i + label.length] !== '=' || line[i + label.length + 1] !== '"') throw new Error(`bad label at ${i}: ${line}`);
        i += label.length + 2;
        let value = '';
        while (line[i] !== '"') {
          if (i >= line.length) throw new Error(`unterminated label value: ${line}`);
          if (line[i] === '\\') {
            i++;
            value += line[i] === 'n' ? '\n' : line[i];
          } else {
            value += line[i];
          }
          i++;
        }
        i++;
        labels[label] = value;
      }
      i++;
    }
    series.push({ name, labels, value: Number(line.slice(i).trim().split(/\s+/)[0]) });
  }
  return series;
}

/** Whether a label matcher accepts a value (a missing label is the empty string, as in PromQL). */
export function matches(matcher: LabelMatcher, value: string | undefined): boolean {
  const v = value ?? '';
  switch (matcher.op) {
    case '=': return v === matcher.value;
    case '!=': return v !== matcher.value;
    // PromQL anchors its regular expressions at both ends.
    case '=~': return new RegExp(`^(?:${matcher.value})$`).test(v);
    case '!~': return !new RegExp(`^(?:${matcher.value})$`).test(v);
  }
}

/** The exposed series a selector selects. */
export function selected(selector: VectorSelector, series: ExposedSeries[]): ExposedSeries[] {
  return series.filter((s) => s.name === selector.name && selector.matchers.every((m) => matches(m, s.labels[m.label])));
}
