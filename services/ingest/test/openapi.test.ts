import request from 'supertest';
import { createLogger, loadConfig } from '@tsp/core';
import { startIngest } from '../src/service';
import { FinvizConfigSchema, PositionsSchema, TopnHistorySchema } from '../src/api-schemas';
import { uniquePrefix } from '../../../test/support/helpers';

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

  it('documents every route ingest serves', async () => {
    const res = await request(url).get('/openapi.json');
    const operations = Object.entries(res.body.paths as Record<string, Record<string, { summary: string }>>)
      .flatMap(([path, ops]) => Object.entries(ops).map(([m, op]) => ({ key: `${m.toUpperCase()} ${path}`, summary: op.summary })));
    expect(operations.filter((op) => op.summary === 'undocumented').map((op) => op.key)).toEqual([]);
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
