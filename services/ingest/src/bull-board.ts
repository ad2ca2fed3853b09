import type { Express, NextFunction, Request, Response } from 'express';
import type { Queue } from 'bullmq';
import { createBullBoard } from '@bull-board/api';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { ExpressAdapter } from '@bull-board/express';
import { DependencyUnavailableError, errorResponse, unavailableResponse, type HttpResponse } from '@tsp/core';
import type { AdminDoor } from './admin-door';

export const BULL_BOARD_PATH = '/admin/queues';

/**
 * Bull Board behind the admin door, as a viewer. Its pages redirect a stranger to the console's
 * login form; a state-changing call that the cookie authenticates from another site gets 403.
 * The queues are read-only in it: retrying, adding or promoting a job there would send a signal
 * around its ticker's order and the checks of tsp's own routes (replay, pause, resume).
 */
export function mountBullBoard(app: Express, queues: Queue[], door: AdminDoor): void {
  const serverAdapter = new ExpressAdapter();
  serverAdapter.setBasePath(BULL_BOARD_PATH);
  createBullBoard({ queues: queues.map((queue) => new BullMQAdapter(queue, { readOnlyMode: true })), serverAdapter });
  const requireAdmin = async (req: Request, res: Response, next: NextFunction) => {
    let refusal: HttpResponse | null = null;
    try {
      const auth = await door.authenticate(req);
      if (auth.ok) return next();
      if (auth.reason === 'cross_origin') refusal = errorResponse(403, 'forbidden', 'Cross-origin request refused: Origin is not this host');
    } catch (error) {
      if (!(error instanceof DependencyUnavailableError)) throw error;
      refusal = unavailableResponse(error.message);
    }
    if (!refusal) return res.redirect(302, '/admin');
    res.status(refusal.status).set(refusal.headers ?? {}).json(refusal.body);
  };
  app.use(BULL_BOARD_PATH, requireAdmin, serverAdapter.getRouter());
}
