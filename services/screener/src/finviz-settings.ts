import { EventEmitter } from 'node:events';
import fs from 'node:fs';
import path from 'node:path';
import type IORedis from 'ioredis';
import {
  ConfigError, environmentFinvizConfig, finvizConfigUpdateSchema, redactUrl, redisKeys, StoredFinvizConfigSchema, urlHostAllowed, withTimeout,
  type Config, type Logger, type StoredFinvizConfig,
} from '@tsp/core';
import { FinvizConfigStore, type PrismaClient } from '@tsp/db';
import type { ScreenerSettings } from './screener-loop';

export interface FinvizSettingsOptions {
  config: Config;
  prisma: PrismaClient;
  /** A connection of its own, in subscriber mode. */
  subscriber: IORedis;
  logger: Logger;
  /** How often Postgres is read again, as a net under a missed announcement (default 10 s). */
  pollMs?: number;
}

/** What the store tells its listeners. */
export interface FinvizSettingsEvents {
  /** The settings in use changed (URL, top_n or refresh period). */
  change: [previous: ScreenerSettings, next: ScreenerSettings];
}

/** Where the settings in use came from. */
export type SettingsSource = 'environment' | 'database';

/** The actor recorded for the one-time import of the old system's file. */
const IMPORT_ACTOR = 'import:finviz_config.json';
const DB_TIMEOUT_MS = 3000;
const DEFAULT_POLL_MS = 10_000;

/**
 * The screener's runtime settings (URL, top_n, refresh period). The environment gives the first
 * value only: once a config is stored in Postgres (by POST /finviz/config on ingest, or imported
 * from the old system's finviz_config.json), it wins, in every replica and across restarts.
 * A change is applied when its announcement arrives on `<prefix>:finviz:config:updated`;
 * Postgres is also read again every few seconds and on every Redis reconnect, so a missed
 * announcement delays a change, never loses it.
 */
export class FinvizSettingsStore extends EventEmitter<FinvizSettingsEvents> {
  private active: ScreenerSettings;
  private source: SettingsSource = 'environment';
  private stored: StoredFinvizConfig | null = null;
  private poller: NodeJS.Timeout | null = null;
  private refusedVersion: number | null = null;
  private readonly channel: string;
  private readonly store: FinvizConfigStore;

  constructor(private readonly options: FinvizSettingsOptions) {
    super();
    const { config } = options;
    this.active = { url: config.finvizUrl, topN: config.topN, refreshSec: config.finvizRefreshSec };
    this.channel = redisKeys(config.keyPrefix).finvizConfigUpdated;
    this.store = new FinvizConfigStore(options.prisma, config.keyPrefix);
  }

  get settings(): ScreenerSettings {
    return this.active;
  }

  /** For /status and /admin/state: never a credential (the URL's `auth=` is masked). */
  describe() {
    return {
      url: this.active.url ? redactUrl(this.active.url) : null,
      top_n: this.active.topN,
      refresh: this.active.refreshSec,
      source: this.source,
      version: this.stored?.version ?? null,
      updated_at: this.stored?.updated_at ?? null,
      updated_by: this.stored?.updated_by ?? null,
    };
  }

  /**
   * Reads the stored config (importing finviz_config.json when there is none), then listens.
   * Postgres being down is not fatal: the environment's values serve until it answers.
   */
  async start(): Promise<void> {
    const { subscriber, logger } = this.options;
    subscriber.on('message', (channel: string, message: string) => {
      if (channel === this.channel) this.onAnnouncement(message);
    });
    // Announcements made while the subscription was down are gone: read Postgres again.
    subscriber.on('ready', () => void this.reload());
    subscriber.subscribe(this.channel).catch((error: Error) => logger.warn('could not subscribe to config announcements', { error: error.message }));

    const found = await this.reload();
    if (found === null) await this.importFile();
    this.poller = setInterval(() => void this.reload(), this.options.pollMs ?? DEFAULT_POLL_MS);
    this.poller.unref();
  }

  stop(): void {
    if (this.poller) clearInterval(this.poller);
    this.poller = null;
  }

  /** Reads the stored config and applies it if newer. Answers it, null when none is stored, undefined when Postgres failed. */
  async reload(): Promise<StoredFinvizConfig | null | undefined> {
    try {
      const stored = await withTimeout(this.store.read(), DB_TIMEOUT_MS);
      if (!stored) return null;
      this.apply(stored);
      return stored;
    } catch (error) {
      this.options.logger.warn('could not read the stored Finviz config; keeping the settings in use', { error: (error as Error).message });
      return undefined;
    }
  }

  private onAnnouncement(message: string): void {
    let parsed: unknown;
    try {
      parsed = JSON.parse(message);
    } catch {
      parsed = null;
    }
    const result = StoredFinvizConfigSchema.safeParse(parsed);
    if (result.success) this.apply(result.data);
    else void this.reload();
  }

  /** Applies a stored config newer than the one in use, if its URL is allowed here too. */
  private apply(stored: StoredFinvizConfig): void {
    if (this.stored && stored.version <= this.stored.version) return;
    const { config, logger } = this.options;
    if (stored.url && !urlHostAllowed(stored.url, config.finvizAllowedHosts)) {
      if (this.refusedVersion !== stored.version) {
        logger.error('refusing the stored Finviz config: its URL names a host outside this screener\'s FINVIZ_ALLOWED_HOSTS', {
          version: stored.version, url: redactUrl(stored.url),
        });
      }
      this.refusedVersion = stored.version;
      return;
    }
    const previous = this.active;
    this.stored = stored;
    this.source = 'database';
    this.active = { url: stored.url, topN: stored.top_n, refreshSec: stored.refresh };
    const changed = previous.url !== this.active.url || previous.topN !== this.active.topN || previous.refreshSec !== this.active.refreshSec;
    if (changed) {
      logger.info('applying the Finviz config', {
        version: stored.version, url: stored.url ? redactUrl(stored.url) : null, top_n: stored.top_n, refresh: stored.refresh,
        updated_by: stored.updated_by,
      });
      this.emit('change', previous, this.active);
    }
  }

  /**
   * For users of the old system: `finviz_config.json` ({url, top_n, refresh}) is stored as the
   * config when none is stored yet, once; from then on Postgres holds it. A file that is not
   * valid stops the start, naming it.
   */
  private async importFile(): Promise<void> {
    const { config, logger } = this.options;
    const file = path.resolve(config.finvizConfigFile);
    if (!fs.existsSync(file)) return;
    let update;
    try {
      const parsed = finvizConfigUpdateSchema(config.finvizAllowedHosts).safeParse(JSON.parse(fs.readFileSync(file, 'utf8')));
      if (!parsed.success) throw new Error(parsed.error.issues.map((issue) => `${issue.path.join('.') || '(file)'} ${issue.message}`).join('; '));
      update = parsed.data;
    } catch (error) {
      throw new ConfigError('FINVIZ_CONFIG_FILE', `names ${file}, which is not a valid {url, top_n, refresh} config: ${(error as Error).message}`);
    }
    const environment = environmentFinvizConfig(config);
    const after = { url: update.url ?? environment.url, top_n: update.top_n ?? environment.top_n, refresh: update.refresh ?? environment.refresh };
    try {
      // Several replicas may start at once: the first import wins, the others find it stored.
      const imported = await this.store.importOnce(after, { actor: IMPORT_ACTOR, ip: null, userAgent: null });
      if (imported) {
        logger.info(`imported the Finviz config from ${file}; from now on it is changed with POST /finviz/config`, {
          url: after.url ? redactUrl(after.url) : null, top_n: after.top_n, refresh: after.refresh,
        });
      }
    } catch (error) {
      logger.warn(`could not store the config of ${file}; will import it on a later start`, { error: (error as Error).message });
      return;
    }
    await this.reload();
  }
}
