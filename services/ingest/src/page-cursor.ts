import { errorResponse } from '@tsp/core';

/**
 * Paging cursors for lists ordered newest first: the last item's (time, id), stable under
 * concurrent inserts, where an offset would skip or repeat rows.
 */
export interface PageCursor {
  at: Date;
  id: string;
}

export function encodeCursor(at: Date, id: string): string {
  return Buffer.from(`${at.toISOString()}|${id}`).toString('base64url');
}

export function decodeCursor(cursor: string): PageCursor | null {
  const [at, id] = Buffer.from(cursor, 'base64url').toString('utf8').split('|');
  const time = new Date(at ?? '');
  return id && !Number.isNaN(time.getTime()) ? { at: time, id } : null;
}

export const INVALID_CURSOR = errorResponse(400, 'invalid_query', 'Invalid query: cursor', [{ field: 'cursor', message: 'not a cursor this API gave out' }]);
