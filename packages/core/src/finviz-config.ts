import { z } from 'zod';
import type { Config } from './config';
import { hasSpaceOrControl, urlHostAllowed } from './allowed-host';

/**
 * The screener's runtime configuration (`GET/POST /finviz/config`): written by ingest into
 * Postgres, announced on `<prefix>:finviz:config:updated`, applied by the screener.
 */

export const FINVIZ_TOP_N_MAX = 1000;
export const FINVIZ_REFRESH_MIN_SEC = 1;
export const FINVIZ_REFRESH_MAX_SEC = 86_400;

function isHttpUrl(raw: string): boolean {
  try {
    const { protocol } = new URL(raw);
    return protocol === 'http:' || protocol === 'https:';
  } catch {
    return false;
  }
}

/** Accepts 20 and "20" alike (form-minded clients send strings). */
const numeric = (schema: z.ZodNumber) =>
  z.preprocess((value) => (typeof value === 'string' && value.trim() !== '' ? Number(value) : value), schema);

/** The fields of a screener config (or a strategy), each validated; the URL's host must be in `allowedHosts`. */
export function finvizConfigFields(allowedHosts: readonly string[]) {
  return {
    url: z
        .string()
        .max(2000)
        .refine((url) => !hasSpaceOrControl(url), 'must not contain spaces or control characters')
        .refine(isHttpUrl, 'must be an http or https URL')
        .refine((url) => urlHostAllowed(url, allowedHosts), {
          message: `host is not allowed: it must be one of FINVIZ_ALLOWED_HOSTS (${allowedHosts.join(', ')}), without credentials`,
        }),
    top_n: numeric(z.number().int().min(1).max(FINVIZ_TOP_N_MAX)),
    refresh: numeric(z.number().min(FINVIZ_REFRESH_MIN_SEC).max(FINVIZ_REFRESH_MAX_SEC)),
  };
}

/** What POST /finviz/config (and the old system's finviz_config.json) may set: any subset. */
export function finvizConfigUpdateSchema(allowedHosts: readonly string[]) {
  return z
    .object(finvizConfigFields(allowedHosts))
    .partial()
    .strict()
    .refine((update) => Object.keys(update).length > 0, 'give at least one of url, top_n, refresh');
}
export type FinvizConfigUpdate = z.infer<ReturnType<typeof finvizConfigUpdateSchema>>;

/** The stored configuration, as Postgres holds it and the announcement carries it. */
export const StoredFinvizConfigSchema = z.object({
  url: z.string().nullable(),
  top_n: z.number().int().min(1).max(FINVIZ_TOP_N_MAX),
  refresh: z.number().min(FINVIZ_REFRESH_MIN_SEC).max(FINVIZ_REFRESH_MAX_SEC),
  /** Grows by one with each stored change, so a replica never goes back to an older one. */
  version: z.number().int().positive(),
  updated_at: z.string(),
  updated_by: z.string(),
  /** The strategy this config is (POST /strategies/:id/activate); null or absent before strategies were used. */
  strategy_id: z.string().nullable().optional(),
});
export type StoredFinvizConfig = z.infer<typeof StoredFinvizConfigSchema>;

/** A config's values, before it is stored with a version. */
export type FinvizConfigValues = Pick<StoredFinvizConfig, 'url' | 'top_n' | 'refresh'>;

/** The environment's values (FINVIZ_URL, TOP_N, FINVIZ_REFRESH_SEC): in force until a config is stored. */
export function environmentFinvizConfig(config: Pick<Config, 'finvizUrl' | 'topN' | 'finvizRefreshSec'>): FinvizConfigValues {
  return { url: config.finvizUrl, top_n: config.topN, refresh: config.finvizRefreshSec };
}
