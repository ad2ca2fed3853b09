import {
  redactFinvizUrl, redisKeys, type Config, type FinvizConfigUpdate, type StoredFinvizConfig,
} from '@tsp/core';
import type { PrismaClient } from '@tsp/db';

/** Who changed the config, for the audit table. */
export interface ConfigActor {
  /** Which token authorised it: "FINVIZ_UPDATE_TOKEN" or "ADMIN_TOKEN". */
  actor: string;
  ip: string | null;
  userAgent: string | null;
}

/** What GET /finviz/config answers: never a credential (the URL's `auth=` is masked). */
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

/** Concurrent updates retry on a version conflict; past this something is badly wrong. */
const MAX_ATTEMPTS = 5;

function storedOf(row: { url: string | null; topN: number; refreshSec: number; version: number; updatedAt: Date; updatedBy: string }): StoredFinvizConfig {
  return { url: row.url, top_n: row.topN, refresh: row.refreshSec, version: row.version, updated_at: row.updatedAt.toISOString(), updated_by: row.updatedBy };
}

/**
 * The screener's runtime config as ingest reads and writes it: one row per deployment
 * (KEY_PREFIX) in `finviz_config`, each change audited in `finviz_config_audit`, announced on
 * `<prefix>:finviz:config:updated` for the screener replicas to apply.
 */
export class FinvizConfigStore {
  constructor(private readonly prisma: PrismaClient, private readonly config: Config) {}

  async read(): Promise<StoredFinvizConfig | null> {
    const row = await this.prisma.finvizConfig.findUnique({ where: { deployment: this.config.keyPrefix } });
    return row ? storedOf(row) : null;
  }

  view(stored: StoredFinvizConfig | null): FinvizConfigView {
    const { config } = this;
    const url = stored ? stored.url : config.finvizUrl;
    return {
      url: url ? redactFinvizUrl(url) : null,
      top_n: stored ? stored.top_n : config.topN,
      refresh: stored ? stored.refresh : config.finvizRefreshSec,
      source: stored ? 'database' : 'environment',
      version: stored?.version ?? null,
      updated_at: stored?.updated_at ?? null,
      updated_by: stored?.updated_by ?? null,
      elite: config.finvizUseElite,
    };
  }

  /**
   * Applies a validated subset over the stored config (or, before the first change, over the
   * environment's values) and stores it with its audit row in one transaction. Concurrent
   * updates are serialised by the version: the loser re-reads and applies its subset again.
   */
  async update(update: FinvizConfigUpdate, who: ConfigActor): Promise<StoredFinvizConfig> {
    const deployment = this.config.keyPrefix;
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt += 1) {
      const before = await this.read();
      const base = before ?? { url: this.config.finvizUrl, top_n: this.config.topN, refresh: this.config.finvizRefreshSec };
      const after = { url: update.url ?? base.url, top_n: update.top_n ?? base.top_n, refresh: update.refresh ?? base.refresh };
      const row = {
        url: after.url, topN: after.top_n, refreshSec: after.refresh, version: (before?.version ?? 0) + 1,
        updatedAt: new Date(), updatedBy: who.actor,
      };
      const stored = await this.prisma.$transaction(async (tx) => {
        const written = before
          ? await tx.finvizConfig.updateMany({ where: { deployment, version: before.version }, data: row })
          : await tx.finvizConfig.createMany({ data: [{ deployment, ...row }], skipDuplicates: true });
        if (written.count !== 1) return null;
        await tx.finvizConfigAudit.create({
          data: {
            deployment, actor: who.actor, ip: who.ip, userAgent: who.userAgent,
            before: before ? auditable(before) : undefined,
            after: auditable(after),
          },
        });
        return storedOf(row);
      });
      if (stored) return stored;
    }
    throw new Error('the Finviz config kept changing under this update; try again');
  }

  /** Tells every screener replica; they also re-read Postgres now and then, so a lost message only delays. */
  async announce(redis: { publish(channel: string, message: string): Promise<number> }, stored: StoredFinvizConfig): Promise<void> {
    await redis.publish(redisKeys(this.config.keyPrefix).finvizConfigUpdated, JSON.stringify(stored));
  }
}

/** The audit keeps what changed, never a credential. */
function auditable(config: { url: string | null; top_n: number; refresh: number }) {
  return { url: config.url ? redactFinvizUrl(config.url) : null, top_n: config.top_n, refresh: config.refresh };
}
