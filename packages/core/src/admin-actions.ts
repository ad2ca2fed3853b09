import { DependencyUnavailableError, type AuthScheme, type Handler, type HttpRequest, type HttpResponse } from './http-route';
import type { Logger } from './logger';
import { requestLogger } from './request-id';

/**
 * The admin-action log's contract, as services see it: every state-changing admin route is wrapped
 * by `adminActionProvider` on its route-table entry, and packages/db keeps the rows (core knows no
 * database: it only names what a row holds).
 *
 * The row is written before the action runs and finished after it, so no action is done unlogged:
 * when the row cannot be written, the action is refused with 503 and nothing is done. The one
 * exception is an emergency exit (manual sells), which must work while Postgres is down: it runs
 * anyway, and its row is written afterwards if Postgres answers by then, else logged as an error.
 */

/** How the caller's credential was presented, as the log names it. */
export const TOKEN_KIND = {
  adminToken: 'admin_token',
  adminSession: 'admin_session',
  finvizUpdateToken: 'finviz_update_token',
  tokenInBody: 'sell_token',
} as const satisfies Partial<Record<AuthScheme, string>>;
export type TokenKind = (typeof TOKEN_KIND)[keyof typeof TOKEN_KIND];

export const ADMIN_ACTION_OUTCOMES = ['started', 'done', 'refused', 'failed'] as const;
/** started: the row was written and the action did not report back (the process died mid-way). */
export type AdminActionOutcome = (typeof ADMIN_ACTION_OUTCOMES)[number];

/** What is known before the action runs. */
export interface AdminActionStart {
  tokenKind: TokenKind | 'unknown';
  /** Which secret: ADMIN_TOKEN, FINVIZ_UPDATE_TOKEN, admin_session. */
  principal: string;
  /** req.ip: the client, as TRUST_PROXY lets express tell it. */
  address: string | null;
  action: string;
  target: string | null;
  before: unknown;
}

/** How it ended. */
export interface AdminActionEnd {
  outcome: Exclude<AdminActionOutcome, 'started'>;
  httpStatus: number | null;
  after: unknown;
  /** The state before, when the action itself read it (atomically with the change); replaces the start's. */
  before?: unknown;
}

/** Where admin actions are kept; packages/db implements it over Postgres. */
export interface AdminActionRecorder {
  /** Writes the row of an action about to run; resolves with its id. Throws when it cannot. */
  begin(start: AdminActionStart): Promise<string>;
  finish(id: string, end: AdminActionEnd): Promise<void>;
  /** Writes a whole row at once: an emergency action's, whose begin could not be written. */
  record(start: AdminActionStart, end: AdminActionEnd): Promise<void>;
}

/** What an audited route says of its action. */
export interface AdminActionSpec {
  /** e.g. "finviz_config.update", "position.close". */
  action: string;
  /** What it acts on (a ticker, a signal id), when one thing. */
  target?: (req: HttpRequest) => string | null;
  /** The state it changes, read before it runs. */
  before?: (req: HttpRequest) => unknown;
  /** The state after a successful action; the answer's body when absent. */
  after?: (req: HttpRequest, res: HttpResponse) => unknown;
  /**
   * Before and after of a successful action, as the action itself saw them (read and changed in one
   * atomic step, which a separate read beforehand could not match); overrides `before` and `after`.
   */
  change?: (req: HttpRequest, res: HttpResponse) => { before: unknown; after: unknown };
  /** An exit that must run even when its row cannot be written first (manual sells). */
  emergency?: boolean;
}

/** A driver's error in one line (Prisma's run to pages, the cause last). */
function briefly(error: unknown): string {
  const lines = String((error as Error)?.message ?? error).trim().split('\n');
  return lines[lines.length - 1].slice(0, 300);
}

function outcomeOf(status: number): AdminActionEnd['outcome'] {
  if (status < 400) return 'done';
  return status < 500 ? 'refused' : 'failed';
}

/**
 * Wraps the handlers of state-changing admin routes so each call leaves a row in the admin-action
 * log. Composed on the route entry: `audited({ action: 'position.close', ... })(closePosition(ctx))`.
 */
export function adminActionProvider(recorder: AdminActionRecorder, logger: Logger) {
  return (spec: AdminActionSpec) => (handler: Handler): Handler => async (req) => {
    const start: AdminActionStart = {
      tokenKind: (req.credential && TOKEN_KIND[req.credential as keyof typeof TOKEN_KIND]) || 'unknown',
      principal: req.principal ?? 'unknown',
      address: req.ip || null,
      action: spec.action,
      target: spec.target?.(req) ?? null,
      before: spec.emergency ? await Promise.resolve().then(() => spec.before?.(req)).catch(() => null) : await spec.before?.(req),
    };
    let id: string | null = null;
    try {
      id = await recorder.begin(start);
    } catch (error) {
      requestLogger(logger, req.requestId).warn(`admin action ${spec.action} cannot be logged`, { error: briefly(error) });
      if (!spec.emergency) throw new DependencyUnavailableError('postgres', `The admin-action log cannot be written (Postgres unavailable); ${spec.action} was not done`);
    }
    let res: HttpResponse;
    try {
      res = await handler(req);
    } catch (error) {
      await settle(req, start, id, { outcome: 'failed', httpStatus: error instanceof DependencyUnavailableError ? 503 : 500, after: null });
      throw error;
    }
    const outcome = outcomeOf(res.status);
    await settle(req, start, id, { outcome, httpStatus: res.status, ...(outcome === 'done' ? await stateAfter(spec, req, res) : { after: null }) });
    return res;
  };

  /** What a successful action changed; a hook that fails costs the row its after, never the answer. */
  async function stateAfter(spec: AdminActionSpec, req: HttpRequest, res: HttpResponse): Promise<{ before?: unknown; after: unknown }> {
    try {
      if (spec.change) return spec.change(req, res);
      return { after: spec.after ? await spec.after(req, res) : res.body };
    } catch (error) {
      requestLogger(logger, req.requestId).warn(`admin action ${spec.action}: could not describe its result`, { error: briefly(error) });
      return { after: null };
    }
  }

  /** Finishes the row; an emergency action's row, never begun, is written whole. Never fails the answer: the action is done. */
  async function settle(req: HttpRequest, start: AdminActionStart, id: string | null, end: AdminActionEnd): Promise<void> {
    try {
      if (id === null) await recorder.record(end.before === undefined ? start : { ...start, before: end.before }, end);
      else await recorder.finish(id, end);
    } catch (error) {
      requestLogger(logger, req.requestId).error(`admin action ${start.action} not recorded${id === null ? '' : ` as finished (row ${id} stays "started")`}`, { ...start, ...end, error: briefly(error) });
    }
  }
}
