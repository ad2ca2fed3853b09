import type { HttpRequest, HttpResponse } from '@tsp/core';
import type { AdminActionRow } from '@tsp/db';
import type { IngestContext } from '../ingest-context';
import type { AdminActionListQuery } from '../api-schemas';
import { decodeCursor, encodeCursor, INVALID_CURSOR } from '../page-cursor';

function viewOf(row: AdminActionRow) {
  return {
    id: row.id, at: row.at.toISOString(), token_kind: row.tokenKind, principal: row.principal, address: row.address, action: row.action,
    target: row.target, before: row.before ?? null, after: row.after ?? null, outcome: row.outcome, http_status: row.httpStatus,
    finished_at: row.finishedAt?.toISOString() ?? null,
  };
}

/** GET /admin/actions — the admin-action log, newest first, filtered, paged by cursor. */
export function listAdminActions(ctx: IngestContext) {
  return async (req: HttpRequest<AdminActionListQuery>): Promise<HttpResponse> => {
    const { query } = req;
    const cursor = query.cursor ? decodeCursor(query.cursor) : null;
    // Row ids are bigints: anything else was not given out by this route.
    if (query.cursor && !(cursor && /^[0-9]{1,18}$/.test(cursor.id))) return INVALID_CURSOR;
    const { rows, more } = await ctx.adminActions.list(
      { action: query.action, from: query.from ? new Date(query.from) : undefined, to: query.to ? new Date(query.to) : undefined },
      { limit: query.limit, cursor: cursor ?? undefined },
    );
    const last = rows[rows.length - 1];
    return { status: 200, body: { items: rows.map(viewOf), next_cursor: more && last ? encodeCursor(last.at, last.id) : null } };
  };
}
