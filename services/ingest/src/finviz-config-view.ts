import { environmentFinvizConfig, redactUrl, type Config, type StoredFinvizConfig } from '@tsp/core';

/** What GET and POST /finviz/config answer: never a credential (the URL's password and tokens are masked). */
export interface FinvizConfigView {
  url: string | null;
  top_n: number;
  refresh: number;
  /** "database": set through this API (or imported); "environment": FINVIZ_URL / TOP_N / FINVIZ_REFRESH_SEC. */
  source: 'database' | 'environment';
  version: number | null;
  updated_at: string | null;
  updated_by: string | null;
  elite: boolean;
}

/** The settings in force: the stored config, or the environment's before the first change. */
export function finvizConfigView(stored: StoredFinvizConfig | null, config: Config): FinvizConfigView {
  const values = stored ?? environmentFinvizConfig(config);
  return {
    url: values.url ? redactUrl(values.url) : null,
    top_n: values.top_n,
    refresh: values.refresh,
    source: stored ? 'database' : 'environment',
    version: stored?.version ?? null,
    updated_at: stored?.updated_at ?? null,
    updated_by: stored?.updated_by ?? null,
    elite: config.finvizUseElite,
  };
}
