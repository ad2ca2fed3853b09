import { deploymentOf, type DestinationTarget } from '@tsp/core';
import type { PrismaClient } from '../generated/client';

/** A destination set at runtime, and when. */
export interface StoredDestination extends DestinationTarget {
  updatedAt: string;
}

/**
 * The one owner of `destination_setting`: the destination set at runtime, one row per deployment
 * (KEY_PREFIX). In Postgres, not Redis: a Redis that lost its data must not send trades back to
 * the environment's destination after an operator moved them.
 */
export class DestinationSettingStore {
  private readonly deployment: string;

  constructor(private readonly prisma: PrismaClient, deployment: string) {
    this.deployment = deploymentOf(deployment);
  }

  /** The destination set at runtime, or null (the environment's applies). */
  async read(): Promise<StoredDestination | null> {
    const row = await this.prisma.destinationSetting.findUnique({ where: { deployment: this.deployment } });
    return row ? { url: row.url, timeoutMs: row.timeoutMs, updatedAt: row.updatedAt.toISOString() } : null;
  }

  /** Forgets it: the environment's destination applies again. */
  async clear(): Promise<void> {
    await this.prisma.destinationSetting.deleteMany({ where: { deployment: this.deployment } });
  }

  async write(target: DestinationTarget): Promise<StoredDestination> {
    const values = { url: target.url, timeoutMs: target.timeoutMs, updatedAt: new Date() };
    const row = await this.prisma.destinationSetting.upsert({
      where: { deployment: this.deployment },
      create: { deployment: this.deployment, ...values },
      update: values,
    });
    return { url: row.url, timeoutMs: row.timeoutMs, updatedAt: row.updatedAt.toISOString() };
  }
}
