import { deploymentOf, redactUrl, type FinvizConfigUpdate, type FinvizConfigValues, type StoredFinvizConfig } from '@tsp/core';
import type { PrismaClient } from '../generated/client';

/**
 * The one owner of `finviz_config` and `finviz_config_audit`: the screener's runtime config, one
 * row per deployment (KEY_PREFIX), every change audited in the same transaction. Ingest changes it
 * (POST /finviz/config), the screener reads it and imports the old system's file once; both go
 * through here, so the audit is written one way: never with a credential.
 */

/** Who changed the config, for the audit. */
export interface FinvizConfigActor {
  /** Which credential authorised it ("FINVIZ_UPDATE_TOKEN", "ADMIN_TOKEN"), or what wrote it ("import:finviz_config.json"). */
  actor: string;
  ip: string | null;
  userAgent: string | null;
}

/** A change lost its version race this many times in a row: something keeps writing. */
export class FinvizConfigConflictError extends Error {
  constructor(readonly attempts: number) {
    super(`the Finviz config changed under this update ${attempts} times; try again`);
    this.name = 'FinvizConfigConflictError';
  }
}

/** Concurrent updates retry on a version conflict; past this something is badly wrong. */
const MAX_ATTEMPTS = 5;

interface FinvizConfigRow {
  url: string | null;
  topN: number;
  refreshSec: number;
  version: number;
  updatedAt: Date;
  updatedBy: string;
  strategyId: string | null;
}

function storedOf(row: FinvizConfigRow): StoredFinvizConfig {
  return {
    url: row.url, top_n: row.topN, refresh: row.refreshSec, version: row.version, updated_at: row.updatedAt.toISOString(), updated_by: row.updatedBy,
    strategy_id: row.strategyId,
  };
}

/** What the audit keeps of a config: what changed, the URL's credentials masked. */
function auditable(values: FinvizConfigValues): FinvizConfigValues {
  return { url: values.url === null ? null : redactUrl(values.url), top_n: values.top_n, refresh: values.refresh };
}

export class FinvizConfigStore {
  private readonly deployment: string;

  constructor(private readonly prisma: PrismaClient, deployment: string) {
    this.deployment = deploymentOf(deployment);
  }

  /** The stored config, or null before the first change (the environment's values apply then). */
  async read(): Promise<StoredFinvizConfig | null> {
    const row = await this.prisma.finvizConfig.findUnique({ where: { deployment: this.deployment } });
    return row ? storedOf(row) : null;
  }

  /**
   * Applies a validated subset over the stored config (before the first change, over `initial`,
   * the environment's values) and stores it with its audit row in one transaction. Concurrent
   * updates are serialised by the version: the loser re-reads and applies its subset again.
   */
  async update(update: FinvizConfigUpdate, initial: FinvizConfigValues, who: FinvizConfigActor): Promise<StoredFinvizConfig> {
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt += 1) {
      const before = await this.read();
      const base = before ?? initial;
      const after = { url: update.url ?? base.url, top_n: update.top_n ?? base.top_n, refresh: update.refresh ?? base.refresh };
      const stored = await this.write(before, after, who, before?.strategy_id ?? null);
      if (stored) return stored;
    }
    throw new FinvizConfigConflictError(MAX_ATTEMPTS);
  }

  /** Makes a strategy's values the config in force, linked to it (see StrategyStore.activate). */
  async activate(strategyId: string, values: FinvizConfigValues, who: FinvizConfigActor): Promise<StoredFinvizConfig> {
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt += 1) {
      const stored = await this.write(await this.read(), values, who, strategyId);
      if (stored) return stored;
    }
    throw new FinvizConfigConflictError(MAX_ATTEMPTS);
  }

  /**
   * Stores `values` as the first config of this deployment, once: when several replicas import at
   * the same time, the first wins and the others find it stored. Answers the stored config, or null
   * when one was already there (nothing written, no audit row).
   */
  importOnce(values: FinvizConfigValues, who: FinvizConfigActor): Promise<StoredFinvizConfig | null> {
    return this.write(null, values, who, null);
  }

  /**
   * Writes `after` over `before` (null: creates the row) with its audit row; null when another
   * writer got there first. The config is the active strategy: its values are the strategy's too,
   * in the same transaction, so /finviz/config and the strategy never disagree.
   */
  private write(before: StoredFinvizConfig | null, after: FinvizConfigValues, who: FinvizConfigActor, strategyId: string | null): Promise<StoredFinvizConfig | null> {
    const { deployment } = this;
    const row: FinvizConfigRow = {
      url: after.url, topN: after.top_n, refreshSec: after.refresh, version: (before?.version ?? 0) + 1, updatedAt: new Date(), updatedBy: who.actor,
      strategyId,
    };
    return this.prisma.$transaction(async (tx) => {
      const written = before
        ? await tx.finvizConfig.updateMany({ where: { deployment, version: before.version }, data: row })
        : await tx.finvizConfig.createMany({ data: [{ deployment, ...row }], skipDuplicates: true });
      if (written.count !== 1) return null;
      if (strategyId && after.url) {
        await tx.strategy.updateMany({ where: { id: strategyId, deployment }, data: { url: after.url, topN: after.top_n, refreshSec: after.refresh, updatedAt: row.updatedAt } });
      }
      await tx.finvizConfigAudit.create({
        data: {
          deployment, actor: who.actor, ip: who.ip, userAgent: who.userAgent,
          before: before ? auditable(before) : undefined,
          after: auditable(after),
        },
      });
      return storedOf(row);
    });
  }
}
