import type { Express, NextFunction, Request, Response } from 'express';
import type { Queue } from 'bullmq';
import { createBullBoard } from '@bull-board/api';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { ExpressAdapter } from '@bull-board/express';
import { bearerMatches, secretsEqual } from '@tsp/core';

export const BULL_BOARD_PATH = '/admin/queues';
export const ADMIN_COOKIE = 'tsp_admin';

function cookieValue(header: string | undefined, name: string): string | undefined {
  for (const part of (header ?? '').split(';')) {
    const [key, ...rest] = part.trim().split('=');
    if (key === name) return decodeURIComponent(rest.join('='));
  }
  return undefined;
}

/** Admin pages accept the Bearer token, or the cookie the /admin login form sets. */
export function isAdminRequest(headers: Record<string, string | string[] | undefined>, adminToken: string | null): boolean {
  if (!adminToken) return false;
  const authorization = typeof headers.authorization === 'string' ? headers.authorization : undefined;
  const cookie = typeof headers.cookie === 'string' ? headers.cookie : undefined;
  return bearerMatches(authorization, adminToken) || secretsEqual(cookieValue(cookie, ADMIN_COOKIE), adminToken);
}

export function mountBullBoard(app: Express, queues: Queue[], adminToken: string | null): void {
  const serverAdapter = new ExpressAdapter();
  serverAdapter.setBasePath(BULL_BOARD_PATH);
  createBullBoard({ queues: queues.map((queue) => new BullMQAdapter(queue)), serverAdapter });
  const requireAdmin = (req: Request, res: Response, next: NextFunction) => {
    if (isAdminRequest(req.headers, adminToken)) return next();
    res.redirect(302, '/admin');
  };
  app.use(BULL_BOARD_PATH, requireAdmin, serverAdapter.getRouter());
}
