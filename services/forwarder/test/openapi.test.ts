import request from 'supertest';
import { createLogger, loadConfig } from '@tsp/core';
import { startForwarder } from '../src/service';
import { serviceApiDocument } from '../src/api-document';
import { uniquePrefix } from '../../../test/support/helpers';
import { adminOperationsWithoutSecurity, documentedOperations, presentedApiDocument, registeredOperations, validateOpenApi } from '../../../test/support/openapi-validation';

describe("the forwarder's API document (GET /openapi.json)", () => {
  const config = loadConfig({ ...process.env, KEY_PREFIX: uniquePrefix('openapi-forwarder'), FORWARDER_PORT: '0', ADMIN_TOKEN: 'openapi-forwarder-admin' });
  let forwarder: Awaited<ReturnType<typeof startForwarder>>;
  let document: Parameters<typeof documentedOperations>[0];

  beforeAll(async () => {
    forwarder = await startForwarder(config, createLogger('forwarder', 'error'));
    const res = await request(forwarder.app).get('/openapi.json').expect(200);
    document = res.body;
  });
  afterAll(() => forwarder.stop());

  it('validates as OpenAPI 3.1', () => {
    expect(validateOpenApi(document)).toEqual({ valid: true, version: '3.1', errors: [] });
  });

  it('lists every route the forwarder registers, and only those', () => {
    expect(documentedOperations(document)).toEqual(registeredOperations(forwarder.app));
    expect(registeredOperations(forwarder.app)).toEqual(expect.arrayContaining([
      'GET /health', 'GET /ready', 'GET /status', 'GET /metrics', 'GET /openapi.json', 'GET /docs', 'POST /admin/pause', 'POST /admin/resume', 'GET /admin/rate-limit', 'POST /admin/rate-limit', 'GET /admin/destination', 'POST /admin/destination', 'DELETE /admin/destination', 'GET /admin/dead', 'POST /admin/dead/replay-all', 'POST /admin/dead/{id}/replay',
    ]));
  });

  it('names the credentials of every admin route', () => {
    expect(adminOperationsWithoutSecurity(document)).toEqual([]);
    expect(Object.keys((document as unknown as { components: { securitySchemes: object } }).components.securitySchemes)).toEqual(['adminToken']);
  });

  it('is the document ingest presents for it, built from the same route table without running it', () => {
    expect(serviceApiDocument(config)).toEqual(document);
    const { servers, ...presented } = presentedApiDocument('forwarder');
    expect(presented).toEqual(document);
    expect(servers).toEqual([expect.objectContaining({ url: 'http://{host}:{port}' })]);
  });
});
