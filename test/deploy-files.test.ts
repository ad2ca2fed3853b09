/**
 * The deployment files (Dockerfile, docker-compose.yml, k8s/) checked against the contract: no
 * Docker engine or cluster runs where the tests do, so this is what keeps them from drifting.
 * Reads only the repository (CI clones nothing else).
 */
import fs from 'node:fs';
import path from 'node:path';
import { parse, parseAllDocuments } from 'yaml';

const ROOT = path.resolve(__dirname, '..');
const read = (file: string) => fs.readFileSync(path.join(ROOT, file), 'utf8');
const packageJson = JSON.parse(read('package.json')) as { packageManager: string; scripts: Record<string, string> };

// --- The contract (CONTRACT.md sections 1 and 3), copied here ---

const SERVICES = {
  ingest: { port: 8080, portVar: 'INGEST_PORT' },
  screener: { port: 8081, portVar: 'SCREENER_PORT' },
  approver: { port: 8082, portVar: 'APPROVER_PORT' },
  forwarder: { port: 8083, portVar: 'FORWARDER_PORT' },
} as const;
type Service = keyof typeof SERVICES;
const SERVICE_NAMES = Object.keys(SERVICES) as Service[];

/** Section 3, with the default where the contract gives one. */
const CONTRACT_VARS: Record<string, string | null> = {
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
const EVERY_SERVICE = ['REDIS_URL', 'DATABASE_URL', 'KEY_PREFIX', 'LOG_LEVEL', 'ADMIN_TOKEN'];
const SERVICE_VARS: Record<Service, string[]> = {
  // Ingest starts only with WEBHOOK_SECRET or WEBHOOK_ALLOWED_IPS, or WEBHOOK_AUTH=none: each deployment names all three.
  ingest: ['WEBHOOK_SECRET', 'WEBHOOK_ALLOWED_IPS', 'WEBHOOK_AUTH', 'TRUST_PROXY', 'FINVIZ_UPDATE_TOKEN', 'QUEUE_MAX_SIZE', 'FINVIZ_ALLOWED_HOSTS', 'AUDIT_OUTBOX_MAX'],
  screener: ['FINVIZ_URL', 'TOP_N', 'FINVIZ_REFRESH_SEC', 'FINVIZ_USE_ELITE', 'FINVIZ_EMAIL', 'FINVIZ_PASSWORD', 'FINVIZ_AUTH_TOKEN', 'FINVIZ_ALLOWED_HOSTS'],
  approver: ['TOPN_MAX_AGE_SEC', 'SELL_POLICY', 'WORKER_CONCURRENCY', 'SIGNAL_MAX_LAG_SEC'],
  forwarder: [
    'DEST_WEBHOOK_URL', 'DEST_WEBHOOK_SECRET', 'DEST_WEBHOOK_MAX_REQ_PER_MIN', 'DEST_WEBHOOK_MAX_REQ_PER_HOUR', 'DEST_WEBHOOK_RATE_LIMITING_ENABLED',
    'DEST_WEBHOOK_TIMEOUT_MS', 'FORWARD_MAX_ATTEMPTS', 'FORWARDING_WORKERS', 'SIGNAL_TTL_SEC',
  ],
};
const requiredVars = (service: Service) => [SERVICES[service].portVar, ...EVERY_SERVICE, ...SERVICE_VARS[service]];

/** Credentials: never in the ConfigMap, and each reaches only the services that use it. */
const SECRET_OWNERS: Record<string, Service[]> = {
  WEBHOOK_SECRET: ['ingest'],
  FINVIZ_UPDATE_TOKEN: ['ingest'],
  FINVIZ_EMAIL: ['screener'],
  FINVIZ_PASSWORD: ['screener'],
  FINVIZ_AUTH_TOKEN: ['screener'],
  DEST_WEBHOOK_URL: ['forwarder'],
  DEST_WEBHOOK_SECRET: ['forwarder'],
};
const SECRET_VARS = [...Object.keys(SECRET_OWNERS), 'ADMIN_TOKEN', 'DATABASE_URL'];

// --- .env.example: the repository's list of every variable ---

const ENV_EXAMPLE = read('.env.example');
/** `NAME=value` lines, commented (`# NAME=`, meaning unset) or not. */
const envExampleEntries = [...ENV_EXAMPLE.matchAll(/^(#\s*)?([A-Z][A-Z0-9_]*)=(.*)$/gm)].map((m) => ({
  name: m[2],
  value: m[3].trim(),
  commented: Boolean(m[1]),
}));
const KNOWN_VARS = new Set([
  ...Object.keys(CONTRACT_VARS),
  ...SERVICE_NAMES.map((service) => SERVICES[service].portVar),
  ...envExampleEntries.map((entry) => entry.name),
]);

describe('.env.example', () => {
  it.each([...Object.keys(CONTRACT_VARS), ...SERVICE_NAMES.map((s) => SERVICES[s].portVar)])('lists %s', (name) => {
    expect(envExampleEntries.map((entry) => entry.name)).toContain(name);
  });

  it('shows the contract defaults', () => {
    const wrong = envExampleEntries
      .filter((entry) => !entry.commented && CONTRACT_VARS[entry.name])
      .filter((entry) => entry.value !== CONTRACT_VARS[entry.name])
      .map((entry) => `${entry.name}=${entry.value} (contract: ${CONTRACT_VARS[entry.name]})`);
    expect(wrong).toEqual([]);
  });
});

// --- Start commands: whatever a container runs must exist in the repository ---

/** A service's command must be `node scripts/start-one.js <service>`, the same as `pnpm start:<service>`. */
function expectStartCommand(command: unknown, service: Service) {
  expect(command).toEqual(['node', 'scripts/start-one.js', service]);
  expect(packageJson.scripts[`start:${service}`]).toBe((command as string[]).join(' '));
  expect(fs.existsSync(path.join(ROOT, 'scripts/start-one.js'))).toBe(true);
  // scripts/load-env.js is CommonJS JavaScript, outside the TypeScript program: required at run time.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { SERVICES: startable } = require(path.join(ROOT, 'scripts/load-env.js')) as { SERVICES: string[] };
  expect(startable).toContain(service);
}

// --- Dockerfile ---

/** Instructions with their continuation lines joined, comments and blank lines dropped. */
function dockerInstructions(text: string): { op: string; args: string }[] {
  return text
    .replace(/\\\n/g, ' ')
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line && !line.startsWith('#'))
    .map((line) => {
      const [op, ...rest] = line.split(/\s+/);
      return { op: op.toUpperCase(), args: rest.join(' ') };
    });
}

describe('Dockerfile', () => {
  const instructions = dockerInstructions(read('Dockerfile'));
  const finalStage = instructions.slice(instructions.map((i) => i.op).lastIndexOf('FROM'));
  const runs = instructions.filter((i) => i.op === 'RUN').map((i) => i.args);

  it('builds from node:20-bookworm-slim', () => {
    const stages = new Set<string>();
    for (const from of instructions.filter((i) => i.op === 'FROM')) {
      const [image, as, name] = from.args.split(/\s+/);
      if (!stages.has(image)) expect(image).toBe('node:20-bookworm-slim');
      if (as?.toUpperCase() === 'AS') stages.add(name);
    }
    expect(stages.size).toBeGreaterThan(1); // multi-stage: build tools stay out of the runtime image
  });

  it('installs with the lockfile as committed, builds, and drops dev dependencies', () => {
    expect(runs.some((run) => /pnpm install --frozen-lockfile(?!.*--prod)/.test(run))).toBe(true);
    expect(runs.some((run) => /\bpnpm build\b/.test(run))).toBe(true);
    expect(runs.some((run) => /pnpm install --frozen-lockfile .*--prod/.test(run))).toBe(true);
  });

  it("installs the pnpm of package.json's packageManager (pnpm would fetch another at run time)", () => {
    const arg = instructions.find((i) => i.op === 'ARG' && i.args.startsWith('PNPM_VERSION='));
    expect(`pnpm@${arg?.args.split('=')[1]}`).toBe(packageJson.packageManager);
  });

  it('runs as the non-root user node', () => {
    const users = finalStage.filter((i) => i.op === 'USER').map((i) => i.args);
    expect(users.at(-1)).toBe('node');
  });

  it('starts a service that exists, on the contract ports', () => {
    const cmd = finalStage.filter((i) => i.op === 'CMD').at(-1);
    const command = JSON.parse(cmd!.args) as string[];
    expectStartCommand(command, command[2] as Service);
    const exposed = finalStage.filter((i) => i.op === 'EXPOSE').flatMap((i) => i.args.split(/\s+/)).map(Number);
    expect(exposed).toEqual(expect.arrayContaining(SERVICE_NAMES.map((s) => SERVICES[s].port)));
  });

  it('.dockerignore keeps host builds, history and local settings out of the image', () => {
    const ignored = read('.dockerignore').split('\n').map((line) => line.trim());
    for (const pattern of ['**/node_modules', '**/dist', 'packages/db/generated', '.git', '.env']) {
      expect(ignored).toContain(pattern);
    }
  });
});

// --- docker-compose.yml ---

type Env = Record<string, string>;
interface ComposeService {
  image?: string;
  command?: string[];
  environment?: Env | string[];
  depends_on?: Record<string, { condition: string }>;
  healthcheck?: { test: string[] };
  ports?: string[];
  restart?: string;
  stop_grace_period?: string;
}

const compose = parse(read('docker-compose.yml'), { merge: true }) as { services: Record<string, ComposeService> };
/** `${VAR:-default}` replaced by its default: what a run without .env gets. */
const withDefaults = (value: string) => value.replace(/\$\{(\w+)(?::?-([^}]*))?\}/g, (_, _name, fallback) => fallback ?? '');
/** Every string value in the file (comments excluded), for the `${VAR}` references in them. */
const strings = (value: unknown): string[] =>
  typeof value === 'string' ? [value] : value && typeof value === 'object' ? Object.values(value).flatMap(strings) : [];
const interpolations = strings(compose).flatMap((value) =>
  [...value.matchAll(/\$\{(\w+)(?::?-([^}]*))?\}/g)].map((m) => ({ name: m[1], fallback: m[2] })),
);

/** A compose duration ("15s", "1m30s") in seconds. */
function durationSeconds(text: string): number {
  const unit: Record<string, number> = { h: 3600, m: 60, s: 1, ms: 0.001 };
  return [...text.matchAll(/(\d+)(ms|h|m|s)/g)].reduce((sum, [, n, u]) => sum + Number(n) * unit[u], 0);
}

function composeEnv(name: string): Env {
  const env = compose.services[name].environment ?? {};
  const pairs = Array.isArray(env) ? env.map((item) => item.split(/=(.*)/s)) : Object.entries(env);
  return Object.fromEntries(pairs.map(([key, value]) => [key, withDefaults(String(value ?? ''))]));
}

describe('docker-compose.yml', () => {
  it('runs Redis, Postgres, the migration and the four services', () => {
    expect(Object.keys(compose.services).sort()).toEqual(['migrate', 'postgres', 'redis', ...SERVICE_NAMES].sort());
  });

  it('runs Redis 7 with noeviction and an append-only file, with a health check', () => {
    const redis = compose.services.redis;
    expect(redis.image).toMatch(/^redis:7\b/);
    const command = (redis.command ?? []).join(' ');
    expect(command).toContain('--maxmemory-policy noeviction');
    expect(command).toContain('--appendonly yes');
    expect(redis.healthcheck?.test.join(' ')).toContain('ping');
  });

  it('runs Postgres 15 with the credentials every DATABASE_URL uses', () => {
    const postgres = compose.services.postgres;
    expect(postgres.image).toMatch(/^postgres:15\b/);
    expect(postgres.healthcheck?.test.join(' ')).toContain('pg_isready');
    const pgEnv = composeEnv('postgres');
    for (const name of ['migrate', ...SERVICE_NAMES]) {
      const url = new URL(composeEnv(name).DATABASE_URL);
      expect({ service: name, host: url.hostname, port: url.port || '5432', user: url.username }).toEqual({
        service: name, host: 'postgres', port: '5432', user: pgEnv.POSTGRES_USER ?? 'postgres',
      });
      if (pgEnv.POSTGRES_HOST_AUTH_METHOD !== 'trust') expect(decodeURIComponent(url.password)).toBe(pgEnv.POSTGRES_PASSWORD);
    }
  });

  it('migrates once with pnpm db:migrate, after Postgres is healthy', () => {
    const migrate = compose.services.migrate;
    expect(migrate.command).toEqual(['pnpm', 'db:migrate']);
    expect(packageJson.scripts['db:migrate']).toBeDefined();
    expect(migrate.depends_on?.postgres?.condition).toBe('service_healthy');
    expect(migrate.restart ?? 'no').toBe('no');
  });

  describe.each(SERVICE_NAMES)('%s', (service) => {
    const definition = compose.services[service];
    const { port, portVar } = SERVICES[service];

    it('runs its start script', () => expectStartCommand(definition.command, service));

    it(`listens on ${port} and is health-checked there on /health`, () => {
      expect(composeEnv(service)[portVar]).toBe(String(port));
      expect(definition.healthcheck?.test.join(' ')).toContain(`http://127.0.0.1:${port}/health`);
    });

    it('has the variables the contract names for it', () => {
      expect(Object.keys(composeEnv(service))).toEqual(expect.arrayContaining(requiredVars(service)));
      expect(new URL(composeEnv(service).REDIS_URL).hostname).toBe('redis');
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

  it('publishes the ingest port', () => {
    const targets = (compose.services.ingest.ports ?? []).map((mapping) => withDefaults(mapping).split(':').at(-1));
    expect(targets).toContain('8080');
  });

  it('gives each secret only to the services that use it', () => {
    for (const [name, owners] of Object.entries(SECRET_OWNERS)) {
      expect({ name, services: SERVICE_NAMES.filter((s) => name in composeEnv(s)) }).toEqual({ name, services: owners });
    }
  });

  it('uses only variables the relay knows, with the contract defaults', () => {
    // POSTGRES_PASSWORD is compose's own: the password of the Postgres container it starts.
    const known = new Set([...KNOWN_VARS, 'POSTGRES_PASSWORD']);
    const names = [...interpolations.map((i) => i.name), ...['migrate', ...SERVICE_NAMES].flatMap((s) => Object.keys(composeEnv(s)))];
    expect(names.filter((name) => !known.has(name))).toEqual([]);
    const wrong = interpolations.filter((i) => CONTRACT_VARS[i.name] && i.fallback !== CONTRACT_VARS[i.name]);
    expect(wrong).toEqual([]);
  });
});

// --- k8s/ ---

interface Manifest {
  kind: string;
  file: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string> };
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- a Deployment, Job or Service spec from YAML: read field by field below
  spec?: any;
  data?: Record<string, string>;
  stringData?: Record<string, string>;
}

function yamlFiles(dir: string): string[] {
  return fs.readdirSync(path.join(ROOT, dir), { withFileTypes: true }).flatMap((entry) => {
    const relative = path.join(dir, entry.name);
    if (entry.isDirectory()) return yamlFiles(relative);
    return /\.ya?ml$/.test(entry.name) ? [relative] : [];
  });
}

const manifests: Manifest[] = yamlFiles('k8s').flatMap((file) =>
  parseAllDocuments(read(file)).map((doc) => {
    if (doc.errors.length) throw new Error(`${file}: ${doc.errors[0].message}`);
    return { ...(doc.toJS() as Omit<Manifest, 'file'>), file };
  }),
);
const find = (kind: string, name: string) => manifests.find((m) => m.kind === kind && m.metadata.name === name);
const configMaps = manifests.filter((m) => m.kind === 'ConfigMap');
const secrets = manifests.filter((m) => m.kind === 'Secret');
const secretKeys = (name: string) => {
  const secret = secrets.find((s) => s.metadata.name === name);
  return secret ? Object.keys({ ...secret.data, ...secret.stringData }) : [];
};
const configMapKeys = (name: string) => Object.keys(configMaps.find((c) => c.metadata.name === name)?.data ?? {});

interface EnvVar { name: string; value?: string; valueFrom?: { secretKeyRef?: { name: string; key: string }; configMapKeyRef?: { name: string; key: string } } }
interface Container {
  name: string;
  image: string;
  command?: string[];
  ports?: { name?: string; containerPort: number }[];
  env?: EnvVar[];
  envFrom?: { configMapRef?: { name: string }; secretRef?: { name: string } }[];
  readinessProbe?: { httpGet?: { path: string; port: number | string } };
  livenessProbe?: { httpGet?: { path: string; port: number | string } };
  resources?: { requests?: Record<string, string>; limits?: Record<string, string> };
  securityContext?: { runAsNonRoot?: boolean; runAsUser?: number };
}

const workloads = manifests.filter((m) => m.kind === 'Deployment' || m.kind === 'Job');
const podSpec = (workload: Manifest) => workload.spec.template.spec as { containers: Container[]; securityContext?: Container['securityContext']; terminationGracePeriodSeconds?: number; restartPolicy?: string };
const containersOf = (workload: Manifest) => podSpec(workload).containers;

/** Every variable a container gets: its env list plus all keys of the ConfigMaps and Secrets it imports. */
function containerEnvNames(container: Container): string[] {
  return [
    ...(container.env ?? []).map((e) => e.name),
    ...(container.envFrom ?? []).flatMap((from) => [
      ...(from.configMapRef ? configMapKeys(from.configMapRef.name) : []),
      ...(from.secretRef ? secretKeys(from.secretRef.name) : []),
    ]),
  ];
}

/** A probe or Service port by number or by the container's port name. */
function resolvePort(container: Container, port: number | string | undefined): number | undefined {
  if (typeof port === 'number') return port;
  return container.ports?.find((p) => p.name === port)?.containerPort;
}

describe('k8s/', () => {
  it('names no namespace (apply with -n)', () => {
    expect(manifests.filter((m) => m.metadata.namespace).map((m) => m.file)).toEqual([]);
  });

  it('keeps the example Secret out of k8s/ itself, so `kubectl apply -f k8s/` cannot apply placeholders', () => {
    expect(secrets.length).toBeGreaterThan(0);
    for (const secret of secrets) expect(path.dirname(secret.file)).not.toBe('k8s');
  });

  it('marks every example secret value as a placeholder or leaves it empty', () => {
    for (const secret of secrets) {
      for (const [key, value] of Object.entries(secret.stringData ?? {})) {
        expect({ key, placeholder: value === '' || value.includes('REPLACE_ME') }).toEqual({ key, placeholder: true });
      }
      expect(secret.data).toBeUndefined(); // base64 would hide what is a placeholder
    }
  });

  it('keeps credentials in the Secret, never in the ConfigMap', () => {
    for (const name of SECRET_VARS) {
      expect(secrets.some((s) => secretKeys(s.metadata.name).includes(name))).toBe(true);
      expect(configMaps.some((c) => configMapKeys(c.metadata.name).includes(name))).toBe(false);
    }
  });

  it('uses only variables the relay knows, with the contract defaults in the ConfigMap', () => {
    const names = [
      ...workloads.flatMap((w) => containersOf(w).flatMap(containerEnvNames)),
      ...configMaps.flatMap((c) => configMapKeys(c.metadata.name)),
      ...secrets.flatMap((s) => secretKeys(s.metadata.name)),
    ];
    expect(names.filter((name) => !KNOWN_VARS.has(name))).toEqual([]);
    const wrong = configMaps.flatMap((c) =>
      Object.entries(c.data ?? {}).filter(([key, value]) => CONTRACT_VARS[key] && value !== CONTRACT_VARS[key]),
    );
    expect(wrong).toEqual([]);
  });

  it('refers only to ConfigMaps, Secrets and keys that exist', () => {
    const missing: string[] = [];
    for (const container of workloads.flatMap(containersOf)) {
      for (const from of container.envFrom ?? []) {
        if (from.configMapRef && !find('ConfigMap', from.configMapRef.name)) missing.push(`ConfigMap ${from.configMapRef.name}`);
        if (from.secretRef && !find('Secret', from.secretRef.name)) missing.push(`Secret ${from.secretRef.name}`);
      }
      for (const { valueFrom } of container.env ?? []) {
        const { secretKeyRef: s, configMapKeyRef: c } = valueFrom ?? {};
        if (s && !secretKeys(s.name).includes(s.key)) missing.push(`Secret ${s.name} key ${s.key}`);
        if (c && !configMapKeys(c.name).includes(c.key)) missing.push(`ConfigMap ${c.name} key ${c.key}`);
      }
    }
    expect(missing).toEqual([]);
  });

  it('runs one image everywhere, as a non-root user given by number', () => {
    expect(new Set(workloads.flatMap(containersOf).map((c) => c.image)).size).toBe(1);
    for (const workload of workloads) {
      for (const container of containersOf(workload)) {
        // The image's USER is a name; the kubelet can only verify runAsNonRoot with a number.
        const security = { ...podSpec(workload).securityContext, ...container.securityContext };
        expect({ workload: workload.metadata.name, runAsNonRoot: security.runAsNonRoot, nonZeroUser: (security.runAsUser ?? 0) > 0 })
          .toEqual({ workload: workload.metadata.name, runAsNonRoot: true, nonZeroUser: true });
      }
    }
  });

  it('migrates with a Job running pnpm db:migrate with DATABASE_URL', () => {
    const jobs = manifests.filter((m) => m.kind === 'Job');
    expect(jobs).toHaveLength(1);
    const [container] = containersOf(jobs[0]);
    expect(container.command).toEqual(['pnpm', 'db:migrate']);
    expect(containerEnvNames(container)).toContain('DATABASE_URL');
    expect(['Never', 'OnFailure']).toContain(podSpec(jobs[0]).restartPolicy);
  });

  describe.each(SERVICE_NAMES)('%s', (service) => {
    const { port, portVar } = SERVICES[service];
    const deployments = manifests.filter(
      (m) => m.kind === 'Deployment' && containersOf(m).some((c) => c.command?.[2] === service),
    );
    const deployment = deployments[0];
    const container = deployment && containersOf(deployment)[0];

    it('has one Deployment of 2 replicas whose selector matches its pods', () => {
      expect(deployments).toHaveLength(1);
      expect(containersOf(deployment)).toHaveLength(1);
      expect(deployment.spec.replicas).toBe(2);
      expect(deployment.spec.template.metadata.labels).toMatchObject(deployment.spec.selector.matchLabels);
    });

    it('runs its start script', () => expectStartCommand(container.command, service));

    it(`sets ${portVar}=${port}, declares that port and probes /ready and /health on it`, () => {
      const envPort = container.env?.find((e) => e.name === portVar)?.value;
      expect(envPort).toBe(String(port));
      expect(container.ports?.map((p) => p.containerPort)).toContain(port);
      expect(container.readinessProbe?.httpGet?.path).toBe('/ready');
      expect(resolvePort(container, container.readinessProbe?.httpGet?.port)).toBe(Number(envPort));
      expect(container.livenessProbe?.httpGet?.path).toBe('/health');
      expect(resolvePort(container, container.livenessProbe?.httpGet?.port)).toBe(Number(envPort));
    });

    it('has the variables the contract names for it', () => {
      expect(containerEnvNames(container)).toEqual(expect.arrayContaining(requiredVars(service)));
    });

    it('leaves time for the 10 s shutdown and sets resource requests and limits', () => {
      expect(podSpec(deployment).terminationGracePeriodSeconds ?? 30).toBeGreaterThanOrEqual(15);
      for (const kind of ['requests', 'limits'] as const) {
        expect(container.resources?.[kind]).toEqual(expect.objectContaining({ cpu: expect.anything(), memory: expect.anything() }));
      }
    });

    it('has a Service in front of its port', () => {
      const labels = deployment.spec.template.metadata.labels as Record<string, string>;
      const services = manifests.filter(
        (m) => m.kind === 'Service' && Object.entries(m.spec.selector ?? {}).every(([key, value]) => labels[key] === value),
      );
      expect(services).toHaveLength(1);
      const targets = (services[0].spec.ports as { targetPort?: number | string; port: number }[]).map((p) =>
        resolvePort(container, p.targetPort ?? p.port),
      );
      expect(targets).toContain(port);
    });
  });

  it('gives each secret only to the services that use it', () => {
    for (const [name, owners] of Object.entries(SECRET_OWNERS)) {
      const users = SERVICE_NAMES.filter((service) =>
        manifests.some((m) => m.kind === 'Deployment' && containersOf(m).some((c) => c.command?.[2] === service && containerEnvNames(c).includes(name))),
      );
      expect({ name, services: users }).toEqual({ name, services: owners });
    }
  });
});
