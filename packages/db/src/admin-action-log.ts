import { deploymentOf, type AdminActionEnd, type AdminActionRecorder, type AdminActionStart } from '@tsp/core';
import { Prisma, type PrismaClient } from '../generated/client';

/** A row of the admin-action log, as list() returns it. */
export interface AdminActionRow {
  id: string;
  at: Date;
  tokenKind: string;
  principal: string;
  address: string | null;
  action: string;
  target: string | null;
  before: unknown;
  after: unknown;
  outcome: string;
  httpStatus: number | null;
  finishedAt: Date | null;
}

export interface AdminActionFilter {
  action?: string;
  from?: Date;
  to?: Date;
}

/** Where a page starts: after the row (at, id) the previous page ended with. */
export interface AdminActionCursor {
  at: Date;
  id: string;
}

/** Prisma stores JSON null only as this; a missing before/after is SQL NULL. */
const json = (value: unknown) => (value === null || value === undefined ? Prisma.DbNull : (value as Prisma.InputJsonValue));

/**
 * The one owner of `admin_actions`: every state-changing admin action of a deployment (KEY_PREFIX),
 * written 'started' before it runs and finished after (see core's admin-actions.ts), listed newest
 * first in keyset pages.
 */
export class AdminActionLog implements AdminActionRecorder {
  private readonly deployment: string;

  constructor(private readonly prisma: PrismaClient, deployment: string) {
    this.deployment = deploymentOf(deployment);
  }

  async begin(start: AdminActionStart): Promise<string> {
    const row = await this.prisma.adminAction.create({ data: { ...this.startData(start), outcome: 'started' }, select: { id: true } });
    return row.id.toString();
  }

  async finish(id: string, end: AdminActionEnd): Promise<void> {
    await this.prisma.adminAction.update({ where: { id: BigInt(id) }, data: this.endData(end) });
  }

  async record(start: AdminActionStart, end: AdminActionEnd): Promise<void> {
    await this.prisma.adminAction.create({ data: { ...this.startData(start), ...this.endData(end) } });
  }

  /** Newest first; `limit` rows after `cursor`, and whether more follow. */
  async list(filter: AdminActionFilter, page: { limit: number; cursor?: AdminActionCursor }): Promise<{ rows: AdminActionRow[]; more: boolean }> {
    const where: Prisma.AdminActionWhereInput = {
      deployment: this.deployment,
      action: filter.action,
      at: { gte: filter.from, lte: filter.to },
    };
    if (page.cursor) {
      const id = BigInt(page.cursor.id);
      where.OR = [{ at: { lt: page.cursor.at } }, { at: page.cursor.at, id: { lt: id } }];
    }
    const rows = await this.prisma.adminAction.findMany({ where, orderBy: [{ at: 'desc' }, { id: 'desc' }], take: page.limit + 1 });
    return {
      rows: rows.slice(0, page.limit).map((row) => ({
        id: row.id.toString(), at: row.at, tokenKind: row.tokenKind, principal: row.principal, address: row.address, action: row.action,
        target: row.target, before: row.before, after: row.after, outcome: row.outcome, httpStatus: row.httpStatus, finishedAt: row.finishedAt,
      })),
      more: rows.length > page.limit,
    };
  }

  private startData(start: AdminActionStart) {
    return {
      deployment: this.deployment, tokenKind: start.tokenKind, principal: start.principal, address: start.address,
      action: start.action, target: start.target, before: json(start.before),
    };
  }

  private endData(end: AdminActionEnd) {
    return {
      outcome: end.outcome, httpStatus: end.httpStatus, after: json(end.after), finishedAt: new Date(),
      ...(end.before === undefined ? {} : { before: json(end.before) }),
    };
  }
}
