import { parseTicker } from '@tsp/core';
import { UnrecognisedPageError } from './screener-errors';

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
    // The rule a webhook's ticker is read by, so that the export's BRK-B (or BRK.B) meets it.
    const ticker = parseTicker((cells[column] ?? '').trim());
    if (!ticker.ok) {
      throw new UnrecognisedPageError(`row ${index + 1} of the export has no readable ticker: ${ticker.message}`);
    }
    return ticker.ticker;
  });
}
