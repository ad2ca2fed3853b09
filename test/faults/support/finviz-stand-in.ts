import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { freePort } from './free-port';

const FIXTURES = path.join(__dirname, '../../../fixtures/finviz');
const PAGE_FILE = 'finviz-screener-v111-2026.html';

/** The tickers of the saved screener page, in rank order: its Top-N is the first N. */
export const PAGE_TICKERS: string[] = JSON.parse(fs.readFileSync(path.join(FIXTURES, 'tickers.json'), 'utf8'))[PAGE_FILE];

/** A local HTTP server standing in for Finviz: it serves a saved screener page to the screener process. */
export class FinvizStandIn {
  private constructor(private readonly server: http.Server, readonly port: number) {}

  static async start(): Promise<FinvizStandIn> {
    const page = fs.readFileSync(path.join(FIXTURES, PAGE_FILE), 'utf8');
    const server = http.createServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/html' });
      res.end(page);
    });
    const port = await freePort();
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', resolve);
    });
    return new FinvizStandIn(server, port);
  }

  /** A screener URL the screener accepts (FINVIZ_ALLOWED_HOSTS must name 127.0.0.1). */
  get url(): string {
    return `http://127.0.0.1:${this.port}/screener?v=111&f=ta_gap_u5&o=-change`;
  }

  close(): Promise<void> {
    this.server.closeAllConnections();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}
