import { UnrecognisedPageError } from './screener-errors';

/** Finviz writes tickers as letters/digits with "-" or "." for share classes (BRK-B). */
const TICKER_SHAPE = /^[A-Z0-9][A-Z0-9.-]{0,14}$/;

/** RFC 4180 rows: quoted fields may hold commas, doubled quotes and line breaks. */
export function parseCsvRows(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < text.length; i += 1) {
    const char = text[i];
    if (quoted) {
      if (char === '"' && text[i + 1] === '"') {
        field += '"';
        i += 1;
      } else if (char === '"') {
        quoted = false;
      } else {
        field += char;
      }
    } else if (char === '"') {
      quoted = true;
    } else if (char === ',') {
      row.push(field);
      field = '';
    } else if (char === '\n' || char === '\r') {
      if (char === '\r' && text[i + 1] === '\n') i += 1;
      row.push(field);
      rows.push(row);
      row = [];
      field = '';
    } else {
      field += char;
    }
  }
  if (field !== '' || row.length > 0) {
    row.push(field);
    rows.push(row);
  }
  return rows.filter((cells) => cells.some((cell) => cell.trim() !== ''));
}

/**
 * The tickers of an Elite `export.ashx` CSV, in its row order. The first row is the header
 * (`"No.","Ticker","Company",…`): it names the column and is never read as a ticker.
 */
export function parseExportCsv(text: string): string[] {
  const body = text.replace(/^\uFEFF/, '');
  const [header, ...rows] = parseCsvRows(body);
  const column = header?.findIndex((cell) => cell.trim().toLowerCase() === 'ticker') ?? -1;
  if (!header || column < 0) {
    const start = body.trimStart().slice(0, 60).replace(/\s+/g, ' ');
    throw new UnrecognisedPageError(`the export is not a screener CSV with a "Ticker" column (starts with "${start}")`);
  }
  return rows.map((cells, index) => {
    const ticker = (cells[column] ?? '').trim().toUpperCase();
    if (!TICKER_SHAPE.test(ticker)) {
      throw new UnrecognisedPageError(`row ${index + 1} of the export has no readable ticker`);
    }
    return ticker;
  });
}
