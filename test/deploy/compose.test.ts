/**
 * docker-compose.yml and its prod and dev overrides, against the compose-spec schema and the
 * contract. No Docker engine here: container-start.test.ts runs what they run.
 */
import fs from 'node:fs';
import path from 'node:path';
import { ConfigError, loadConfig, requireWebhookAuth } from '@tsp/core';
import { COMPOSE_FILES, composeModel, containerEnv, interpolate, interpolations, readComposeFile, readEnvFile } from '../support/compose-files';
import { composeSchemaErrors } from '../support/compose-schema';
import { COMPOSE_ONLY_VARS, CONTRACT_VARS, ROOT, SERVICES, SERVICE_NAMES, configVariables, envExampleEntries, expectStartCommand, read, requiredVars } from '../support/deploy-contract';

const dotenv = readEnvFile('.env.example');
const base = composeModel('docker-compose.yml');
const prod = composeModel('docker-compose.yml', 'docker-compose.prod.yml');
const dev = composeModel('docker-compose.yml', 'docker-compose.dev.yml');
const APP = ['migrate', ...SERVICE_NAMES];

/** A compose duration ("15s", "1m30s") in seconds. */
function durationSeconds(text: string): number {
  const unit: Record<string, number> = { h: 3600, m: 60, s: 1, ms: 0.001 };
  return [...text.matchAll(/(\d+)(ms|h|m|s)/g)].reduce((sum, [, n, u]) => sum + Number(n) * unit[u], 0);
}

/** Bind mounts (a host path before the colon), which prod must not have. */
const bindMounts = (volumes: string[] = []) => volumes.filter((v) => /^[./~]/.test(v));

describe.each(COMPOSE_FILES)('%s', (file) => {
  it('is valid by the compose-spec schema', () => {
    expect(composeSchemaErrors(readComposeFile(file))).toEqual([]);
  });

  it('sets no container name, so any service can be scaled', () => {
    expect(Object.entries(composeModel(file).services).filter(([, s]) => s.container_name).map(([name]) => name)).toEqual([]);
  });
});

describe('the compose schema check', () => {
  it('refuses what Compose would refuse', () => {
    expect(composeSchemaErrors({ services: { ingest: { image: 'tsp', restart: 'sometimes', ports: 8080 } } }).length).toBeGreaterThan(0);
    expect(composeSchemaErrors({ services: { ingest: { image: 'tsp', comand: ['node'] } } })).toEqual([expect.stringContaining('comand')]);
  });
});

describe('docker-compose.yml', () => {
  it('runs Redis, Postgres, the migration and the four services', () => {
    expect(Object.keys(base.services).sort()).toEqual(['postgres', 'redis', ...APP].sort());
  });

  it('runs Redis 7 with noeviction and an append-only file, with a health check', () => {
    const redis = base.services.redis;
    expect(redis.image).toMatch(/^redis:7\b/);
    const command = (redis.command ?? []).join(' ');
    expect(command).toContain('--maxmemory-policy noeviction');
    expect(command).toContain('--appendonly yes');
    expect(redis.healthcheck?.test.join(' ')).toContain('ping');
  });

  it('runs Postgres 15 with the credentials every DATABASE_URL uses', () => {
    const postgres = base.services.postgres;
    expect(postgres.image).toMatch(/^postgres:15\b/);
    expect(postgres.healthcheck?.test.join(' ')).toContain('pg_isready');
    const pgEnv = containerEnv(postgres, dotenv);
    for (const name of APP) {
      const url = new URL(containerEnv(base.services[name], dotenv).DATABASE_URL);
      expect({ service: name, host: url.hostname, port: url.port || '5432', user: url.username, password: decodeURIComponent(url.password) })
        .toEqual({ service: name, host: 'postgres', port: '5432', user: 'postgres', password: pgEnv.POSTGRES_PASSWORD });
    }
  });

  it('migrates once with pnpm db:migrate, after Postgres is healthy', () => {
    const migrate = base.services.migrate;
    expect(migrate.command).toEqual(['pnpm', 'db:migrate']);
    expect(migrate.depends_on?.postgres?.condition).toBe('service_healthy');
    expect(migrate.restart ?? 'no').toBe('no');
  });

  it('publishes ingest alone, on INGEST_HOST_PORT (80 by default) to its port 8080', () => {
    expect(base.services.ingest.ports).toEqual(['${INGEST_HOST_PORT:-80}:8080']);
    expect(interpolate(base.services.ingest.ports![0], {})).toBe('80:8080');
    expect(interpolate(base.services.ingest.ports![0], dotenv)).toBe(`${dotenv.INGEST_HOST_PORT}:8080`);
    for (const model of [base, prod]) {
      expect(Object.entries(model.services).filter(([name, s]) => name !== 'ingest' && s.ports?.length).map(([name]) => name)).toEqual([]);
    }
    // Development publishes Redis and Postgres to this machine alone, for ./run and pnpm start.
    expect(Object.fromEntries(Object.entries(dev.services).filter(([name, s]) => name !== 'ingest' && s.ports?.length).map(([name, s]) => [name, s.ports])))
      .toEqual({ redis: ['127.0.0.1:6379:6379'], postgres: ['127.0.0.1:5432:5432'] });
  });

  it('uses each interpolated variable with the contract default, and only compose-only ones beside them', () => {
    for (const { name, fallback } of interpolations(base)) {
      expect({ name, known: COMPOSE_ONLY_VARS.has(name) || name in CONTRACT_VARS }).toEqual({ name, known: true });
      if (CONTRACT_VARS[name]) expect({ name, fallback }).toEqual({ name, fallback: CONTRACT_VARS[name] });
    }
    expect(interpolations(base).find((i) => i.name === 'INGEST_HOST_PORT')?.fallback).toBe(dotenv.INGEST_HOST_PORT);
    expect(interpolations(base).find((i) => i.name === 'POSTGRES_PASSWORD')?.fallback).toBe(dotenv.POSTGRES_PASSWORD);
  });

  describe.each(SERVICE_NAMES)('%s', (service) => {
    const definition = base.services[service];
    const { port, portVar } = SERVICES[service];
    const env = containerEnv(definition, dotenv);

    it('runs its start script', () => expectStartCommand(definition.command, service));

    it('gets the whole .env, with only Redis, Postgres and its port fixed to the containers', () => {
      expect(definition.env_file).toBe('.env');
      expect(Object.keys(definition.environment ?? {}).sort()).toEqual(['DATABASE_URL', 'REDIS_URL', portVar].sort());
      expect(new URL(env.REDIS_URL).hostname).toBe('redis');
      expect(new URL(env.DATABASE_URL).hostname).toBe('postgres');
    });

    it('hands its container only variables the relay reads (or compose-only ones): every tunable of .env.example', () => {
      const read = configVariables();
      expect(Object.keys(env).filter((name) => !read.has(name) && !COMPOSE_ONLY_VARS.has(name))).toEqual([]);
      expect(Object.keys(env)).toEqual(expect.arrayContaining(Object.keys(dotenv)));
    });

    it('sets what it cannot run without; the contract variables it leaves unset are the ones .env.example asks the user for', () => {
      for (const name of ['REDIS_URL', 'DATABASE_URL', portVar, 'KEY_PREFIX']) expect({ name, set: Boolean(env[name]) }).toEqual({ name, set: true });
      const commentedOut = new Set(envExampleEntries.filter((e) => e.commented).map((e) => e.name));
      const unset = requiredVars(service).filter((name) => !env[name]);
      expect(unset.filter((name) => !commentedOut.has(name))).toEqual([]);
    });

    it('starts with that environment once the user sets what .env.example leaves to them', () => {
      const configured = { ...env, WEBHOOK_SECRET: 'set-by-the-user', DEST_WEBHOOK_URL: 'https://dest.example/hook', ADMIN_TOKEN: 'set-by-the-user' };
      const config = loadConfig(configured);
      expect(config.ports[service]).toBe(port);
      if (service === 'ingest') expect(requireWebhookAuth(config)).toBe('secret');
      // Without a secret, ingest refuses to start: the user must set one (README, "Who may post signals").
      if (service === 'ingest') expect(() => requireWebhookAuth(loadConfig(env))).toThrow(ConfigError);
    });

    it(`is health-checked on its /health (port ${port}) by the image's check script`, () => {
      expect(definition.healthcheck?.test).toEqual(['CMD', 'node', 'scripts/healthcheck.js', service]);
      expect(env[portVar]).toBe(String(port));
    });

    it('starts after healthy Redis and Postgres and a finished migration, restarts, and has time to stop', () => {
      expect(definition.depends_on).toEqual({
        redis: { condition: 'service_healthy' },
        postgres: { condition: 'service_healthy' },
        migrate: { condition: 'service_completed_successfully' },
      });
      expect(['always', 'unless-stopped', 'on-failure']).toContain(definition.restart);
      expect(durationSeconds(definition.stop_grace_period ?? '10s')).toBeGreaterThan(10);
    });
  });
});

describe('docker-compose.prod.yml', () => {
  it('restarts everything always and bounds its CPU and memory', () => {
    for (const [name, service] of Object.entries(prod.services).filter(([n]) => n !== 'migrate')) {
      expect({ name, restart: service.restart }).toEqual({ name, restart: 'always' });
      expect({ name, limits: service.deploy?.resources?.limits }).toEqual({ name, limits: { cpus: expect.any(String), memory: expect.stringMatching(/^\d+[kmg]$/) } });
    }
  });

  it('runs replicas of approver and forwarder', () => {
    expect(prod.services.approver.deploy?.replicas).toBeGreaterThanOrEqual(2);
    expect(prod.services.forwarder.deploy?.replicas).toBeGreaterThanOrEqual(2);
  });

  it('mounts no source: the containers run what the image holds', () => {
    for (const name of APP) expect({ name, mounts: bindMounts(prod.services[name].volumes) }).toEqual({ name, mounts: [] });
    expect(prod.services.ingest.image).toBe(base.services.ingest.image);
  });
});

describe('docker-compose.dev.yml', () => {
  const dockerfile = read('Dockerfile');

  it("runs the image's build stage, which has the dev dependencies", () => {
    for (const name of APP) {
      const build = dev.services[name].build as { target?: string };
      expect(dockerfile).toMatch(new RegExp(`^FROM \\S+ AS ${build.target}$`, 'm'));
    }
  });

  it("mounts every package's and service's source, read-only, at its place in the image", () => {
    const sources = ['packages/core', 'packages/db', ...SERVICE_NAMES.map((s) => `services/${s}`)].map((dir) => `./${dir}/src:/app/${dir}/src:ro`);
    for (const name of SERVICE_NAMES) expect(dev.services[name].volumes).toEqual(expect.arrayContaining(sources));
    for (const mount of bindMounts(dev.services.ingest.volumes)) expect(fs.existsSync(path.join(ROOT, mount.split(':')[0]))).toBe(true);
  });

  it.each(SERVICE_NAMES)('reloads %s: tsc watches its workspace packages, node --watch restarts it', (service) => {
    const [shell, flag, script] = dev.services[service].command!;
    expect([shell, flag]).toEqual(['sh', '-c']);
    expect(script).toContain(`pnpm --filter '@tsp/${service}...' --parallel exec tsc -w`);
    expect(script).toMatch(new RegExp(`exec node --watch scripts/start-one\\.js ${service}$`));
  });
});
