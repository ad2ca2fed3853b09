import { isTopnStale, redactUrl, topnAgeSec, type Config } from '@tsp/core';
import type { FinvizSettingsStore } from './finviz-settings';
import { scraperMode } from './finviz/scraper';
import type { LeaderElection } from './leader-election';
import type { PauseWatch } from './pause-watch';
import type { TopnPublisher } from './publish-topn';
import type { RefreshRequests } from './refresh-requests';
import type { ScreenerLoop } from './screener-loop';

/** The parts of a running screener its reports read. */
export interface ScreenerParts {
  config: Config;
  settings: FinvizSettingsStore;
  pause: PauseWatch;
  election: LeaderElection;
  publisher: TopnPublisher;
  loop: ScreenerLoop;
  refreshRequests: RefreshRequests;
}

/** Paused or not, and since when, by whom, why (for both reports). */
function pauseReport(pause: PauseWatch) {
  return { paused: pause.paused, pause: pause.state };
}

/** GET /status: settings, leadership, pause, the last passes and the set this replica last saw. */
export function screenerStatus({ config, settings, pause, election, publisher, loop }: ScreenerParts) {
  return async () => {
    const { url, topN, refreshSec } = settings.settings;
    const set = publisher.current;
    return {
      service: 'screener',
      finviz_url: url ? redactUrl(url) : null,
      top_n: topN,
      refresh_sec: refreshSec,
      config: settings.describe(),
      ...pauseReport(pause),
      leader: election.isLeader,
      replica: election.id,
      fetch: loop.status(),
      topn: set
        ? {
            snapshot_id: set.snapshot_id, tickers: set.tickers, count: set.tickers.length, top_n: set.top_n,
            fetched_at: set.fetched_at, age_sec: topnAgeSec(set), stale: isTopnStale(set, config.topnMaxAgeSec), source: set.source,
            duplicates_dropped: set.duplicates_dropped ?? 0,
          }
        : null,
    };
  };
}

/** GET /admin/state: leader or not, pause, last fetch outcome, back-off, next fetch, settings in use. */
export function screenerAdminState({ config, settings, pause, election, loop }: ScreenerParts) {
  return async () => {
    const fetch = loop.status();
    return {
      replica: election.id,
      leader: election.isLeader,
      current_leader: await election.currentLeader().catch(() => null),
      mode: scraperMode(config),
      settings: settings.describe(),
      ...pauseReport(pause),
      last_fetch_outcome: fetch.last?.outcome ?? null,
      last_fetch_at: fetch.last?.at ?? null,
      last_success_at: fetch.last_success_at,
      consecutive_failures: fetch.consecutive_failures,
      backoff: { backing_off: fetch.backing_off, push_backs: fetch.push_backs, retry_after_until: fetch.retry_after_until },
      next_fetch_at: fetch.next_fetch_at,
      last: fetch.last,
    };
  };
}
