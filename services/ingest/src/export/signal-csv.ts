import { stringify } from 'csv-stringify/sync';
import type { SignalView } from '@tsp/db';

/** The columns of GET /signals.csv, in order: a signal's view, its deliveries summed up. */
export const SIGNAL_CSV_COLUMNS = [
  'id', 'kind', 'ticker', 'side', 'price', 'time', 'received_at', 'status', 'reason', 'basis', 'rank', 'snapshot_id',
  'attempts', 'last_attempt_at', 'last_http_status', 'last_error',
] as const;

/**
 * CSV as RFC 4180 writes it (CRLF, quotes where needed), and with cells that begin with = + - @,
 * a tab or a CR prefixed by a single quote: a spreadsheet would run them as formulas, and an error
 * text or a passthrough value can begin with anything.
 */
const OPTIONS = { escape_formulas: true, record_delimiter: 'windows' } as const;

export function signalCsvHeader(): string {
  return stringify([[...SIGNAL_CSV_COLUMNS]], OPTIONS);
}

export function signalCsvRows(views: SignalView[]): string {
  return stringify(views.map((view) => {
    const last = view.deliveries[view.deliveries.length - 1];
    return [
      view.id, view.kind, view.ticker, view.side, view.price, view.time, view.received_at, view.status, view.reason, view.basis, view.rank, view.snapshot_id,
      view.deliveries.length, last?.at ?? null, last?.http_status ?? null, last?.error ?? null,
    ];
  }), OPTIONS);
}
