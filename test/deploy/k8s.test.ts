/**
 * k8s/: base and every overlay rendered as `kubectl apply -k` would apply them, each object
 * validated against the schema of its apiVersion (core API, KEDA and Prometheus Operator CRDs),
 * then checked against the contract and against each other: autoscalers and budgets target
 * Deployments that exist, policies select pods that exist, KEDA watches BullMQ's real wait lists.
 */
import path from 'node:path';
import { QueueKeys } from 'bullmq';
import { QUEUE } from '@tsp/core';
import { kustomizeBuild, type K8sObject } from '../support/kustomize-build';
import { k8sSchemaErrors } from '../support/k8s-schemas';
import { CONTRACT_VARS, KNOWN_VARS, ROOT, SECRET_OWNERS, SECRET_VARS, SERVICES, SERVICE_NAMES, configVariables, expectStartCommand, requiredVars, type Service } from '../support/deploy-contract';
import { parseAllDocuments } from 'yaml';
import fs from 'node:fs';
import os from 'node:os';

const OVERLAYS = ['base', 'overlays/prod', 'overlays/no-keda', 'overlays/self-contained'] as const;
/** The example Secret each is applied with (k8s/README.md). */
const SECRET_EXAMPLE: Record<(typeof OVERLAYS)[number], string> = {
  base: 'k8s/examples/secret.yaml',
  'overlays/prod': 'k8s/examples/secret.yaml',
  'overlays/no-keda': 'k8s/examples/secret.yaml',
  'overlays/self-contained': 'k8s/examples/secret-self-contained.yaml',
};
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
interface PodSpec { containers: Container[]; initContainers?: Container[]; securityContext?: Container['securityContext']; terminationGracePeriodSeconds?: number }

const podSpec = (o: K8sObject) => o.spec.template.spec as PodSpec;
const podLabels = (o: K8sObject) => o.spec.template.metadata.labels as Record<string, string>;
const matches = (selector: Record<string, string> | undefined, labels: Record<string, string>) => Object.entries(selector ?? {}).every(([k, v]) => labels[k] === v);
const resolvePort = (c: Container, port: number | string | undefined) => (typeof port === 'number' ? port : c.ports?.find((p) => p.name === port)?.containerPort);

describe.each(OVERLAYS)('k8s/%s', (overlay) => {
  const objects = kustomizeBuild(path.join(ROOT, 'k8s', overlay));
  const secret = readObjects(SECRET_EXAMPLE[overlay]).find((o) => o.kind === 'Secret')!;
  const all = [...objects, secret];
  const ofKind = (kind: string) => objects.filter((o) => o.kind === kind);
  const find = (kind: string, name: string) => all.find((o) => o.kind === kind && o.metadata.name === name);
  const configMap = find('ConfigMap', 'tsp-config')!;
  const secretKeys = Object.keys({ ...secret.data, ...secret.stringData });
  const workloads = objects.filter((o) => ['Deployment', 'StatefulSet', 'Job'].includes(o.kind));
  const pods = workloads.map((w) => ({ workload: w, labels: podLabels(w) }));
  const deploymentOf = (service: Service) => ofKind('Deployment').find((d) => podSpec(d).containers.some((c) => c.command?.[2] === service))!;
  const tspContainers = ofKind('Deployment').flatMap((d) => [...podSpec(d).containers, ...(podSpec(d).initContainers ?? [])]);
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
        expect(trigger.type).toBe('redis');
        expect(trigger.metadata.listName).toBe(new QueueKeys(configMap.data!.KEY_PREFIX).toKey(queue!, 'wait'));
        expect(Number(trigger.metadata.listLength)).toBeGreaterThan(0);
        const auth = find('TriggerAuthentication', trigger.authenticationRef!.name)!;
        for (const ref of auth.spec.secretTargetRef as { name: string; key: string }[]) expect({ ...ref, exists: ref.name === secret.metadata.name && secretKeys.includes(ref.key) }).toEqual({ ...ref, exists: true });
      }
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

describe('the manifest checks', () => {
  it('refuse an object the schema refuses, and a kind they have no schema for', () => {
    const broken = { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'x' }, spec: { replicas: 'two', selector: {}, template: { spec: { containers: [{ image: 'tsp' }] } } } };
    const errors = k8sSchemaErrors([broken, { apiVersion: 'example.com/v1', kind: 'Widget', metadata: { name: 'w' } }]);
    expect(errors).toEqual([expect.stringMatching(/replicas must be integer|must have required property 'name'/), expect.stringContaining('no schema for example.com/v1 Widget')]);
  });

  it('refuse a kustomization field the renderer does not implement', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kustomize-'));
    fs.writeFileSync(path.join(dir, 'kustomization.yaml'), 'apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nnamePrefix: x-\n');
    expect(() => kustomizeBuild(dir)).toThrow(/namePrefix not supported/);
    fs.rmSync(dir, { recursive: true });
  });
});
