import request from 'supertest';
import { createLogger, loadConfig } from '@tsp/core';
import { startApprover } from '../src/service';
import { serviceApiDocument } from '../src/api-document';
import { uniquePrefix } from '../../../test/support/helpers';
import { adminOperationsWithoutSecurity, documentedOperations, presentedApiDocument, registeredOperations, validateOpenApi } from '../../../test/support/openapi-validation';

describe("the approver's API document (GET /openapi.json)", () => {
  const config = loadConfig({ ...process.env, KEY_PREFIX: uniquePrefix('openapi-approver'), APPROVER_PORT: '0', ADMIN_TOKEN: 'openapi-approver-admin' });
  let approver: Awaited<ReturnType<typeof startApprover>>;
  let document: Parameters<typeof documentedOperations>[0];

  beforeAll(async () => {
    approver = await startApprover(config, createLogger('approver', 'error'));
    const res = await request(approver.app).get('/openapi.json').expect(200);
    document = res.body;
  });
  afterAll(() => approver.stop());

  it('validates as OpenAPI 3.1', () => {
    expect(validateOpenApi(document)).toEqual({ valid: true, version: '3.1', errors: [] });
  });

  it('lists every route the approver registers, and only those', () => {
    expect(documentedOperations(document)).toEqual(registeredOperations(approver.app));
    expect(registeredOperations(approver.app)).toEqual(expect.arrayContaining([
      'GET /health', 'GET /ready', 'GET /status', 'GET /metrics', 'GET /openapi.json', 'GET /docs', 'POST /admin/topn/reload',
    ]));
  });

  it('names the credentials of every admin route', () => {
    expect(adminOperationsWithoutSecurity(document)).toEqual([]);
    expect(Object.keys((document as unknown as { components: { securitySchemes: object } }).components.securitySchemes)).toEqual(['adminToken']);
  });

  it('is the document ingest presents for it, built from the same route table without running it', () => {
    expect(serviceApiDocument(config)).toEqual(document);
    const { servers, ...presented } = presentedApiDocument('approver');
    expect(presented).toEqual(document);
    expect(servers).toEqual([expect.objectContaining({ url: 'http://{host}:{port}' })]);
  });
});
