import { adminTokenGuard, type Config, type Route } from '@tsp/core';
import type { TopnCache } from './topn-cache';

/** Admin routes of the approver. (/health, /ready, /status, /metrics come from core.) */
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
    },
  ];
}
