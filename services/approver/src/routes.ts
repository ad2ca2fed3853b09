import { z } from 'zod';
import { adminTokenGuard, type Config, type Route } from '@tsp/core';
import type { TopnCache } from './topn-cache';

/** What the OpenAPI document says the approver is. */
export const APPROVER_ABOUT = 'The approver of tsp: a BullMQ worker that approves or rejects each signal against the published Top-N set (and SELL_POLICY for exits). Admin routes need Bearer ADMIN_TOKEN.';

/** Admin routes of the approver. (/health, /ready, /status, /metrics, /openapi.json, /docs come from core.) */
export function approverRoutes(config: Config, topn: TopnCache): Route[] {
  return [
    {
      method: 'post',
      path: '/admin/topn/reload',
      guards: [adminTokenGuard(config.adminToken)],
      body: 'none',
      handler: async () => {
        await topn.reload();
        return { status: 200, body: { snapshot_id: topn.current?.snapshot_id ?? null } };
      },
      docs: {
        summary: "Read the published Top-N set from Redis now, instead of waiting for the screener's announcement. Any body is ignored",
        ok: { status: 200, body: z.object({ snapshot_id: z.string().nullable().describe('the set this replica now decides against; null: none published') }), description: 'reloaded' },
        errors: { 401: 'Bearer ADMIN_TOKEN required' },
      },
    },
  ];
}
