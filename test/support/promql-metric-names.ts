/**
 * The metric names a PromQL expression reads, for checking a dashboard's or an alert's queries
 * against what the services expose. A tokenizer, not a parser: it skips strings, numbers,
 * durations, range and subquery brackets, label matchers (reading only `__name__="..."`), the label
 * lists of by/without/on/ignoring/group_left/group_right, functions, aggregations, keywords and
 * Grafana's template variables; every other identifier is a metric name. A call of a function it
 * does not know throws, so a typo'd function is not mistaken for a metric.
 */

const AGGREGATIONS = new Set([
  'sum', 'min', 'max', 'avg', 'group', 'stddev', 'stdvar', 'count', 'count_values', 'bottomk', 'topk', 'quantile', 'limitk', 'limit_ratio',
]);

const FUNCTIONS = new Set([
  'abs', 'absent', 'absent_over_time', 'ceil', 'changes', 'clamp', 'clamp_max', 'clamp_min', 'day_of_month', 'day_of_week', 'day_of_year',
  'days_in_month', 'delta', 'deriv', 'exp', 'floor', 'histogram_avg', 'histogram_count', 'histogram_fraction', 'histogram_quantile',
  'histogram_stddev', 'histogram_stdvar', 'histogram_sum', 'holt_winters', 'double_exponential_smoothing', 'hour', 'idelta', 'increase',
  'irate', 'label_join', 'label_replace', 'ln', 'log2', 'log10', 'minute', 'month', 'predict_linear', 'rate', 'resets', 'round', 'scalar',
  'sgn', 'sort', 'sort_desc', 'sort_by_label', 'sort_by_label_desc', 'sqrt', 'time', 'timestamp', 'vector', 'year', 'avg_over_time',
  'min_over_time', 'max_over_time', 'sum_over_time', 'count_over_time', 'quantile_over_time', 'stddev_over_time', 'stdvar_over_time',
  'last_over_time', 'present_over_time', 'mad_over_time', 'acos', 'acosh', 'asin', 'asinh', 'atan', 'atanh', 'cos', 'cosh', 'sin', 'sinh',
  'tan', 'tanh', 'deg', 'rad', 'pi', 'start', 'end',
]);

/** Keywords followed by a parenthesised list of label names. */
const LABEL_LIST_KEYWORDS = new Set(['by', 'without', 'on', 'ignoring', 'group_left', 'group_right']);
/** Binary operators and modifiers spelled as words, and the special numbers. */
const KEYWORDS = new Set(['and', 'or', 'unless', 'atan2', 'bool', 'offset', 'inf', 'nan']);

const IDENT_START = /[A-Za-z_:]/;
const IDENT_PART = /[A-Za-z0-9_:]/;
const DIGIT = /[0-9.]/;

export class PromqlSyntaxError extends Error {
  constructor(message: string, readonly expr: string) {
    super(`${message} in: ${expr}`);
    this.name = 'PromqlSyntaxError';
  }
}

export interface LabelMatcher {
  label: string;
  op: '=' | '!=' | '=~' | '!~';
  value: string;
}

/** One vector selector: the metric it names and its label matchers (`__name__` taken out). */
export interface VectorSelector {
  name: string;
  matchers: LabelMatcher[];
}

export function promqlMetricNames(expr: string): Set<string> {
  return new Set(promqlSelectors(expr).map((s) => s.name));
}

/** Every vector selector of the expression that names a metric. */
export function promqlSelectors(expr: string): VectorSelector[] {
  const selectors: VectorSelector[] = [];
  let i = 0;
  /** Open parentheses of calls and groupings (label lists are skipped whole). */
  let depth = 0;
  const peek = (at = i) => expr[at] ?? '';
  const skipSpace = () => {
    for (;;) {
      while (/\s/.test(peek())) i++;
      if (peek() !== '#') return;
      while (i < expr.length && peek() !== '\n') i++; // a comment runs to the end of the line
    }
  };
  const readString = (): string => {
    const quote = expr[i++];
    let value = '';
    while (i < expr.length && peek() !== quote) {
      if (peek() === '\\' && quote !== '`') i++;
      value += expr[i++];
    }
    if (peek() !== quote) throw new PromqlSyntaxError('unterminated string', expr);
    i++;
    return value;
  };
  const readIdent = (): string => {
    const from = i;
    while (IDENT_PART.test(peek())) i++;
    return expr.slice(from, i);
  };
  /** Skips from an opening bracket to its closing one, strings inside included. */
  const skipGroup = (open: string, close: string) => {
    let depth = 0;
    do {
      const c = peek();
      if (c === '') throw new PromqlSyntaxError(`unclosed ${open}`, expr);
      if (c === '"' || c === "'" || c === '`') { readString(); continue; }
      if (c === open) depth++;
      if (c === close) depth--;
      i++;
    } while (depth > 0);
  };
  /** `{a="x", b=~"y"}`: the matchers, and the metric name given as `__name__="..."` or a lone quoted name. */
  const readMatchers = (): { name: string | null; matchers: LabelMatcher[] } => {
    let name: string | null = null;
    const matchers: LabelMatcher[] = [];
    i++;
    for (;;) {
      skipSpace();
      if (peek() === '}') { i++; return { name, matchers }; }
      if (peek() === ',') { i++; continue; }
      const label = peek() === '"' || peek() === "'" ? readString() : readIdent();
      if (!label) throw new PromqlSyntaxError(`unexpected ${JSON.stringify(peek())} in a label matcher`, expr);
      skipSpace();
      const op = /^(=~|!~|!=|=)/.exec(expr.slice(i))?.[0] as LabelMatcher['op'] | undefined;
      if (!op) {
        // `{"metric.name"}`: a quoted metric name alone (Prometheus 3).
        if (peek() === ',' || peek() === '}') { name = label; continue; }
        throw new PromqlSyntaxError(`no operator after label ${label}`, expr);
      }
      i += op.length;
      skipSpace();
      if (!/["'`]/.test(peek())) throw new PromqlSyntaxError(`label ${label} matched against no string`, expr);
      const value = readString();
      if (label === '__name__' && op === '=') name = value;
      else if (label !== '__name__') matchers.push({ label, op, value });
    }
  };
  const nextIs = (c: string) => {
    const saved = i;
    skipSpace();
    const found = peek() === c;
    i = saved;
    return found;
  };
  const nextIsParen = () => nextIs('(');

  while (i < expr.length) {
    skipSpace();
    const c = peek();
    if (c === '') break;
    if (c === '"' || c === "'" || c === '`') { readString(); continue; }
    if (c === '[') { skipGroup('[', ']'); continue; } // a range or a subquery: durations and template variables only
    if (c === '{') {
      const { name, matchers } = readMatchers();
      if (name) selectors.push({ name, matchers });
      continue;
    }
    if (c === '$') {
      // Grafana's template variables: $name, ${name}, ${name:format}, [[name]] is not used here.
      i++;
      if (peek() === '{') skipGroup('{', '}');
      else readIdent();
      continue;
    }
    if (DIGIT.test(c)) {
      // A number (1, 0.99, 1e3, 0x1f) or a duration (5m, 1h30m): digits, then letters and digits.
      const from = i;
      while (/[0-9A-Za-z_.]/.test(peek())) i++;
      // The exponent's sign of 1e-3: part of the number, not a subtraction.
      if (/^[0-9.]+[eE]$/.test(expr.slice(from, i)) && /[+-]/.test(peek())) {
        i++;
        while (/[0-9]/.test(peek())) i++;
      }
      continue;
    }
    if (IDENT_START.test(c)) {
      const word = readIdent();
      const lower = word.toLowerCase();
      if (LABEL_LIST_KEYWORDS.has(lower)) {
        skipSpace();
        if (peek() === '(') skipGroup('(', ')');
        continue;
      }
      if (KEYWORDS.has(lower) || AGGREGATIONS.has(word)) continue;
      if (FUNCTIONS.has(word) && nextIsParen()) continue;
      if (nextIsParen()) throw new PromqlSyntaxError(`unknown function ${word}()`, expr);
      if (nextIs('{')) {
        skipSpace();
        selectors.push({ name: word, matchers: readMatchers().matchers });
      } else {
        selectors.push({ name: word, matchers: [] });
      }
      continue;
    }
    if (c === '(') depth++;
    if (c === ')' && --depth < 0) throw new PromqlSyntaxError('unmatched )', expr);
    i++; // operators, parentheses, commas, @
  }
  if (depth !== 0) throw new PromqlSyntaxError('unclosed (', expr);
  return selectors;
}
