/**
 * What the deployment files (Dockerfile, compose files, k8s/) are checked against: the contract's
 * services, ports and variables (CONTRACT.md sections 1 and 3, copied here), .env.example, and the
 * variables packages/core's config actually reads.
 */
import fs from 'node:fs';
import path from 'node:path';
import { loadConfig } from '@tsp/core';

export const ROOT = path.resolve(__dirname, '../..');
export const read = (file: string) => fs.readFileSync(path.join(ROOT, file), 'utf8');
export const packageJson = JSON.parse(read('package.json')) as { packageManager: string; scripts: Record<string, string> };

// --- The contract (CONTRACT.md sections 1 and 3), copied here ---

export const SERVICES = {
  ingest: { port: 8080, portVar: 'INGEST_PORT' },
  screener: { port: 8081, portVar: 'SCREENER_PORT' },
  approver: { port: 8082, portVar: 'APPROVER_PORT' },
  forwarder: { port: 8083, portVar: 'FORWARDER_PORT' },
} as const;
export type Service = keyof typeof SERVICES;
export const SERVICE_NAMES = Object.keys(SERVICES) as Service[];

/** Section 3, with the default where the contract gives one. */
export const CONTRACT_VARS: Record<string, string | null> = {
  REDIS_URL: 'redis://127.0.0.1:6379',
  DATABASE_URL: 'postgresql://postgres@127.0.0.1:5432/trading_signals',
  KEY_PREFIX: 'tsp',
  DEST_WEBHOOK_URL: null,
  DEST_WEBHOOK_SECRET: null,
  DEST_WEBHOOK_MAX_REQ_PER_MIN: '60',
  DEST_WEBHOOK_MAX_REQ_PER_HOUR: '500',
  DEST_WEBHOOK_RATE_LIMITING_ENABLED: 'true',
  DEST_WEBHOOK_TIMEOUT_MS: '5000',
  FORWARD_MAX_ATTEMPTS: '8',
  FINVIZ_URL: null,
  TOP_N: '15',
  FINVIZ_REFRESH_SEC: '10',
  FINVIZ_USE_ELITE: 'false',
  FINVIZ_EMAIL: null,
  FINVIZ_PASSWORD: null,
  FINVIZ_AUTH_TOKEN: null,
  FINVIZ_ALLOWED_HOSTS: 'finviz.com,elite.finviz.com',
  TOPN_MAX_AGE_SEC: '120',
  WORKER_CONCURRENCY: '16',
  FORWARDING_WORKERS: '5',
  QUEUE_MAX_SIZE: '100000',
  SELL_POLICY: 'open_position',
  SIGNAL_TTL_SEC: '300',
  SIGNAL_MAX_LAG_SEC: '0',
  AUDIT_OUTBOX_MAX: '200000',
  WEBHOOK_ALLOWED_IPS: null,
  WEBHOOK_SECRET: null,
  WEBHOOK_AUTH: null,
  TRUST_PROXY: null,
  ADMIN_TOKEN: null,
  FINVIZ_UPDATE_TOKEN: null,
  LOG_LEVEL: 'info',
};

/** What each service is described as using (at least); every service also has its port variable. */
export const EVERY_SERVICE = ['REDIS_URL', 'DATABASE_URL', 'KEY_PREFIX', 'LOG_LEVEL', 'ADMIN_TOKEN'];
export const SERVICE_VARS: Record<Service, string[]> = {
  // Ingest starts only with WEBHOOK_SECRET or WEBHOOK_ALLOWED_IPS, or WEBHOOK_AUTH=none: each deployment names all three.
  ingest: ['WEBHOOK_SECRET', 'WEBHOOK_ALLOWED_IPS', 'WEBHOOK_AUTH', 'TRUST_PROXY', 'FINVIZ_UPDATE_TOKEN', 'QUEUE_MAX_SIZE', 'FINVIZ_ALLOWED_HOSTS', 'AUDIT_OUTBOX_MAX'],
  screener: ['FINVIZ_URL', 'TOP_N', 'FINVIZ_REFRESH_SEC', 'FINVIZ_USE_ELITE', 'FINVIZ_EMAIL', 'FINVIZ_PASSWORD', 'FINVIZ_AUTH_TOKEN', 'FINVIZ_ALLOWED_HOSTS'],
  approver: ['TOPN_MAX_AGE_SEC', 'SELL_POLICY', 'WORKER_CONCURRENCY', 'SIGNAL_MAX_LAG_SEC'],
  forwarder: [
    'DEST_WEBHOOK_URL', 'DEST_WEBHOOK_SECRET', 'DEST_WEBHOOK_MAX_REQ_PER_MIN', 'DEST_WEBHOOK_MAX_REQ_PER_HOUR', 'DEST_WEBHOOK_RATE_LIMITING_ENABLED',
    'DEST_WEBHOOK_TIMEOUT_MS', 'FORWARD_MAX_ATTEMPTS', 'FORWARDING_WORKERS', 'SIGNAL_TTL_SEC',
  ],
};
export const requiredVars = (service: Service) => [SERVICES[service].portVar, ...EVERY_SERVICE, ...SERVICE_VARS[service]];

/** Credentials: never in the ConfigMap, and each reaches only the services that use it. */
export const SECRET_OWNERS: Record<string, Service[]> = {
  WEBHOOK_SECRET: ['ingest'],
  FINVIZ_UPDATE_TOKEN: ['ingest'],
  FINVIZ_EMAIL: ['screener'],
  FINVIZ_PASSWORD: ['screener'],
  FINVIZ_AUTH_TOKEN: ['screener'],
  DEST_WEBHOOK_URL: ['forwarder'],
  DEST_WEBHOOK_SECRET: ['forwarder'],
};
export const SECRET_VARS = [...Object.keys(SECRET_OWNERS), 'ADMIN_TOKEN', 'DATABASE_URL'];

// --- .env.example: the repository's list of every variable ---

export const ENV_EXAMPLE = read('.env.example');
/** `NAME=value` lines, commented (`# NAME=`, meaning unset) or not. */
export const envExampleEntries = [...ENV_EXAMPLE.matchAll(/^(#\s*)?([A-Z][A-Z0-9_]*)=(.*)$/gm)].map((m) => ({
  name: m[2],
  value: m[3].trim(),
  commented: Boolean(m[1]),
}));
/** In .env.example for docker-compose.yml's own use (interpolation), read by no tsp service. */
export const COMPOSE_ONLY_VARS = new Set(['COMPOSE_PROJECT_NAME', 'INGEST_HOST_PORT', 'POSTGRES_PASSWORD']);

export const KNOWN_VARS = new Set([
  ...Object.keys(CONTRACT_VARS),
  ...SERVICE_NAMES.map((service) => SERVICES[service].portVar),
  ...envExampleEntries.map((entry) => entry.name),
]);

// --- Start commands: whatever a container runs must exist in the repository ---

/** A service's command must be `node scripts/start-one.js <service>`, the same as `pnpm start:<service>`. */
export function expectStartCommand(command: unknown, service: Service) {
  expect(command).toEqual(['node', 'scripts/start-one.js', service]);
  expect(packageJson.scripts[`start:${service}`]).toBe((command as string[]).join(' '));
  expect(fs.existsSync(path.join(ROOT, 'scripts/start-one.js'))).toBe(true);
  // scripts/load-env.js is CommonJS JavaScript, outside the TypeScript program: required at run time.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { SERVICES: startable } = require(path.join(ROOT, 'scripts/load-env.js')) as { SERVICES: string[] };
  expect(startable).toContain(service);
}


/** Every variable packages/core/src/config.ts reads: loadConfig run on an environment that records each lookup. */
export function configVariables(): Set<string> {
  const read = new Set<string>();
  const recorder = new Proxy({}, {
    get: (_target, name) => {
      if (typeof name === 'string') read.add(name);
      return undefined;
    },
  });
  loadConfig(recorder);
  return read;
}
