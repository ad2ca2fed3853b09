import request from 'supertest';
import { createLogger, loadConfig } from '@tsp/core';
import { startIngest } from '../src/service';
import { FinvizConfigSchema, PositionsSchema, TopnHistorySchema } from '../src/api-schemas';
import { uniquePrefix } from '../../../test/support/helpers';
import { adminOperationsWithoutSecurity, documentedOperations, presentedApiDocument, registeredOperations, validateOpenApi } from '../../../test/support/openapi-validation';

describe('GET /openapi.json', () => {
  let ingest: Awaited<ReturnType<typeof startIngest>>;
  let url: string;

  beforeAll(async () => {
    ingest = await startIngest(loadConfig({ ...process.env, KEY_PREFIX: uniquePrefix('openapi'), INGEST_PORT: '0', ADMIN_TOKEN: 'openapi-admin' }), createLogger('ingest', 'error'));
    url = `http://127.0.0.1:${ingest.port}`;
  });
  afterAll(() => ingest.stop());

  it('describes every public route of the contract, with schemas generated from zod', async () => {
    const res = await request(url).get('/openapi.json');
    expect(res.status).toBe(200);
    expect(res.body.openapi).toBe('3.1.0');
    const operations = Object.entries(res.body.paths as Record<string, Record<string, unknown>>).flatMap(([path, ops]) => Object.keys(ops).map((m) => `${m.toUpperCase()} ${path}`));
    for (const route of [
      'POST /webhook/in', 'POST /sell/individual', 'POST /sell/all', 'GET /finviz/config', 'POST /finviz/config', 'GET /finviz/topn',
      'GET /finviz/topn/history', 'GET /positions', 'GET /openapi.json', 'GET /signals/{id}', 'GET /signals',
    ]) expect(operations).toContain(route);

    const webhook = res.body.paths['/webhook/in'].post;
    expect(Object.keys(webhook.requestBody.content)).toEqual(['application/json', 'text/plain']);
    expect(webhook.requestBody.content['application/json'].schema.required).toEqual(['ticker']);
    expect(Object.keys(webhook.responses)).toEqual(expect.arrayContaining(['202', '400', '401', '413', '415', '503']));
    const signal = res.body.paths['/signals/{id}'].get;
    expect(signal.parameters).toEqual([expect.objectContaining({ name: 'id', in: 'path' })]);
    expect(signal.responses['200'].content['application/json'].schema.properties.status.enum).toEqual(['queued', 'approved', 'rejected', 'forwarded', 'retrying', 'dead']);
  });

  it('validates as OpenAPI 3.1', async () => {
    const res = await request(url).get('/openapi.json');
    expect(validateOpenApi(res.body)).toEqual({ valid: true, version: '3.1', errors: [] });
  });

  it('lists every route and page ingest registers, and only those', async () => {
    const res = await request(url).get('/openapi.json');
    expect(documentedOperations(res.body)).toEqual(registeredOperations(ingest.app));
    expect(registeredOperations(ingest.app)).toEqual(expect.arrayContaining([
      'GET /health', 'GET /ready', 'GET /status', 'GET /metrics', 'GET /docs', 'GET /openapi/{service}', 'GET /admin', 'POST /admin/login', 'USE /admin/queues',
    ]));
  });

  it('names the credentials of every admin route (the login form alone is open)', async () => {
    const res = await request(url).get('/openapi.json');
    expect(adminOperationsWithoutSecurity(res.body)).toEqual([]);
    expect(res.body.paths['/admin/queues'].get.security).toEqual([{ adminSession: [] }]);
    expect(res.body.paths['/admin/login'].post.security).toBeUndefined();
    expect(res.body.paths['/sell/all'].post.description).toMatch(/JSON field `token`/);
    expect(Object.keys(res.body.components.securitySchemes).sort()).toEqual(['adminSession', 'adminToken', 'finvizUpdateToken', 'webhookSecret']);
  });

  it.each(['screener', 'approver', 'forwarder'])('presents the %s\'s document, as built from its route table', async (service) => {
    const res = await request(url).get(`/openapi/${service}`).expect(200);
    expect(res.body).toEqual(presentedApiDocument(service));
    expect(res.body.info.title).toBe(`tsp ${service}`);
    expect(validateOpenApi(res.body)).toMatchObject({ valid: true, version: '3.1' });
  });

  it('answers 400 for a document of no service it presents', async () => {
    for (const name of ['ingest', 'nope', 'SCREENER', '..%2Fscreener', 'screener%00']) {
      const res = await request(url).get(`/openapi/${name}`);
      expect(res.status).toBe(400);
      expect(res.body.error).toBe('invalid_params');
    }
  });

  it('documents each route with the schemas it validates with, and the credentials its guards accept', async () => {
    const res = await request(url).get('/openapi.json');
    const list = res.body.paths['/signals'].get;
    expect(list.parameters.map((p: { name: string }) => p.name)).toEqual(['status', 'ticker', 'side', 'reason', 'kind', 'from', 'to', 'limit', 'cursor']);
    expect(list.parameters.find((p: { name: string }) => p.name === 'limit').schema).toMatchObject({ minimum: 1, maximum: 500 });
    expect(list.security).toEqual([{ adminToken: [] }, { adminSession: [] }]);
    expect(res.body.paths['/finviz/config'].post.security).toEqual([{ finvizUpdateToken: [] }, { adminToken: [] }, { adminSession: [] }]);
    expect(res.body.paths['/finviz/topn'].get.security).toBeUndefined();
  });

  it('describes what the routes really answer', async () => {
    const admin = { Authorization: 'Bearer openapi-admin' };
    expect(TopnHistorySchema.safeParse((await request(url).get('/finviz/topn/history')).body).error).toBeUndefined();
    expect(FinvizConfigSchema.safeParse((await request(url).get('/finviz/config').set(admin)).body).error).toBeUndefined();
    expect(PositionsSchema.safeParse((await request(url).get('/positions').set(admin)).body).error).toBeUndefined();
  });
});

describe('GET /docs', () => {
  let ingest: Awaited<ReturnType<typeof startIngest>>;

  beforeAll(async () => {
    ingest = await startIngest(loadConfig({ ...process.env, KEY_PREFIX: uniquePrefix('docs'), INGEST_PORT: '0' }), createLogger('ingest', 'error'));
  });
  afterAll(() => ingest.stop());

  it('is public, and renders the four services\' documents with Swagger UI under a strict Content-Security-Policy', async () => {
    const res = await request(ingest.app).get('/docs').expect(200).expect('Content-Type', /text\/html/);
    const csp = res.headers['content-security-policy'];
    expect(csp).toContain("script-src 'self'");
    expect(csp).toContain("connect-src 'self'");
    expect(csp).not.toMatch(/unsafe-inline|unsafe-eval|https?:/);
    // No inline script: every <script> names a file of this origin.
    const scripts = [...res.text.matchAll(/<script([^>]*)>([\s\S]*?)<\/script>/g)];
    expect(scripts.map(([, attributes]) => attributes.match(/src="([^"]+)"/)?.[1])).toEqual([
      '/docs/assets/swagger-ui-bundle.js', '/docs/assets/swagger-ui-standalone-preset.js', '/docs/assets/api-docs-init.js',
    ]);
    expect(scripts.every(([, , body]) => body.trim() === '')).toBe(true);
    const documents = JSON.parse(res.text.match(/data-documents="([^"]+)"/)![1].replace(/&#34;/g, '"'));
    expect(documents).toEqual([
      { name: 'ingest', url: '/openapi.json' }, { name: 'screener', url: '/openapi/screener' },
      { name: 'approver', url: '/openapi/approver' }, { name: 'forwarder', url: '/openapi/forwarder' },
    ]);
  });

  it('serves the page\'s scripts and stylesheet itself, from swagger-ui-dist and the initializer file', async () => {
    const bundle = await request(ingest.app).get('/docs/assets/swagger-ui-bundle.js').expect(200).expect('Content-Type', /javascript/);
    expect(bundle.text).toContain('SwaggerUIBundle');
    await request(ingest.app).get('/docs/assets/swagger-ui.css').expect(200).expect('Content-Type', /text\/css/);
    const init = await request(ingest.app).get('/docs/assets/api-docs-init.js').expect(200);
    expect(init.text).toContain('queryConfigEnabled: false');
    for (const name of ['index.html', 'swagger-initializer.js', '..%2Fpackage.json', 'swagger-ui.css%00']) {
      expect((await request(ingest.app).get(`/docs/assets/${name}`)).status).toBe(400);
    }
  });
});
