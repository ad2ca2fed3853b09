import { randomUUID } from 'node:crypto';
import { deploymentOf, environmentFinvizConfig, redactUrl, type Config, type FinvizConfigValues, type StoredFinvizConfig } from '@tsp/core';
import { Prisma, type PrismaClient } from '../generated/client';
import { FinvizConfigStore, type FinvizConfigActor } from './finviz-config-store';

/**
 * The one owner of `strategies`: named Finviz screeners (URL, top_n, refresh), one row each per
 * deployment (KEY_PREFIX). Exactly one is active once any exists: the one `finviz_config` links to,
 * whose values it holds (FinvizConfigStore writes both in one transaction), so activating a
 * strategy reaches every screener replica the way a config change does, and survives restarts.
 */

export interface StrategyValues {
  url: string;
  top_n: number;
  refresh: number;
}

export interface StrategyView extends StrategyValues {
  id: string;
  name: string;
  active: boolean;
  created_at: string;
  updated_at: string;
}

/** What a change is written in the admin-action log as: the URL's credentials masked. */
export function auditableStrategy(view: StrategyView | null): Record<string, unknown> | null {
  return view && { ...view, url: redactUrl(view.url) };
}

export class StrategyNotFoundError extends Error {
  constructor(readonly id: string) {
    super(`no strategy ${id}`);
    this.name = 'StrategyNotFoundError';
  }
}

export class StrategyNameTakenError extends Error {
  constructor(readonly strategyName: string) {
    super(`a strategy named "${strategyName}" exists already`);
    this.name = 'StrategyNameTakenError';
  }
}

/** The active strategy cannot be deleted: the screener would have nothing to scrape. */
export class ActiveStrategyError extends Error {
  constructor(readonly id: string) {
    super(`strategy ${id} is active: activate another one before deleting it`);
    this.name = 'ActiveStrategyError';
  }
}

interface StrategyRow {
  id: string;
  name: string;
  url: string;
  topN: number;
  refreshSec: number;
  createdAt: Date;
  updatedAt: Date;
}

/** The name the config in force takes when the first strategy list is read. */
const FIRST_STRATEGY_NAME = 'default';
const UNIQUE_VIOLATION = 'P2002';

export class StrategyStore {
  private readonly configs: FinvizConfigStore;

  private readonly deployment: string;

  constructor(private readonly prisma: PrismaClient, deployment: string, private readonly config: Config) {
    this.deployment = deploymentOf(deployment);
    this.configs = new FinvizConfigStore(prisma, deployment);
  }

  /**
   * Every strategy, oldest first. The first read of a deployment that has a config in force (set
   * through /finviz/config or the environment) and no strategy yet makes it the strategy
   * "default", active: the screener keeps scraping what it scraped.
   */
  async list(who: FinvizConfigActor): Promise<StrategyView[]> {
    let [rows, active] = await Promise.all([this.rows(), this.configs.read()]);
    if (rows.length === 0) {
      const inForce = active ?? environmentFinvizConfig(this.config);
      if (inForce.url) {
        await this.adopt(inForce, who);
        [rows, active] = await Promise.all([this.rows(), this.configs.read()]);
      }
    }
    return rows.map((row) => viewOf(row, active));
  }

  /** The active strategy, or null (none yet). */
  async active(): Promise<StrategyView | null> {
    const config = await this.configs.read();
    if (!config?.strategy_id) return null;
    const row = await this.prisma.strategy.findFirst({ where: { id: config.strategy_id, deployment: this.deployment } });
    return row ? viewOf(row, config) : null;
  }

  async get(id: string): Promise<StrategyView> {
    const [row, active] = await Promise.all([this.row(id), this.configs.read()]);
    return viewOf(row, active);
  }

  /** A new strategy; the first one of a deployment becomes active at once. */
  async create(name: string, values: StrategyValues, who: FinvizConfigActor): Promise<{ strategy: StrategyView; config: StoredFinvizConfig | null }> {
    const created = await this.insert(name, values);
    const active = await this.configs.read();
    if (active?.strategy_id) return { strategy: viewOf(created, active), config: null };
    const config = await this.configs.activate(created.id, values, who);
    return { strategy: viewOf(created, config), config };
  }

  /** Changes a strategy; the active one's change is the screener's new config (answered in `config`). */
  async update(id: string, change: Partial<StrategyValues> & { name?: string }, who: FinvizConfigActor): Promise<{ strategy: StrategyView; config: StoredFinvizConfig | null }> {
    const row = await this.row(id);
    const values: StrategyValues = { url: change.url ?? row.url, top_n: change.top_n ?? row.topN, refresh: change.refresh ?? row.refreshSec };
    try {
      await this.prisma.strategy.update({
        where: { id },
        data: { name: change.name ?? row.name, url: values.url, topN: values.top_n, refreshSec: values.refresh, updatedAt: new Date() },
      });
    } catch (error) {
      throw this.nameTaken(error, change.name ?? row.name);
    }
    const active = await this.configs.read();
    const config = active?.strategy_id === id ? await this.configs.activate(id, values, who) : null;
    return { strategy: await this.get(id), config };
  }

  async remove(id: string): Promise<StrategyView> {
    const before = await this.get(id);
    if (before.active) throw new ActiveStrategyError(id);
    await this.prisma.strategy.deleteMany({ where: { id, deployment: this.deployment } });
    return before;
  }

  /** A copy under a new name ("<name> (copy)", numbered if taken), not active. */
  async duplicate(id: string, name: string | undefined): Promise<StrategyView> {
    const source = await this.row(id);
    const values = { url: source.url, top_n: source.topN, refresh: source.refreshSec };
    if (name) return viewOf(await this.insert(name, values), await this.configs.read());
    for (let n = 1; ; n++) {
      const candidate = `${source.name.slice(0, 90)} (copy${n > 1 ? ` ${n}` : ''})`;
      try {
        return viewOf(await this.insert(candidate, values), await this.configs.read());
      } catch (error) {
        if (!(error instanceof StrategyNameTakenError) || n >= 100) throw error;
      }
    }
  }

  /** Makes the strategy the screener's config, for every replica (announced by the caller). */
  async activate(id: string, who: FinvizConfigActor): Promise<{ strategy: StrategyView; config: StoredFinvizConfig }> {
    const row = await this.row(id);
    const config = await this.configs.activate(id, { url: row.url, top_n: row.topN, refresh: row.refreshSec }, who);
    return { strategy: viewOf(row, config), config };
  }

  private async adopt(values: FinvizConfigValues, who: FinvizConfigActor): Promise<void> {
    let created: StrategyRow;
    try {
      created = await this.insert(FIRST_STRATEGY_NAME, { url: values.url!, top_n: values.top_n, refresh: values.refresh });
    } catch (error) {
      // Another replica adopted it at the same moment.
      if (error instanceof StrategyNameTakenError) return;
      throw error;
    }
    await this.configs.activate(created.id, values, who);
  }

  private async insert(name: string, values: StrategyValues): Promise<StrategyRow> {
    const now = new Date();
    try {
      return await this.prisma.strategy.create({
        data: { id: randomUUID(), deployment: this.deployment, name, url: values.url, topN: values.top_n, refreshSec: values.refresh, createdAt: now, updatedAt: now },
      });
    } catch (error) {
      throw this.nameTaken(error, name);
    }
  }

  private nameTaken(error: unknown, name: string): unknown {
    return error instanceof Prisma.PrismaClientKnownRequestError && error.code === UNIQUE_VIOLATION ? new StrategyNameTakenError(name) : error;
  }

  private rows(): Promise<StrategyRow[]> {
    return this.prisma.strategy.findMany({ where: { deployment: this.deployment }, orderBy: [{ createdAt: 'asc' }, { id: 'asc' }] });
  }

  private async row(id: string): Promise<StrategyRow> {
    const row = await this.prisma.strategy.findFirst({ where: { id, deployment: this.deployment } });
    if (!row) throw new StrategyNotFoundError(id);
    return row;
  }
}

function viewOf(row: StrategyRow, active: StoredFinvizConfig | null): StrategyView {
  return {
    id: row.id, name: row.name, url: row.url, top_n: row.topN, refresh: row.refreshSec,
    active: active?.strategy_id === row.id, created_at: row.createdAt.toISOString(), updated_at: row.updatedAt.toISOString(),
  };
}
