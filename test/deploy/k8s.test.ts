/**
 * k8s/: base and every overlay rendered as `kubectl apply -k` would apply them, each object
 * validated against the schema of its apiVersion (core API, KEDA and Prometheus Operator CRDs),
 * then checked against the contract and against each other: autoscalers and budgets target
 * Deployments that exist, policies select pods that exist, KEDA watches BullMQ's real wait lists.
 */
import path from 'node:path';
import { QueueKeys } from 'bullmq';
import { QUEUE, loadConfig, parseSentinelUrl, type RedisNode } from '@tsp/core';
import { kustomizeBuild, type K8sObject } from '../support/kustomize-build';
import { k8sSchemaErrors } from '../support/k8s-schemas';
import { CONTRACT_VARS, KNOWN_VARS, ROOT, SECRET_OWNERS, SECRET_VARS, SERVICES, SERVICE_NAMES, configVariables, expectStartCommand, requiredVars, type Service } from '../support/deploy-contract';
import { parseAllDocuments } from 'yaml';
import fs from 'node:fs';
import os from 'node:os';
import { spawnSync } from 'node:child_process';

/**
 * The swaps k8s/README.md describes, built as a user would write them: a kustomization of base and
 * components (and a ConfigMap patch), in a folder of its own outside the repository.
 */
const SWAPS = fs.mkdtempSync(path.join(os.tmpdir(), 'k8s-swaps-'));
function swap(name: string, components: string[], patch?: Record<string, string>): string {
  const dir = path.join(SWAPS, name);
  fs.mkdirSync(dir);
  const from = (p: string) => path.relative(dir, path.join(ROOT, 'k8s', p));
  const patchFile = patch && 'config-patch.yaml';
  if (patchFile) fs.writeFileSync(path.join(dir, patchFile), JSON.stringify({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'tsp-config' }, data: patch }));
  fs.writeFileSync(path.join(dir, 'kustomization.yaml'), JSON.stringify({
    apiVersion: 'kustomize.config.k8s.io/v1beta1',
    kind: 'Kustomization',
    namespace: 'tsp',
    resources: [from('base')],
    components: components.map(from),
    ...(patchFile ? { patches: [{ path: patchFile }] } : {}),
    images: [{ name: 'tsp', newName: 'registry.example.com/tsp', newTag: '0.1.0' }],
  }));
  return dir;
}
afterAll(() => fs.rmSync(SWAPS, { recursive: true, force: true }));

/** Each overlay (and swap) with the example Secret it is applied with (k8s/README.md). */
const OVERLAYS: { name: string; dir: string; secret: string; selfContained?: true }[] = [
  { name: 'base', dir: 'k8s/base', secret: 'k8s/examples/secret.yaml' },
  { name: 'overlays/prod', dir: 'k8s/overlays/prod', secret: 'k8s/examples/secret.yaml' },
  { name: 'overlays/no-keda', dir: 'k8s/overlays/no-keda', secret: 'k8s/examples/secret.yaml' },
  { name: 'overlays/self-contained', dir: 'k8s/overlays/self-contained', secret: 'k8s/examples/secret-self-contained.yaml', selfContained: true },
  { name: 'overlays/self-contained-ha', dir: 'k8s/overlays/self-contained-ha', secret: 'k8s/examples/secret-self-contained-ha.yaml', selfContained: true },
  {
    name: 'self-contained-ha with keda-sentinel for worker-hpa',
    dir: swap('ha-keda', ['components/keda-sentinel', 'components/ingress', 'components/postgres', 'components/redis-sentinel']),
    secret: 'k8s/examples/secret-self-contained-ha.yaml',
    selfContained: true,
  },
  {
    name: 'prod on a Redis Cluster: keda-cluster for keda, REDIS_CLUSTER_NODES in the ConfigMap',
    dir: swap('prod-cluster', ['components/keda-cluster', 'components/ingress', 'components/monitoring'], { REDIS_CLUSTER_NODES: 'redis-0.example.internal:6379,redis-1.example.internal:6379' }),
    secret: 'k8s/examples/secret.yaml',
  },
];
/** KEDA's scaler for each kind of Redis target. */
const SCALER_OF_MODE = { single: 'redis', sentinel: 'redis-sentinel', cluster: 'redis-cluster' } as const;
/** The BullMQ queue each KEDA-scaled worker consumes. */
const QUEUE_OF: Partial<Record<Service, string>> = { approver: QUEUE.signals, forwarder: QUEUE.forward };

const readObjects = (file: string) => parseAllDocuments(fs.readFileSync(path.join(ROOT, file), 'utf8')).map((d) => d.toJS() as K8sObject);

interface Container {
  name: string;
  image: string;
  command?: string[];
  args?: string[];
  ports?: { name?: string; containerPort: number }[];
  env?: { name: string; value?: string; valueFrom?: { secretKeyRef?: { name: string; key: string; optional?: boolean }; configMapKeyRef?: { name: string; key: string } } }[];
  envFrom?: { configMapRef?: { name: string }; secretRef?: { name: string } }[];
  readinessProbe?: { httpGet?: { path: string; port: number | string } };
  livenessProbe?: { httpGet?: { path: string; port: number | string } };
  resources?: { requests?: Record<string, string>; limits?: Record<string, string> };
  securityContext?: { runAsNonRoot?: boolean; runAsUser?: number };
}
interface PodSpec { containers: Container[]; initContainers?: Container[]; securityContext?: Container['securityContext']; terminationGracePeriodSeconds?: number; volumes?: { name: string; configMap?: { name: string } }[] }

const podSpec = (o: K8sObject) => o.spec.template.spec as PodSpec;
const podLabels = (o: K8sObject) => o.spec.template.metadata.labels as Record<string, string>;
const matches = (selector: Record<string, string> | undefined, labels: Record<string, string>) => Object.entries(selector ?? {}).every(([k, v]) => labels[k] === v);
const resolvePort = (c: Container, port: number | string | undefined) => (typeof port === 'number' ? port : c.ports?.find((p) => p.name === port)?.containerPort);

describe.each(OVERLAYS)('k8s: $name', ({ name: overlay, dir, secret: secretExample, selfContained }) => {
  const objects = kustomizeBuild(path.resolve(ROOT, dir));
  const secret = readObjects(secretExample).find((o) => o.kind === 'Secret')!;
  const all = [...objects, secret];
  const ofKind = (kind: string) => objects.filter((o) => o.kind === kind);
  const find = (kind: string, name: string) => all.find((o) => o.kind === kind && o.metadata.name === name);
  const configMap = find('ConfigMap', 'tsp-config')!;
  const secretKeys = Object.keys({ ...secret.data, ...secret.stringData });
  const workloads = objects.filter((o) => ['Deployment', 'StatefulSet', 'Job'].includes(o.kind));
  const pods = workloads.map((w) => ({ workload: w, labels: podLabels(w) }));
  const deploymentOf = (service: Service) => ofKind('Deployment').find((d) => podSpec(d).containers.some((c) => c.command?.[2] === service))!;
  const tspContainers = ofKind('Deployment').flatMap((d) => [...podSpec(d).containers, ...(podSpec(d).initContainers ?? [])]);
  /** What the relay makes of a tsp pod's environment, Redis-wise: the ConfigMap and the Secret's REDIS_URL (its other placeholders are not valid values). */
  const relayConfig = loadConfig({ ...configMap.data, REDIS_URL: secret.stringData!.REDIS_URL });
  const autoscalersOf = (deployment: string) =>
    objects.filter((o) => (o.kind === 'HorizontalPodAutoscaler' || o.kind === 'ScaledObject') && o.spec.scaleTargetRef.name === deployment);

  it('validates against the schema of each apiVersion, its example Secret included', () => {
    expect(k8sSchemaErrors(all)).toEqual([]);
  });

  it('puts everything in the namespace tsp, which it creates', () => {
    expect(find('Namespace', 'tsp')).toBeDefined();
    expect(objects.filter((o) => o.kind !== 'Namespace' && o.metadata.namespace !== 'tsp').map((o) => `${o.kind}/${o.metadata.name}`)).toEqual([]);
    expect(secret.metadata.namespace).toBe('tsp');
  });

  it('runs one image in every tsp container, init containers included, as a non-root user given by number', () => {
    expect(new Set(tspContainers.map((c) => c.image)).size).toBe(1);
    if (overlay !== 'base') expect(tspContainers[0].image).toBe('registry.example.com/tsp:0.1.0');
    for (const workload of workloads) {
      for (const c of [...podSpec(workload).containers, ...(podSpec(workload).initContainers ?? [])]) {
        const security = { ...podSpec(workload).securityContext, ...c.securityContext };
        expect({ c: c.name, runAsNonRoot: security.runAsNonRoot, nonZeroUser: (security.runAsUser ?? 0) > 0 }).toEqual({ c: c.name, runAsNonRoot: true, nonZeroUser: true });
      }
    }
  });

  it('refers only to ConfigMaps, Secrets and keys that exist', () => {
    const missing: string[] = [];
    for (const c of workloads.flatMap((w) => [...podSpec(w).containers, ...(podSpec(w).initContainers ?? [])])) {
      for (const from of c.envFrom ?? []) if (from.configMapRef && !find('ConfigMap', from.configMapRef.name)) missing.push(`ConfigMap ${from.configMapRef.name}`);
      for (const { valueFrom } of c.env ?? []) {
        const { secretKeyRef: s, configMapKeyRef: m } = valueFrom ?? {};
        if (s && (s.name !== secret.metadata.name || !secretKeys.includes(s.key))) missing.push(`Secret ${s.name} key ${s.key}`);
        if (m && !Object.keys(find('ConfigMap', m.name)?.data ?? {}).includes(m.key)) missing.push(`ConfigMap ${m.name} key ${m.key}`);
      }
    }
    for (const volume of workloads.flatMap((w) => podSpec(w).volumes ?? [])) {
      if (volume.configMap && !find('ConfigMap', volume.configMap.name)) missing.push(`ConfigMap ${volume.configMap.name} (volume ${volume.name})`);
    }
    expect(missing).toEqual([]);
  });

  it('gives tsp containers only variables the relay reads, with the contract defaults in the ConfigMap', () => {
    const read = configVariables();
    const names = [...tspContainers.flatMap((c) => (c.env ?? []).map((e) => e.name)), ...Object.keys(configMap.data ?? {})];
    expect(names.filter((name) => !read.has(name) || !KNOWN_VARS.has(name))).toEqual([]);
    expect(Object.entries(configMap.data ?? {}).filter(([k, v]) => CONTRACT_VARS[k] && v !== CONTRACT_VARS[k])).toEqual([]);
  });

  it('keeps credentials in the Secret, never in the ConfigMap, and each only where it is used', () => {
    for (const name of SECRET_VARS) {
      expect(secretKeys).toContain(name);
      expect(Object.keys(configMap.data ?? {})).not.toContain(name);
    }
    for (const [name, owners] of Object.entries(SECRET_OWNERS)) {
      const users = SERVICE_NAMES.filter((s) => podSpec(deploymentOf(s)).containers[0].env?.some((e) => e.name === name));
      expect({ name, users }).toEqual({ name, users: owners });
    }
    for (const [key, value] of Object.entries(secret.stringData ?? {})) {
      expect({ key, placeholder: value === '' || value.includes('REPLACE_ME') || !/:[^/@]*@/.test(value) }).toEqual({ key, placeholder: true });
    }
  });

  describe.each(SERVICE_NAMES)('%s', (service) => {
    const { port, portVar } = SERVICES[service];
    const deployment = deploymentOf(service);
    const [container] = podSpec(deployment).containers;

    it('has one Deployment of one container running its start script, selector matching its pods', () => {
      expect(ofKind('Deployment').filter((d) => d === deployment)).toHaveLength(1);
      expect(podSpec(deployment).containers).toHaveLength(1);
      expect(podLabels(deployment)).toMatchObject(deployment.spec.selector.matchLabels);
      expectStartCommand(container.command, service);
    });

    it(`sets ${portVar}=${port}, declares that port and probes /ready and /health on it`, () => {
      expect(container.env?.find((e) => e.name === portVar)?.value).toBe(String(port));
      expect(container.ports?.map((p) => p.containerPort)).toContain(port);
      expect(container.readinessProbe?.httpGet?.path).toBe('/ready');
      expect(resolvePort(container, container.readinessProbe?.httpGet?.port)).toBe(port);
      expect(container.livenessProbe?.httpGet?.path).toBe('/health');
      expect(resolvePort(container, container.livenessProbe?.httpGet?.port)).toBe(port);
    });

    it('has the variables the contract names for it', () => {
      const names = [...(container.env ?? []).map((e) => e.name), ...Object.keys(configMap.data ?? {})];
      expect(names).toEqual(expect.arrayContaining(requiredVars(service)));
    });

    it('migrates before it starts: an init container runs pnpm db:migrate with DATABASE_URL', () => {
      const init = podSpec(deployment).initContainers ?? [];
      expect(init.map((c) => c.command)).toEqual([['pnpm', 'db:migrate']]);
      expect(init[0].env?.map((e) => e.name)).toEqual(['DATABASE_URL']);
      expect(init[0].image).toBe(container.image);
      expect(init[0].resources?.limits).toEqual(expect.objectContaining({ cpu: expect.anything(), memory: expect.anything() }));
    });

    it('leaves time for the 10 s shutdown and sets resource requests and limits', () => {
      expect(podSpec(deployment).terminationGracePeriodSeconds ?? 30).toBeGreaterThanOrEqual(15);
      for (const kind of ['requests', 'limits'] as const) {
        expect(container.resources?.[kind]).toEqual(expect.objectContaining({ cpu: expect.anything(), memory: expect.anything() }));
      }
    });

    it('has one Service in front of its port, with the port named http', () => {
      const services = ofKind('Service').filter((s) => matches(s.spec.selector, podLabels(deployment)));
      expect(services).toHaveLength(1);
      const ports = services[0].spec.ports as { name?: string; targetPort?: number | string; port: number }[];
      expect(ports.filter((p) => p.name === 'http').map((p) => resolvePort(container, p.targetPort ?? p.port))).toEqual([port]);
    });

    it('has at most one autoscaler, and then leaves its replica count to it', () => {
      const scalers = autoscalersOf(deployment.metadata.name);
      expect(scalers.length).toBeLessThanOrEqual(1);
      if (scalers.length) expect(deployment.spec.replicas).toBeUndefined();
      else if (overlay !== 'base' || service === 'screener') expect(deployment.spec.replicas).toBe(2);
      // Outside the bare base, every service but the screener (one leader works at a time) autoscales.
      if (overlay !== 'base') expect(scalers.length).toBe(service === 'screener' ? 0 : 1);
    });

    it('has a disruption budget selecting its pods and nothing else', () => {
      const budgets = ofKind('PodDisruptionBudget').filter((b) => matches(b.spec.selector.matchLabels, podLabels(deployment)));
      expect(budgets).toHaveLength(1);
      expect(pods.filter((p) => matches(budgets[0].spec.selector.matchLabels, p.labels)).map((p) => p.workload)).toEqual([deployment]);
    });
  });

  it('points every autoscaler at a Deployment that exists', () => {
    for (const scaler of [...ofKind('HorizontalPodAutoscaler'), ...ofKind('ScaledObject')]) {
      const ref = scaler.spec.scaleTargetRef as { apiVersion?: string; kind?: string; name: string };
      expect({ scaler: scaler.metadata.name, kind: ref.kind ?? 'Deployment', apiVersion: ref.apiVersion ?? 'apps/v1', exists: Boolean(find('Deployment', ref.name)) })
        .toEqual({ scaler: scaler.metadata.name, kind: 'Deployment', apiVersion: 'apps/v1', exists: true });
    }
  });

  it("scales the workers with KEDA on the BullMQ wait list of the queue they consume, under the ConfigMap's KEY_PREFIX", () => {
    for (const scaled of ofKind('ScaledObject')) {
      const target = find('Deployment', scaled.spec.scaleTargetRef.name)!;
      const service = podSpec(target).containers[0].command![2] as Service;
      const queue = QUEUE_OF[service];
      expect({ service, queue: Boolean(queue) }).toEqual({ service, queue: true });
      for (const trigger of scaled.spec.triggers as { type: string; metadata: Record<string, string>; authenticationRef?: { name: string } }[]) {
        // The scaler for the Redis the relay is configured with, on the key the relay's BullMQ really
        // uses: under a Cluster the prefix gets its hash tag ({tsp}), as the relay's config derives it.
        expect(trigger.type).toBe(SCALER_OF_MODE[relayConfig.redis.mode]);
        expect(trigger.metadata.listName).toBe(new QueueKeys(relayConfig.keyPrefix).toKey(queue!, 'wait'));
        expect(Number(trigger.metadata.listLength)).toBeGreaterThan(0);
        const auth = find('TriggerAuthentication', trigger.authenticationRef!.name)!;
        for (const ref of auth.spec.secretTargetRef as { name: string; key: string }[]) expect({ ...ref, exists: ref.name === secret.metadata.name && secretKeys.includes(ref.key) }).toEqual({ ...ref, exists: true });
      }
    }
  });

  it('puts every Service in front of pods that exist, on ports they declare', () => {
    for (const service of ofKind('Service')) {
      const selected = workloads.filter((w) => Object.keys(service.spec.selector ?? {}).length > 0 && matches(service.spec.selector, podLabels(w)));
      expect({ service: service.metadata.name, selects: selected.length }).toEqual({ service: service.metadata.name, selects: 1 });
      const declared = podSpec(selected[0]).containers.flatMap((c) => c.ports ?? []);
      for (const port of service.spec.ports as { port: number; targetPort?: number | string }[]) {
        const target = port.targetPort ?? port.port;
        expect({ service: service.metadata.name, target, declared: declared.some((p) => p.name === target || p.containerPort === target) }).toEqual({ service: service.metadata.name, target, declared: true });
      }
    }
  });

  it('gives every StatefulSet its headless Service and a disruption budget, and every budget pods to guard', () => {
    for (const set of ofKind('StatefulSet')) {
      const service = find('Service', set.spec.serviceName);
      expect({ set: set.metadata.name, governed: Boolean(service && matches(service.spec.selector, podLabels(set))) }).toEqual({ set: set.metadata.name, governed: true });
      if (set.spec.replicas > 1) {
        expect({ set: set.metadata.name, headless: service!.spec.clusterIP }).toEqual({ set: set.metadata.name, headless: 'None' });
        expect({ set: set.metadata.name, budgets: ofKind('PodDisruptionBudget').filter((b) => matches(b.spec.selector.matchLabels, podLabels(set))).length }).toEqual({ set: set.metadata.name, budgets: 1 });
      }
    }
    for (const budget of ofKind('PodDisruptionBudget')) {
      expect({ budget: budget.metadata.name, selects: pods.some((p) => matches(budget.spec.selector.matchLabels, p.labels)) }).toEqual({ budget: budget.metadata.name, selects: true });
    }
  });

  describe('network policies', () => {
    interface Rule { ports?: { port: number }[]; from?: Peer[]; to?: Peer[] }
    interface Peer { podSelector?: { matchLabels?: Record<string, string> }; namespaceSelector?: object; ipBlock?: { cidr: string } }
    const policies = ofKind('NetworkPolicy');
    const selecting = (labels: Record<string, string>) => policies.filter((p) => matches(p.spec.podSelector.matchLabels, labels));
    const rules = (labels: Record<string, string>, direction: 'ingress' | 'egress') => selecting(labels).flatMap((p) => (p.spec[direction] ?? []) as Rule[]);
    const anywhere = (peers?: Peer[]) => !peers?.length || peers.some((peer) => peer.ipBlock?.cidr === '0.0.0.0/0');
    const tspPods = pods.filter((p) => p.workload.kind === 'Deployment');
    const component = (p: { labels: Record<string, string> }) => p.labels['app.kubernetes.io/component'];

    it('deny everything not allowed, for every pod', () => {
      const deny = policies.find((p) => Object.keys(p.spec.podSelector).length === 0 && !p.spec.ingress && !p.spec.egress);
      expect(deny?.spec.policyTypes).toEqual(['Ingress', 'Egress']);
    });

    it('select pods that exist, and name peers that exist', () => {
      for (const policy of policies) {
        expect({ policy: policy.metadata.name, selects: pods.some((p) => matches(policy.spec.podSelector.matchLabels, p.labels)) }).toEqual({ policy: policy.metadata.name, selects: true });
        for (const peer of [...(policy.spec.ingress ?? []), ...(policy.spec.egress ?? [])].flatMap((r: Rule) => [...(r.from ?? []), ...(r.to ?? [])])) {
          if (peer.podSelector && !peer.namespaceSelector) expect(pods.some((p) => matches(peer.podSelector!.matchLabels, p.labels))).toBe(true);
        }
      }
    });

    it('let only ingest be reached from outside', () => {
      expect(pods.filter((p) => rules(p.labels, 'ingress').some((r) => anywhere(r.from))).map(component)).toEqual(['ingest']);
    });

    it('let the services reach DNS, Redis and Postgres, and only the screener and the forwarder the internet (80, 443)', () => {
      for (const pod of tspPods) {
        const ports = new Set(rules(pod.labels, 'egress').flatMap((r) => (r.ports ?? []).map((p) => p.port)));
        expect({ pod: component(pod), ports: [53, 6379, 5432].every((p) => ports.has(p)) }).toEqual({ pod: component(pod), ports: true });
        const web = rules(pod.labels, 'egress').filter((r) => anywhere(r.to) && (r.ports ?? []).some((p) => [80, 443].includes(p.port)));
        expect({ pod: component(pod), internet: web.length > 0 }).toEqual({ pod: component(pod), internet: ['screener', 'forwarder'].includes(component(pod)) });
        expect({ pod: component(pod), other: [...ports].filter((p) => ![53, 6379, 26379, 5432, 80, 443].includes(p)) }).toEqual({ pod: component(pod), other: [] });
      }
    });
  });

  if (overlay === 'base') return;

  it('publishes ingest through an Ingress with TLS for its host', () => {
    const [ingress] = ofKind('Ingress');
    const hosts = (ingress.spec.rules as { host: string }[]).map((r) => r.host);
    expect(ingress.spec.tls[0].secretName).toBeTruthy();
    expect(ingress.spec.tls[0].hosts).toEqual(expect.arrayContaining(hosts));
    for (const backend of (ingress.spec.rules as { http: { paths: { backend: { service: { name: string; port: { name: string } } } }[] } }[]).flatMap((r) => r.http.paths.map((p) => p.backend.service))) {
      const service = find('Service', backend.name)!;
      expect(matches(service.spec.selector, podLabels(deploymentOf('ingest')))).toBe(true);
      expect(service.spec.ports.map((p: { name: string }) => p.name)).toContain(backend.port.name);
    }
  });

  if (find('StatefulSet', 'tsp-redis-sentinel')) describeSentinelGroup({ objects, secret, relayConfig });

  if (overlay === 'overlays/self-contained') {
    it('runs Redis with noeviction and AOF, and Postgres with the password of the Secret, where its URLs point', () => {
      const redis = find('StatefulSet', 'tsp-redis')!;
      expect(podSpec(redis).containers[0].args?.join(' ')).toMatch(/--appendonly yes.*--maxmemory-policy noeviction/);
      const postgres = find('StatefulSet', 'tsp-postgres')!;
      expect(podSpec(postgres).containers[0].env?.find((e) => e.name === 'POSTGRES_PASSWORD')?.valueFrom?.secretKeyRef?.key).toBe('POSTGRES_PASSWORD');
      const redisUrl = new URL(secret.stringData!.REDIS_URL);
      const databaseUrl = new URL(secret.stringData!.DATABASE_URL);
      expect(decodeURIComponent(databaseUrl.password)).toBe(secret.stringData!.POSTGRES_PASSWORD);
      for (const [url, statefulSet, port] of [[redisUrl, redis, 6379], [databaseUrl, postgres, 5432]] as const) {
        const service = find('Service', url.hostname)!;
        expect(matches(service.spec.selector, podLabels(statefulSet))).toBe(true);
        expect(service.spec.ports.map((p: { port: number }) => p.port)).toContain(Number(url.port || port));
      }
    });
    return;
  }
  if (selfContained) return;

  it('lets the Prometheus Operator scrape /metrics of each service, and of nothing else', () => {
    const [monitor] = ofKind('ServiceMonitor');
    const scraped = ofKind('Service').filter((s) => matches(monitor.spec.selector.matchLabels, s.metadata.labels ?? {}));
    expect(scraped.map((s) => s.metadata.name).sort()).toEqual(SERVICE_NAMES.map((s) => `tsp-${s}`).sort());
    for (const endpoint of monitor.spec.endpoints as { port: string; path: string }[]) {
      expect(endpoint.path).toBe('/metrics');
      for (const s of scraped) expect(s.spec.ports.map((p: { name: string }) => p.name)).toContain(endpoint.port);
    }
  });
});

/**
 * components/redis-sentinel: a master and a replica watched by three Sentinels, and a REDIS_URL
 * (read by the relay's own parser) that names those Sentinels and the master they watch.
 */
function describeSentinelGroup({ objects, secret, relayConfig }: { objects: K8sObject[]; secret: K8sObject; relayConfig: ReturnType<typeof loadConfig> }) {
  const find = (kind: string, name: string) => objects.find((o) => o.kind === kind && o.metadata.name === name);
  const sentinels = find('StatefulSet', 'tsp-redis-sentinel')!;
  const redis = find('StatefulSet', 'tsp-redis')!;
  const envOf = (set: K8sObject) => Object.fromEntries((podSpec(set).containers[0].env ?? []).map((e) => [e.name, e.value]));
  const haConfig = find('ConfigMap', 'tsp-redis-ha')!.data!;
  const workloads = objects.filter((o) => ['Deployment', 'StatefulSet'].includes(o.kind));
  const policies = objects.filter((o) => o.kind === 'NetworkPolicy');
  const tspPod = podLabels(workloads.find((w) => w.kind === 'Deployment')!);

  /** `<pod>.<service>` or `<pod>.<service>.<namespace>.svc`: a pod of a StatefulSet through its headless Service, on a port it serves. */
  const expectPodAddress = ({ host, port }: RedisNode, set: K8sObject) => {
    const [pod, service, namespace, svc, ...rest] = host.split('.');
    expect({ host, namespace: namespace ?? 'tsp', svc: svc ?? 'svc', rest }).toEqual({ host, namespace: 'tsp', svc: 'svc', rest: [] });
    expect(service).toBe(set.spec.serviceName);
    const ordinal = Number(pod.slice(set.metadata.name.length + 1));
    expect({ host, pod: pod.startsWith(`${set.metadata.name}-`) && Number.isInteger(ordinal) && ordinal >= 0 && ordinal < set.spec.replicas }).toEqual({ host, pod: true });
    const headless = find('Service', service)!;
    expect(headless.spec.clusterIP).toBe('None');
    expect(matches(headless.spec.selector, podLabels(set))).toBe(true);
    expect(headless.spec.ports.map((p: { port: number }) => p.port)).toContain(port);
  };

  it("gives the services a REDIS_URL the relay reads as this group: every Sentinel by name, and the master's name they watch", () => {
    const target = parseSentinelUrl(secret.stringData!.REDIS_URL);
    expect(relayConfig.redis).toEqual(target);
    if (target.mode !== 'sentinel') throw new Error('not a Sentinel URL');
    expect(target.sentinels).toHaveLength(sentinels.spec.replicas);
    expect(new Set(target.sentinels.map((s) => s.host)).size).toBe(sentinels.spec.replicas);
    for (const node of target.sentinels) expectPodAddress(node, sentinels);
    expect(envOf(sentinels).MASTER_NAME).toBe(target.masterName);
    expect(envOf(redis).MASTER_NAME).toBe(target.masterName);
  });

  it('gives KEDA (when used) the same Sentinels, by names that resolve from its namespace, and the same master', () => {
    const target = parseSentinelUrl(secret.stringData!.REDIS_URL);
    const keda = parseSentinelUrl(`redis+sentinel://${secret.stringData!.KEDA_REDIS_SENTINEL_ADDRESSES}/${secret.stringData!.KEDA_REDIS_SENTINEL_MASTER}`);
    if (keda.mode !== 'sentinel' || target.mode !== 'sentinel') throw new Error('not a Sentinel group');
    expect(keda.masterName).toBe(target.masterName);
    expect(keda.sentinels).toHaveLength(sentinels.spec.replicas);
    for (const node of keda.sentinels) {
      expect(node.host).toMatch(/\.tsp\.svc$/);
      expectPodAddress(node, sentinels);
    }
  });

  it('runs a master and a replica with AOF and noeviction, three Sentinels with a majority quorum that name hosts, and waits for the replica', () => {
    expect(redis.spec.replicas).toBeGreaterThanOrEqual(2);
    expect(sentinels.spec.replicas).toBeGreaterThanOrEqual(3);
    expect(Number(envOf(sentinels).QUORUM)).toBeGreaterThan(sentinels.spec.replicas / 2);
    expect(Number(envOf(sentinels).SENTINELS)).toBe(sentinels.spec.replicas);
    expect(Number(envOf(redis).SENTINELS)).toBe(sentinels.spec.replicas);
    expect(Number(envOf(sentinels).REDIS_NODES)).toBe(redis.spec.replicas);
    expect([envOf(redis).REDIS_SERVICE, envOf(sentinels).REDIS_SERVICE]).toEqual([redis.spec.serviceName, redis.spec.serviceName]);
    expect([envOf(redis).SENTINEL_SERVICE, envOf(sentinels).SENTINEL_SERVICE]).toEqual([sentinels.spec.serviceName, sentinels.spec.serviceName]);
    const conf = haConfig['redis.conf'].split('\n').map((l) => l.trim());
    expect(conf).toEqual(expect.arrayContaining(['appendonly yes', 'maxmemory-policy noeviction']));
    const script = haConfig['sentinel-start.sh'];
    const order = ['sentinel resolve-hostnames yes', 'sentinel announce-hostnames yes', 'sentinel monitor'].map((line) => script.indexOf(line));
    expect(order.every((at, i) => at > 0 && (i === 0 || at > order[i - 1]))).toBe(true);
    expect(haConfig['redis-start.sh']).toMatch(/replicaof /);
    // Ingest's WAIT for the replica, which the group has (one fewer than its nodes).
    expect(relayConfig.redisWaitReplicas).toBe(1);
    expect(relayConfig.redisWaitReplicas).toBeLessThan(redis.spec.replicas);
  });

  it('starts each pod with a script sh can parse, from the ConfigMap its command names', () => {
    for (const set of [redis, sentinels]) {
      const [container] = podSpec(set).containers;
      const mount = (container as Container & { volumeMounts: { name: string; mountPath: string }[] }).volumeMounts.find((m) => container.command![1].startsWith(`${m.mountPath}/`))!;
      const volume = podSpec(set).volumes!.find((v) => v.name === mount.name)!;
      const script = find('ConfigMap', volume.configMap!.name)!.data![container.command![1].slice(mount.mountPath.length + 1)];
      expect({ set: set.metadata.name, script: typeof script }).toEqual({ set: set.metadata.name, script: 'string' });
      const parsed = spawnSync('sh', ['-n'], { input: script, encoding: 'utf8' });
      expect({ set: set.metadata.name, status: parsed.status, stderr: parsed.stderr }).toEqual({ set: set.metadata.name, status: 0, stderr: '' });
    }
  });

  it('lets the services reach Redis (6379) and the Sentinels (26379), and the group reach itself', () => {
    const admits = (set: K8sObject, port: number, from: Record<string, string>) => policies
      .filter((p) => matches(p.spec.podSelector.matchLabels, podLabels(set)))
      .flatMap((p) => (p.spec.ingress ?? []) as { from?: { podSelector?: { matchLabels: Record<string, string> }; namespaceSelector?: object }[]; ports?: { port: number }[] }[])
      .some((r) => r.ports?.some((p) => p.port === port) && r.from?.some((peer) => !peer.namespaceSelector && peer.podSelector && matches(peer.podSelector.matchLabels, from)));
    const sends = (set: K8sObject, port: number, to: Record<string, string>) => policies
      .filter((p) => matches(p.spec.podSelector.matchLabels, podLabels(set)))
      .flatMap((p) => (p.spec.egress ?? []) as { to?: { podSelector?: { matchLabels: Record<string, string> } }[]; ports?: { port: number }[] }[])
      .some((r) => r.ports?.some((p) => p.port === port) && r.to?.some((peer) => peer.podSelector && matches(peer.podSelector.matchLabels, to)));
    const [redisPod, sentinelPod] = [podLabels(redis), podLabels(sentinels)];
    expect({
      relayToRedis: admits(redis, 6379, tspPod),
      relayToSentinels: admits(sentinels, 26379, tspPod),
      replication: admits(redis, 6379, redisPod) && sends(redis, 6379, redisPod),
      sentinelsWatchRedis: admits(redis, 6379, sentinelPod) && sends(sentinels, 6379, redisPod),
      sentinelsTalk: admits(sentinels, 26379, sentinelPod) && sends(sentinels, 26379, sentinelPod),
      redisAsksSentinels: admits(sentinels, 26379, redisPod) && sends(redis, 26379, sentinelPod),
    }).toEqual({ relayToRedis: true, relayToSentinels: true, replication: true, sentinelsWatchRedis: true, sentinelsTalk: true, redisAsksSentinels: true });
  });
}

describe('the manifest checks', () => {
  it('refuse an object the schema refuses, and a kind they have no schema for', () => {
    const broken = { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'x' }, spec: { replicas: 'two', selector: {}, template: { spec: { containers: [{ image: 'tsp' }] } } } };
    const errors = k8sSchemaErrors([broken, { apiVersion: 'example.com/v1', kind: 'Widget', metadata: { name: 'w' } }]);
    expect(errors).toEqual([expect.stringMatching(/replicas must be integer|must have required property 'name'/), expect.stringContaining('no schema for example.com/v1 Widget')]);
  });

  it('merge a ConfigMap patch into its target, and refuse a patch with a list or without a target', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kustomize-'));
    const write = (file: string, value: object) => fs.writeFileSync(path.join(dir, file), JSON.stringify(value));
    write('cm.yaml', { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c', labels: { a: '1' } }, data: { A: '1', B: '2' } });
    write('patch.yaml', { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c' }, data: { B: '3', C: '4' } });
    write('kustomization.yaml', { apiVersion: 'kustomize.config.k8s.io/v1beta1', kind: 'Kustomization', resources: ['cm.yaml'], patches: [{ path: 'patch.yaml' }] });
    expect(kustomizeBuild(dir)).toEqual([{ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c', labels: { a: '1' } }, data: { A: '1', B: '3', C: '4' } }]);
    write('patch.yaml', { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'other' }, data: { B: '3' } });
    expect(() => kustomizeBuild(dir)).toThrow(/finds 0 ConfigMap other/);
    write('patch.yaml', { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c' }, data: { B: ['3'] } });
    expect(() => kustomizeBuild(dir)).toThrow(/only maps and scalars/);
    fs.rmSync(dir, { recursive: true });
  });

  it('refuse a kustomization field the renderer does not implement', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kustomize-'));
    fs.writeFileSync(path.join(dir, 'kustomization.yaml'), 'apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nnamePrefix: x-\n');
    expect(() => kustomizeBuild(dir)).toThrow(/namePrefix not supported/);
    fs.rmSync(dir, { recursive: true });
  });
});
