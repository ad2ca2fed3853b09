import { ConfigError, loadConfig, type Config } from './config';
import { createLogger, type Logger } from './logger';
import type { ServiceName } from './names';

export interface RunningService {
  /** Stop taking work, finish or hand back in-flight jobs, close connections. */
  stop(): Promise<void>;
}

/**
 * The exit code of a service stopped by its configuration (sysexits' EX_CONFIG): restarting it
 * cannot help, so `pnpm start` stops everything, where it restarts a service that crashed.
 */
export const CONFIG_ERROR_EXIT_CODE = 78;

/** SIGTERM must end the process within 10 s; leave a margin for the exit itself. */
const SHUTDOWN_DEADLINE_MS = 9000;

/**
 * The main() of every service: configuration errors become one clear line and exit 78;
 * SIGTERM/SIGINT stop the service gracefully and exit 0.
 */
export function runService(
  service: ServiceName,
  start: (config: Config, logger: Logger) => Promise<RunningService>,
): void {
  let config: Config;
  try {
    config = loadConfig();
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`${service}: configuration error: ${error.message}\n`);
      process.exit(CONFIG_ERROR_EXIT_CODE);
    }
    throw error;
  }
  const logger = createLogger(service, config.logLevel);
  let running: RunningService | null = null;
  let stopping = false;

  const shutdown = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info(`${signal} received, shutting down`);
    setTimeout(() => {
      logger.error('shutdown deadline passed, exiting');
      process.exit(1);
    }, SHUTDOWN_DEADLINE_MS).unref();
    try {
      await running?.stop();
      logger.info('stopped');
      process.exit(0);
    } catch (error) {
      logger.error('shutdown failed', { error: (error as Error).stack });
      process.exit(1);
    }
  };
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
  process.on('SIGINT', () => void shutdown('SIGINT'));

  start(config, logger).then(
    (service) => {
      running = service;
      if (stopping) void service.stop().then(() => process.exit(0));
    },
    (error) => {
      if (error instanceof ConfigError) {
        process.stderr.write(`${service}: configuration error: ${error.message}\n`);
        process.exit(CONFIG_ERROR_EXIT_CODE);
      }
      logger.error('start-up failed', { error: (error as Error).stack ?? String(error) });
      process.exit(1);
    },
  );
}
