/**
 * The admin console in a real browser (Debian's Chromium, driven by playwright-core) against the
 * real relay: ingest, screener, approver and forwarder on real Redis and Postgres, a local stand-in
 * for Finviz serving a saved screener page and a local destination. Screenshots of each step go to
 * test-artifacts/console/ (git-ignored).
 */
import fs from 'node:fs';
import path from 'node:path';
import request from 'supertest';
import { chromium, type Browser, type Page } from 'playwright-core';
import { createLogger, loadConfig, type RunningService } from '@tsp/core';
import { createAuditPool } from '@tsp/db';
import { startScreener } from '../services/screener/src/service';
import { startApprover } from '../services/approver/src/service';
import { startForwarder } from '../services/forwarder/src/service';
import { startIngest } from '../services/ingest/src/service';
import { fixturePage, fixtureTickers } from '../services/screener/test/fixtures';
import { deletePrefixKeys, startLocalServer, uniquePrefix, waitFor, type LocalServer } from './support/helpers';

const ADMIN = 'console-browser-admin-token';
const PAGE = 'finviz-screener-v111-2026.html';
const TICKERS = fixtureTickers()[PAGE];
const TOP_N = 5;
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const ARTIFACTS = path.join(__dirname, '..', 'test-artifacts', 'console');
const STEP_MS = 20_000;

jest.setTimeout(60_000);

/** A row as the browser has it (this file is type-checked without the DOM's types). */
type Dataset = { dataset: Record<string, string | undefined> };

describe('the admin console in a browser', () => {
  const prefix = uniquePrefix('console-ui');
  const pool = createAuditPool(process.env.DATABASE_URL!);
  const services: RunningService[] = [];
  let finviz: LocalServer;
  let destination: LocalServer;
  /** While true, the destination refuses deliveries for good (422): they die at once. */
  let destinationRefuses = false;
  let url: string;
  /** Where the test itself reads signals (another replica while the browser's ingest is down). */
  let apiUrl: string | null = null;
  /** The relay's environment: a restarted ingest gets the same. */
  let relayEnv: Record<string, string | undefined>;
  let browser: Browser;
  let page: Page;
  /** Everything the browser reported as an error (a CSP violation, a failed module, an exception). */
  const browserErrors: string[] = [];

  const send = async (body: Record<string, unknown>) => {
    const res = await request(url).post('/webhook/in').send(body);
    expect(res.status).toBe(202);
    return res.body.id as string;
  };
  const signal = async (id: string) => (await request(apiUrl ?? url).get(`/signals/${id}`).set('Authorization', `Bearer ${ADMIN}`)).body as { status: string; reason: string | null };
  const shot = (name: string) => page.screenshot({ path: path.join(ARTIFACTS, `${name}.png`), fullPage: true });
  const confirm = async () => {
    await page.locator('#confirm[open] #confirm-ok').click();
    await page.locator('#confirm[open]').waitFor({ state: 'detached', timeout: 5000 }).catch(() => undefined);
  };
  const row = (id: string) => page.locator(`#signals-table tbody tr[data-id="${id}"]`);

  beforeAll(async () => {
    if (!fs.existsSync(CHROMIUM)) throw new Error(`No Chromium at ${CHROMIUM}: apt-get install -y chromium (Debian), or set CHROMIUM_PATH`);
    fs.mkdirSync(ARTIFACTS, { recursive: true });
    finviz = await startLocalServer(() => ({ status: 200, body: fixturePage(PAGE), headers: { 'content-type': 'text/html' } }));
    destination = await startLocalServer(() => (destinationRefuses ? { status: 422, body: '{"success":false,"messageCode":"invalid"}' } : { status: 200, body: '{"ok":true}' }));
    relayEnv = {
      ...process.env,
      KEY_PREFIX: prefix, INGEST_PORT: '0', SCREENER_PORT: '0', APPROVER_PORT: '0', FORWARDER_PORT: '0',
      FINVIZ_URL: `${finviz.url}/screener?v=111&f=ta_gap_u5&o=-change`, FINVIZ_REFRESH_SEC: '1', FINVIZ_PAGE_DELAY_MS: '0', TOP_N: String(TOP_N),
      FINVIZ_ALLOWED_HOSTS: `finviz.com,127.0.0.1:${finviz.port}`,
      DEST_WEBHOOK_URL: `${destination.url}/hook`, DEST_WEBHOOK_MAX_REQ_PER_MIN: '6000', ADMIN_TOKEN: ADMIN, WEBHOOK_AUTH: 'none',
    };
    const config = loadConfig(relayEnv);
    const logger = createLogger('console-ui', 'error');
    services.push(await startScreener(config, logger), await startApprover(config, logger), await startForwarder(config, logger));
    const ingest = await startIngest(config, logger);
    services.push(ingest);
    url = `http://127.0.0.1:${ingest.port}`;
    await waitFor(async () => (await request(url).get('/finviz/topn')).body.tickers?.length === TOP_N, 15_000, 'the first Top-N set');

    browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--headless', '--disable-gpu', '--disable-background-networking'] });
    page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
    page.on('console', (message) => {
      if (message.type() === 'error' && !message.text().startsWith('Failed to load resource')) browserErrors.push(message.text());
    });
    page.on('pageerror', (error) => browserErrors.push(error.message));
    page.on('response', (response) => {
      // 4xx answers to bad input are part of the test (a refused top_n); a missing file or a server error is not,
      // except the live feed's 503 from an ingest that is stopping (the console then reconnects by itself).
      const restarting = response.status() === 503 && new URL(response.url()).pathname === '/admin/events';
      if ((response.status() >= 500 && !restarting) || response.status() === 404) browserErrors.push(`${response.status()} ${response.url()}`);
    });
  });

  afterAll(async () => {
    await browser?.close();
    for (const service of services.reverse()) await service.stop();
    await finviz?.close();
    await destination?.close();
    await pool.query('DELETE FROM signals WHERE deployment = $1', [prefix]);
    await pool.query('DELETE FROM admin_actions WHERE deployment = $1', [prefix]);
    await pool.query('DELETE FROM topn_snapshots WHERE deployment = $1', [prefix]);
    await pool.query('DELETE FROM finviz_config WHERE deployment = $1', [prefix]).catch(() => undefined);
    await pool.end();
    await deletePrefixKeys(prefix);
  });

  it('is refused with a wrong token: the form says so and no console is shown', async () => {
    const stranger = await browser.newPage();
    try {
      await stranger.goto(`${url}/admin`);
      await stranger.fill('input[name="token"]', 'not-the-token');
      await stranger.click('button[type="submit"]');
      await stranger.getByText('Wrong token.').waitFor({ timeout: 5000 });
      expect(await stranger.locator('#tabs').count()).toBe(0);
      await stranger.screenshot({ path: path.join(ARTIFACTS, '00-wrong-token.png') });
      // Nor does the console's script load without a session.
      expect((await stranger.request.get(`${url}/admin/assets/app.js`)).status()).toBe(401);
    } finally {
      await stranger.close();
    }
  });

  it('signs in and shows a freshly posted signal at once, turning delivered without a reload', async () => {
    await page.goto(`${url}/admin`);
    await page.fill('input[name="token"]', ADMIN);
    await page.click('button[type="submit"]');
    await page.locator('#feed-state[data-state="live"]').waitFor({ timeout: STEP_MS });
    // Marks this document: a reload would lose the mark.
    await page.evaluate(() => { (globalThis as unknown as { loadedOnce: boolean }).loadedOnce = true; });

    const posted = Date.now();
    const id = await send({ ticker: TICKERS[0], side: 'buy', price: 12.5, strategy: 'console-e2e' });
    await row(id).waitFor({ timeout: STEP_MS });
    const appearedMs = Date.now() - posted;
    await page.locator(`#signals-table tbody tr[data-id="${id}"][data-status="forwarded"]`).waitFor({ timeout: STEP_MS });
    expect(await row(id).locator('.status').textContent()).toBe('delivered');
    expect(await row(id).locator('td.ticker').textContent()).toBe(TICKERS[0]);
    expect(await page.evaluate(() => (globalThis as unknown as { loadedOnce?: boolean }).loadedOnce)).toBe(true);
    console.log(`console: the signal appeared ${appearedMs} ms after its 202`);
    await shot('01-live-list');
  });

  it('filters by ticker and opens the detail view: body as received, decision, the judged set with its ticker marked, each attempt', async () => {
    const other = await send({ ticker: TICKERS[1], side: 'buy' });
    const mine = await send({ ticker: TICKERS[2], side: 'buy', price: 7, note: 'detail-view' });
    await page.locator(`#signals-table tbody tr[data-id="${mine}"][data-status="forwarded"]`).waitFor({ timeout: STEP_MS });
    await row(other).waitFor({ timeout: STEP_MS });

    await page.fill('#signal-filters input[name="ticker"]', TICKERS[2].toLowerCase());
    await page.click('#signal-filters button[type="submit"]');
    await waitFor(async () => (await row(other).count()) === 0, STEP_MS, 'the other ticker to leave the list');
    const tickers = await page.locator('#signals-table tbody tr').evaluateAll((rows) => rows.map((r) => (r as unknown as Dataset).dataset.ticker));
    expect(tickers.length).toBeGreaterThan(0);
    expect(new Set(tickers)).toEqual(new Set([TICKERS[2]]));

    await row(mine).click();
    await page.locator('#detail-title').getByText(`${TICKERS[2]} BUY`).waitFor({ timeout: STEP_MS });
    const body = JSON.parse((await page.locator('#detail-received-body').textContent())!);
    expect(body).toEqual({ ticker: TICKERS[2], side: 'buy', price: 7, note: 'detail-view' });
    expect(await page.locator('#signal-detail dl').textContent()).toContain('approved (topn)');
    expect(await page.locator('#detail-snapshot li.hit').textContent()).toBe(`${TICKERS[2]} ◀ this signal`);
    expect(await page.locator('#detail-snapshot li').count()).toBe(TOP_N);
    const attempt = await page.locator('#detail-deliveries tbody tr').first().locator('td').allTextContents();
    expect(attempt[0]).toBe('1');
    expect(attempt[2]).toBe('200');
    await shot('02-filter-and-detail');
    await page.click('#detail-close');
    await page.click('#filters-clear');
  });

  it('changes top_n through the config form, shows a refusal in place, then the new set', async () => {
    await page.click('#tabs a[data-tab="topn"]');
    await page.locator('#topn-list li').first().waitFor({ timeout: STEP_MS });
    expect(await page.locator('#topn-list li').count()).toBe(TOP_N);
    expect(await page.locator('#config-meta').textContent()).toContain(`127.0.0.1:${finviz.port}`);

    await page.fill('#config-form input[name="top_n"]', '0');
    await page.click('#config-form button[type="submit"]');
    await confirm();
    await page.locator('#config-form .field-error[data-for="top_n"]').filter({ hasText: /\S/ }).waitFor({ timeout: STEP_MS });
    expect(await page.locator('#config-form input[name="top_n"].invalid').count()).toBe(1);

    await page.fill('#config-form input[name="top_n"]', '8');
    await page.click('#config-form button[type="submit"]');
    await confirm();
    await page.locator('#config-message').getByText('the new set (top 8) is in force').waitFor({ timeout: STEP_MS });
    expect(await page.locator('#topn-list li').allTextContents()).toEqual(TICKERS.slice(0, 8));
    expect(await page.locator('#config-form .field-error[data-for="top_n"]').textContent()).toBe('');
    const history = await page.locator('#topn-history tbody tr').first().locator('td.entered').textContent();
    await waitFor(async () => (await page.locator('#topn-history tbody tr').first().locator('td.entered').textContent())?.includes(TICKERS[7]), STEP_MS, `the history to show ${TICKERS[7]} entering (was ${history})`);
    await shot('03-topn-changed');
  });

  it('creates, duplicates and edits strategies, a refused value shown beside its field', async () => {
    await page.click('#tabs a[data-tab="strategies"]');
    const form = page.locator('#strategy-form');
    await form.locator('input[name="name"]').fill('Gappers');
    await form.locator('input[name="url"]').fill(`${finviz.url}/screener?v=111&f=ta_gap_u5&o=-change`);
    await form.locator('input[name="top_n"]').fill('8');
    await form.locator('input[name="refresh"]').fill('1');
    await form.locator('button[type="submit"]').click();
    await confirm();
    const gappers = page.locator('#strategy-table tbody tr[data-name="Gappers"]');
    await gappers.waitFor({ timeout: STEP_MS });
    // The config changed above is the strategy "default", still the active one.
    await page.locator('#strategy-table tbody tr[data-name="default"] strong').getByText('active').waitFor({ timeout: STEP_MS });
    await gappers.getByRole('button', { name: 'Activate' }).click();
    await confirm();
    await gappers.locator('strong').getByText('active').waitFor({ timeout: STEP_MS });
    expect(await page.locator('#strategy-table tbody tr[data-name="default"]').getByRole('button', { name: 'Activate' }).count()).toBe(1);

    await page.locator('#strategy-table tbody tr[data-name="Gappers"]').getByRole('button', { name: 'Duplicate' }).click();
    await page.fill('#confirm-input', 'Gappers, wider');
    await confirm();
    const copy = page.locator('#strategy-table tbody tr[data-name="Gappers, wider"]');
    await copy.waitFor({ timeout: STEP_MS });
    expect(await copy.getByRole('button', { name: 'Activate' }).count()).toBe(1);

    await copy.getByRole('button', { name: 'Edit' }).click();
    await form.locator('input[name="top_n"]').fill('5000');
    await form.locator('button[type="submit"]').click();
    await confirm();
    await form.locator('.field-error[data-for="top_n"]').filter({ hasText: /\S/ }).waitFor({ timeout: STEP_MS });
    await form.locator('input[name="top_n"]').fill('12');
    await form.locator('button[type="submit"]').click();
    await confirm();
    await page.locator('#strategy-table tbody tr[data-name="Gappers, wider"] td').nth(2).getByText('12').waitFor({ timeout: STEP_MS });
    await shot('04-strategies');
    // The active strategy (Gappers, top 8) is untouched by the copy's edit.
    const config = (await request(url).get('/finviz/config').set('Authorization', `Bearer ${ADMIN}`)).body;
    expect(config.top_n).toBe(8);
  });

  it('pauses delivery (an approved signal waits), then resumes it (the signal is delivered)', async () => {
    await page.click('#tabs a[data-tab="operations"]');
    await page.locator('#queue-table tr[data-queue="forward"]').waitFor({ timeout: STEP_MS });
    await page.click('#delivery-pause');
    await confirm();
    await page.locator('#delivery-state[data-paused="true"]').waitFor({ timeout: STEP_MS });
    expect((await request(url).get('/status')).body.delivery_paused).toBe(true);

    const id = await send({ ticker: TICKERS[3], side: 'buy' });
    await waitFor(async () => (await signal(id)).status === 'approved', STEP_MS, 'the signal approved');
    await new Promise((resolve) => setTimeout(resolve, 1000));
    expect((await signal(id)).status).toBe('approved');
    await shot('05-delivery-paused');

    await page.click('#delivery-resume');
    await confirm();
    await page.locator('#delivery-state[data-paused="false"]').waitFor({ timeout: STEP_MS });
    await waitFor(async () => (await signal(id)).status === 'forwarded', STEP_MS, 'the waiting signal delivered');
  });

  it('shows the cap in use, and refreshes the screener on request', async () => {
    // Every request the destination took so far started within the hour (the minute's count may have slid).
    await waitFor(async () => Number(await page.locator('#cap-use').getAttribute('data-hour')) === destination.received.length, STEP_MS, `the cap use to say ${destination.received.length}`);
    expect(await page.locator('#cap-use').textContent()).toMatch(/^Cap use: \d+ of 6000 in the last 61 s, \d+ of 500 in the last 3601 s$/);
    await page.click('#screener-refresh');
    await confirm();
    await page.locator('#screener-refresh-state[data-outcome="ok"]').waitFor({ timeout: STEP_MS });
    expect(await page.locator('#screener-refresh-state').textContent()).toMatch(/^Refresh asked for at .+: ok at .+, (a new set was published|the set is unchanged)\.$/);
    await shot('05-operations-cap-and-refresh');
  });

  it('replays a dead letter, which is then delivered', async () => {
    destinationRefuses = true;
    const id = await send({ ticker: TICKERS[4], side: 'buy' });
    await waitFor(async () => (await signal(id)).status === 'dead', STEP_MS, 'the delivery dead');
    destinationRefuses = false;
    await page.locator(`#dead-table tbody tr[data-id="${id}"]`).waitFor({ timeout: STEP_MS });
    await shot('06-dead-letter');
    await page.locator(`#dead-table tbody tr[data-id="${id}"] button`).click();
    await confirm();
    await page.locator('#dead-message').getByText('queued for delivery again').waitFor({ timeout: STEP_MS });
    await waitFor(async () => (await signal(id)).status === 'forwarded', STEP_MS, 'the replayed signal delivered');
    await page.locator(`#dead-table tbody tr[data-id="${id}"]`).waitFor({ state: 'detached', timeout: STEP_MS });
    // Its row in the live list followed: dead, then delivered.
    await page.click('#tabs a[data-tab="signals"]');
    await page.locator(`#signals-table tbody tr[data-id="${id}"][data-status="forwarded"]`).waitFor({ timeout: STEP_MS });
    await shot('06-signals-after-replay');
  });

  it('exits a position, closes one without a trade, and opens one without a trade', async () => {
    await page.click('#tabs a[data-tab="operations"]');
    const position = (ticker: string) => page.locator(`#positions-table tbody tr[data-ticker="${ticker}"]`);
    await position(TICKERS[0]).waitFor({ timeout: STEP_MS });
    await position(TICKERS[0]).getByRole('button', { name: 'Exit' }).click();
    await confirm();
    await page.locator('#positions-message').getByText(`Exit of ${TICKERS[0]} queued.`).waitFor({ timeout: STEP_MS });
    // The SELL is delivered, which closes the position.
    await position(TICKERS[0]).waitFor({ state: 'detached', timeout: STEP_MS });
    const exits = destination.received.filter((r) => JSON.parse(r.body).action === 'exit').map((r) => JSON.parse(r.body).ticker);
    expect(exits).toEqual([TICKERS[0]]);

    await position(TICKERS[1]).getByRole('button', { name: 'Close without trade' }).click();
    await confirm();
    await position(TICKERS[1]).waitFor({ state: 'detached', timeout: STEP_MS });

    await page.fill('#open-position input[name="ticker"]', 'nasdaq:brk.b');
    await page.fill('#open-position input[name="price"]', '-3');
    await page.click('#open-position button[type="submit"]');
    await confirm();
    await page.locator('#open-position input[name="price"].invalid').waitFor({ timeout: STEP_MS });
    await page.fill('#open-position input[name="price"]', '410.5');
    await page.click('#open-position button[type="submit"]');
    await confirm();
    await position('BRK-B').waitFor({ timeout: STEP_MS });
    // Nothing but the exit reached the destination.
    expect(destination.received.filter((r) => JSON.parse(r.body).side === 'SELL')).toHaveLength(1);
    await shot('07-positions');
  });

  it('logs each change the console made in the admin-action log, by its session', async () => {
    await page.click('#tabs a[data-tab="actions"]');
    await page.locator('#action-table tbody tr[data-action="dead_letter.replay"]').waitFor({ timeout: STEP_MS });
    const actions = await page.locator('#action-table tbody tr').evaluateAll((rows) => rows.map((r) => (r as unknown as Dataset).dataset.action));
    expect(actions).toEqual(expect.arrayContaining(['finviz_config.update', 'strategy.create', 'strategy.activate', 'strategy.duplicate', 'strategy.update', 'delivery.pause', 'delivery.resume', 'screener.refresh', 'dead_letter.replay', 'manual_sell.individual', 'position.close', 'position.open']));
    expect(await page.locator('#action-table tbody tr[data-action="delivery.pause"]').textContent()).toContain('admin_session');
    await page.click('#tabs a[data-tab="charts"]');
    await page.locator('#chart-outcomes canvas').waitFor({ timeout: STEP_MS });
    expect(await page.locator('#chart-message').textContent()).toMatch(/^\d+ signals in the last 60 minutes/);
    await shot('08-charts');
  });

  it('shows a rejection live with its reason, beside the delivered signals', async () => {
    await page.click('#tabs a[data-tab="signals"]');
    const id = await send({ ticker: 'ZZZZ', side: 'buy' });
    await page.locator(`#signals-table tbody tr[data-id="${id}"][data-status="rejected"]`).waitFor({ timeout: STEP_MS });
    expect(await row(id).locator('td').nth(6).textContent()).toBe('not_in_topn');
    // A signal of its own to open, judged on a Top-N set that ranks it (an earlier row could be a manual exit, with none).
    const deliveredId = await send({ ticker: TICKERS[0], side: 'buy' });
    const delivered = page.locator(`#signals-table tbody tr[data-id="${deliveredId}"][data-status="forwarded"]`);
    await delivered.waitFor({ timeout: STEP_MS });
    await delivered.click();
    await page.locator('#detail-snapshot li.hit').waitFor({ timeout: STEP_MS });
    // The README's picture of the console (docs/console.png is a copy of it).
    await shot('09-overview');
  });

  it('reconnects after its ingest restarts and catches up on what happened meanwhile, without a reload', async () => {
    await page.click('#tabs a[data-tab="signals"]');
    const logger = createLogger('console-ui', 'error');
    const port = Number(new URL(url).port);
    // Another replica takes the signal while the browser's ingest is down.
    const replica = await startIngest(loadConfig({ ...relayEnv, INGEST_PORT: '0' }), logger);
    services.push(replica);
    const first = services.find((service) => (service as { port?: number }).port === port)!;
    await first.stop();
    services.splice(services.indexOf(first), 1);
    await page.locator('#feed-state[data-state="reconnecting"]').waitFor({ timeout: STEP_MS });
    apiUrl = `http://127.0.0.1:${replica.port}`;
    const res = await request(apiUrl).post('/webhook/in').send({ ticker: TICKERS[5], side: 'buy' });
    expect(res.status).toBe(202);
    const id = res.body.id as string;
    await waitFor(async () => (await signal(id)).status === 'forwarded', STEP_MS, 'the signal delivered while the browser was cut off');
    expect(await row(id).count()).toBe(0);

    services.push(await startIngest(loadConfig({ ...relayEnv, INGEST_PORT: String(port) }), logger));
    await page.locator('#feed-state[data-state="live"]').waitFor({ timeout: STEP_MS });
    await page.locator(`#signals-table tbody tr[data-id="${id}"][data-status="forwarded"]`).waitFor({ timeout: STEP_MS });
    expect(await page.evaluate(() => (globalThis as unknown as { loadedOnce?: boolean }).loadedOnce)).toBe(true);
  });

  it('ran without a script error or a Content-Security-Policy violation', () => {
    expect(browserErrors).toEqual([]);
  });
});
