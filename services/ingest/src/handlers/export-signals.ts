import { errorResponse, type HttpRequest, type HttpResponse } from '@tsp/core';
import { searchSignals, signalPages, type SignalView } from '@tsp/db';
import type { IngestContext } from '../ingest-context';
import { signalFilterOf, type SignalExportQuery } from '../api-schemas';
import { signalCsvHeader, signalCsvRows } from '../export/signal-csv';

/**
 * Rows read from Postgres at a time: the export holds one page (and what the socket has not taken
 * yet), whatever the number of signals. A parameter so a test can see the paging.
 */
export const EXPORT_PAGE_SIZE = 1000;

interface ExportFormat {
  extension: 'csv' | 'ndjson';
  contentType: string;
  header: () => string;
  rows: (views: SignalView[]) => string;
}

export const CSV: ExportFormat = { extension: 'csv', contentType: 'text/csv; charset=utf-8', header: signalCsvHeader, rows: signalCsvRows };
export const NDJSON: ExportFormat = {
  extension: 'ndjson', contentType: 'application/x-ndjson; charset=utf-8', header: () => '',
  rows: (views) => views.map((view) => `${JSON.stringify(view)}\n`).join(''),
};

/**
 * GET /signals.csv and /signals.ndjson — every signal the filters of /signals match, newest first,
 * streamed from Postgres a page at a time. The first page is read before answering, so an outage
 * is a 503, not a 200 with an empty file; a failure later cuts the body short (no final chunk),
 * which clients report as an incomplete download.
 */
export function exportSignals(ctx: IngestContext, format: ExportFormat, pageSize = EXPORT_PAGE_SIZE) {
  return async (req: HttpRequest<SignalExportQuery>): Promise<HttpResponse> => {
    if (req.query.status === 'queued') {
      return errorResponse(400, 'invalid_query', 'Invalid query: status', [{ field: 'status', message: 'queued signals are not in the audit trail yet; list them with GET /signals?status=queued' }]);
    }
    const filter = signalFilterOf(req.query);
    const first = await searchSignals(ctx.searchPool, ctx.config.keyPrefix, filter, { limit: pageSize });
    const pages = signalPages(ctx.searchPool, ctx.config.keyPrefix, filter, pageSize, first);
    const stamp = new Date().toISOString().replace(/[:.]/g, '-');
    return {
      status: 200,
      contentType: format.contentType,
      headers: { 'Content-Disposition': `attachment; filename="signals-${stamp}.${format.extension}"`, 'Cache-Control': 'no-store' },
      stream: (async function* () {
        const header = format.header();
        if (header) yield header;
        for await (const views of pages) yield format.rows(views);
      })(),
    };
  };
}
