import { errorResponse, unavailableResponse, type HttpRequest, type HttpResponse } from '@tsp/core';
import type { SignalEventHub } from '../live/signal-event-hub';
import { frameOfEntry } from '../live/signal-event-hub';
import { RECONNECT_FRAME, sseFrame, STREAM_ID } from '../live/sse-frames';
import type { EventStreamQuery } from '../api-schemas';

/**
 * A browser this far behind is told to reload its list rather than be sent every entry: a reload
 * is one page, a replay could be thousands of changes to rows it no longer shows.
 */
const CATCH_UP_MAX = 300;

/**
 * GET /admin/events — the console's live feed as Server-Sent Events. Starts with `hello` (its id:
 * where the feed is now); with Last-Event-ID (or ?last_event_id=) it first replays every entry after
 * that id, or sends `reset` when they are no longer all kept. Then one `signals` event per entry as
 * it is written, a heartbeat comment every 15 s.
 */
export function streamEvents(hub: SignalEventHub) {
  return async (req: HttpRequest<EventStreamQuery>): Promise<HttpResponse> => {
    const header = req.headers['last-event-id'];
    if (header !== undefined && !STREAM_ID.test(header)) {
      return errorResponse(400, 'invalid_last_event_id', 'Last-Event-ID must be an event id this stream sent (<ms>-<seq>)', [{ field: 'Last-Event-ID', message: 'not an event id' }]);
    }
    const resumeFrom = header ?? req.query.last_event_id ?? null;

    let joined;
    try {
      joined = await hub.subscribe();
    } catch {
      return unavailableResponse('Redis is unavailable; the live feed cannot be read right now');
    }
    if (!joined) return unavailableResponse(`This ingest serves its maximum of ${hub.maxSubscribers} live-feed connections; try again later or another replica`);
    const { subscription, position } = joined;

    const frames = [RECONNECT_FRAME];
    let lastId: string | null = position === '0-0' ? null : position;
    try {
      if (resumeFrom) {
        const missed = (await hub.holds(resumeFrom)) ? await hub.entriesAfter(resumeFrom, CATCH_UP_MAX + 1) : null;
        if (!missed || missed.length > CATCH_UP_MAX) {
          frames.push(sseFrame('reset', JSON.stringify({ reason: missed ? 'too_far_behind' : 'not_kept' })));
        } else {
          frames.push(...missed.map(frameOfEntry));
          if (missed.length) lastId = missed[missed.length - 1][0];
          else lastId = resumeFrom;
        }
      }
    } catch {
      subscription.end();
      return unavailableResponse('Redis is unavailable; the live feed cannot be read right now');
    }
    frames.push(sseFrame('hello', JSON.stringify({ last_event_id: lastId }), lastId ?? undefined));
    subscription.startWith(frames, lastId);
    return {
      status: 200,
      contentType: 'text/event-stream',
      // No proxy may buffer or cache a live stream.
      headers: { 'Cache-Control': 'no-cache, no-transform', 'X-Accel-Buffering': 'no' },
      stream: subscription,
    };
  };
}
