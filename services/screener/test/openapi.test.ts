import request from 'supertest';
import { createLogger, loadConfig } from '@tsp/core';
import { startScreener } from '../src/service';
import { serviceApiDocument } from '../src/api-document';
import { uniquePrefix } from '../../../test/support/helpers';
import { adminOperationsWithoutSecurity, documentedOperations, presentedApiDocument, registeredOperations, validateOpenApi } from '../../../test/support/openapi-validation';

describe("the screener's API document (GET /openapi.json)", () => {
  const config = loadConfig({ ...process.env, KEY_PREFIX: uniquePrefix('openapi-screener'), SCREENER_PORT: '0', ADMIN_TOKEN: 'openapi-screener-admin' });
  let screener: Awaited<ReturnType<typeof startScreener>>;
  let document: Parameters<typeof documentedOperations>[0];

  beforeAll(async () => {
    screener = await startScreener(config, createLogger('screener', 'error'));
    const res = await request(screener.app).get('/openapi.json').expect(200);
    document = res.body;
  });
  afterAll(() => screener.stop());

  it('validates as OpenAPI 3.1', () => {
    expect(validateOpenApi(document)).toEqual({ valid: true, version: '3.1', errors: [] });
  });

  it('lists every route the screener registers, and only those', () => {
    expect(documentedOperations(document)).toEqual(registeredOperations(screener.app));
    expect(registeredOperations(screener.app)).toEqual(expect.arrayContaining([
      'GET /health', 'GET /ready', 'GET /status', 'GET /metrics', 'GET /openapi.json', 'GET /docs', 'GET /admin/state', 'POST /admin/refresh',
    ]));
  });

  it('names the credentials of every admin route', () => {
    expect(adminOperationsWithoutSecurity(document)).toEqual([]);
    expect(Object.keys((document as unknown as { components: { securitySchemes: object } }).components.securitySchemes)).toEqual(['adminToken']);
  });

  it('is the document ingest presents for it, built from the same route table without running it', () => {
    expect(serviceApiDocument(config)).toEqual(document);
    const { servers, ...presented } = presentedApiDocument('screener');
    expect(presented).toEqual(document);
    expect(servers).toEqual([expect.objectContaining({ url: 'http://{host}:{port}' })]);
  });
});
