/**
 * components/redis-sentinel run for real: its start scripts, from its ConfigMap, starting two
 * Redis nodes and three Sentinels (redis-server, as the redis image runs them), with the names,
 * counts and environment of the rendered StatefulSets. Each pod is a process whose DNS names
 * (`tsp-redis-0.tsp-redis`, `….tsp.svc`) resolve to a loopback address of its own, through a hosts
 * file bind-mounted over /etc/hosts in a mount namespace of its own (unshare). What differs from a
 * cluster, because here the pods share one filesystem and one network: each volume's mount path
 * is a folder of the pod's, and redis-server binds the pod's address only.
 *
 * It checks what a Kubernetes cluster would put the scripts through: the first start, the loss of
 * the master (SIGKILL), the killed pod coming back, and a Sentinel coming back without its state.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { waitFor } from '../support/helpers';
import { kustomizeBuild, type K8sObject } from '../support/kustomize-build';
import { ROOT } from '../support/deploy-contract';

interface Container {
  command: string[];
  env: { name: string; value?: string; valueFrom?: { fieldRef?: { fieldPath: string } } }[];
  volumeMounts: { name: string; mountPath: string }[];
}
interface Volume { name: string; configMap?: { name: string }; emptyDir?: object; persistentVolumeClaim?: object }

const objects = kustomizeBuild(path.join(ROOT, 'k8s/overlays/self-contained-ha'));
const find = (kind: string, name: string) => objects.find((o) => o.kind === kind && o.metadata.name === name)!;
const redisSet = find('StatefulSet', 'tsp-redis');
const sentinelSet = find('StatefulSet', 'tsp-redis-sentinel');
const NAMESPACE = redisSet.metadata.namespace!;

const onPath = (bin: string) => spawnSync('sh', ['-c', `command -v ${bin}`], { encoding: 'utf8' }).stdout.trim();
const REDIS_SERVER = onPath('redis-server');
/** `unshare -m` as root, `unshare -rm` (a user namespace) otherwise, whichever may bind-mount here. */
const UNSHARE = [['-m'], ['-r', '-m']].find((flags) => spawnSync('unshare', [...flags, 'sh', '-c', 'mount --bind /etc/hosts /etc/hosts'], { stdio: 'ignore' }).status === 0);
const runnable = Boolean(REDIS_SERVER && onPath('redis-cli') && UNSHARE);

/** A loopback network of this run's own: other runs of this file may be going at the same time. */
const NET = `127.${100 + (process.pid % 100)}.${1 + Math.floor(Math.random() * 250)}`;

function cli(pod: Pod, ...args: string[]): string {
  return spawnSync('redis-cli', ['-h', pod.ip, '-p', String(pod.port), ...args], { encoding: 'utf8', timeout: 5000 }).stdout ?? '';
}
const field = (info: string, name: string) => new RegExp(`^${name}:(.*)$`, 'm').exec(info)?.[1]?.trim();

class Pod {
  private child: ChildProcess | null = null;
  private exited: Promise<void> = Promise.resolve();
  readonly dir: string;

  constructor(readonly set: K8sObject, readonly ordinal: number, readonly ip: string, readonly port: number, work: string, private readonly hosts: string) {
    this.dir = path.join(work, this.name);
  }

  get name(): string {
    return `${this.set.metadata.name}-${this.ordinal}`;
  }

  /** The name the scripts give this pod: `<pod>.<headless service>.<namespace>.svc`. */
  get dnsName(): string {
    return `${this.name}.${this.set.spec.serviceName}.${NAMESPACE}.svc`;
  }

  /** The pod's volumes as folders of its own, the ConfigMap's files in theirs; paths in them follow. */
  private lay(container: Container): (text: string) => string {
    const volumes = this.set.spec.template.spec.volumes as Volume[];
    const mounts = container.volumeMounts.map((m) => ({ ...m, folder: path.join(this.dir, m.name) }));
    const relocate = (text: string) => mounts.reduce((t, m) => t.split(m.mountPath).join(m.folder), text);
    for (const mount of mounts) {
      fs.mkdirSync(mount.folder, { recursive: true });
      const volume = volumes.find((v) => v.name === mount.name);
      if (volume?.configMap) {
        for (const [file, text] of Object.entries(find('ConfigMap', volume.configMap.name).data!)) fs.writeFileSync(path.join(mount.folder, file), relocate(text));
      }
    }
    return relocate;
  }

  start(): void {
    const container = this.set.spec.template.spec.containers[0] as Container;
    const relocate = this.lay(container);
    const bin = path.join(this.dir, 'bin');
    fs.mkdirSync(bin, { recursive: true });
    fs.writeFileSync(path.join(bin, 'redis-server'), `#!/bin/sh\nexec ${REDIS_SERVER} "$@" --bind ${this.ip}\n`, { mode: 0o755 });
    const env: Record<string, string> = { PATH: `${bin}:${process.env.PATH}`, HOSTNAME: this.name };
    for (const e of container.env) {
      if (e.value !== undefined) env[e.name] = e.value;
      else if (e.valueFrom?.fieldRef?.fieldPath === 'metadata.namespace') env[e.name] = NAMESPACE;
      else throw new Error(`${this.name}: env ${e.name} comes from something this test does not provide`);
    }
    const command = container.command.map(relocate).map((arg) => `'${arg}'`).join(' ');
    const log = fs.openSync(path.join(this.dir, 'log'), 'a');
    fs.writeSync(log, '----- start\n');
    const child = spawn('unshare', [...UNSHARE!, 'sh', '-c', `mount --bind ${this.hosts} /etc/hosts && exec ${command}`], { env, stdio: ['ignore', log, log] });
    fs.closeSync(log);
    this.child = child;
    this.exited = new Promise((resolve) => child.once('exit', () => resolve()));
  }

  /** A lost node: no shutdown. */
  async kill(): Promise<void> {
    this.child?.kill('SIGKILL');
    await this.exited;
    this.child = null;
  }

  log(): string {
    return fs.readFileSync(path.join(this.dir, 'log'), 'utf8');
  }
}

(runnable ? describe : describe.skip)(`components/redis-sentinel's scripts on real redis-server processes${runnable ? '' : ' (SKIPPED: needs redis-server, redis-cli and unshare with bind mounts)'}`, () => {
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'redis-sentinel-pods-'));
  const hosts = path.join(work, 'hosts');
  const redis = Array.from({ length: redisSet.spec.replicas as number }, (_, i) => new Pod(redisSet, i, `${NET}.${i + 1}`, 6379, work, hosts));
  const sentinels = Array.from({ length: sentinelSet.spec.replicas as number }, (_, i) => new Pod(sentinelSet, i, `${NET}.${i + 101}`, 26379, work, hosts));
  const masterName = (sentinelSet.spec.template.spec.containers[0] as Container).env.find((e) => e.name === 'MASTER_NAME')!.value!;
  const masterOf = (sentinel: Pod) => cli(sentinel, 'sentinel', 'get-master-addr-by-name', masterName).split('\n')[0];
  const everySentinelNames = (pod: Pod) => sentinels.every((s) => masterOf(s) === pod.dnsName) || null;
  /** On failure, what each pod said. */
  const logs = () => [...redis, ...sentinels].map((p) => `--- ${p.name}\n${p.log().split('\n').slice(-15).join('\n')}`).join('\n');

  beforeAll(() => {
    // Both names a pod has: the short one (the namespace's search domain) and the full one.
    fs.writeFileSync(hosts, ['127.0.0.1 localhost', ...[...redis, ...sentinels].map((p) => `${p.ip} ${p.dnsName} ${p.name}.${p.set.spec.serviceName}`)].join('\n') + '\n');
    for (const pod of [...redis, ...sentinels]) pod.start();
  });
  afterAll(async () => {
    await Promise.all([...redis, ...sentinels].map((p) => p.kill()));
    fs.rmSync(work, { recursive: true, force: true });
  });

  it('first start: pod 0 is master, pod 1 its replica, and the Sentinels name them and each other by DNS name', async () => {
    const [first, second] = redis;
    await waitFor(() => field(cli(second, 'info', 'replication'), 'master_link_status') === 'up' || null, 20_000, `the replica's link up\n${logs()}`);
    expect(field(cli(first, 'info', 'replication'), 'role')).toBe('master');
    expect(field(cli(second, 'info', 'replication'), 'master_host')).toBe(first.dnsName);
    await waitFor(() => everySentinelNames(first), 20_000, `every Sentinel to name ${first.dnsName}\n${logs()}`);
    await waitFor(() => sentinels.every((s) => cli(s, 'sentinel', 'sentinels', masterName).split('\n').filter((l) => l.endsWith(`.${sentinelSet.spec.serviceName}.${NAMESPACE}.svc`)).length === sentinels.length - 1) || null,
      20_000, `the Sentinels to know each other by name\n${logs()}`);
    // A Sentinel learns the replicas from the master's INFO, every 10 s: a failover before that has nothing to promote.
    await waitFor(() => sentinels.every((s) => cli(s, 'sentinel', 'replicas', masterName).split('\n').includes(second.dnsName)) || null, 30_000, `every Sentinel to know the replica by name\n${logs()}`);
  }, 90_000);

  it('the master lost: the Sentinels promote the replica', async () => {
    const [first, second] = redis;
    await first.kill();
    await waitFor(() => everySentinelNames(second), 30_000, `every Sentinel to name ${second.dnsName}\n${logs()}`);
    await waitFor(() => field(cli(second, 'info', 'replication'), 'role') === 'master' || null, 10_000, 'the replica promoted');
  }, 60_000);

  it('the lost pod, started again, follows the new master instead of taking its old role back', async () => {
    const [first, second] = redis;
    first.start();
    // Started as a replica by its script: not a master that a Sentinel has to demote later.
    await waitFor(() => /^starting as .*$/m.test(first.log().split('----- start').pop()!) || null, 10_000, 'the start script to run');
    expect(first.log().split('----- start').pop()).toContain(`starting as ${first.dnsName}; master ${second.dnsName}:6379`);
    await waitFor(() => field(cli(first, 'info', 'replication'), 'master_link_status') === 'up' || null, 20_000, `the old master to replicate the new one\n${logs()}`);
    expect(field(cli(first, 'info', 'replication'), 'master_host')).toBe(second.dnsName);
    expect(cli(second, 'set', 'k8s-redis-sentinel-test', 'written on the new master').trim()).toBe('OK');
    await waitFor(() => cli(first, 'get', 'k8s-redis-sentinel-test').trim() === 'written on the new master' || null, 10_000, 'the write replicated');
    expect(everySentinelNames(second)).toBe(true);
  }, 60_000);

  it('a Sentinel started again without its state learns the current master from the others', async () => {
    const [, second] = redis;
    const last = sentinels[sentinels.length - 1];
    await last.kill();
    const state = (last.set.spec.template.spec.containers[0] as Container).volumeMounts.find((m) => m.mountPath === '/data')!;
    fs.rmSync(path.join(last.dir, state.name), { recursive: true, force: true });
    last.start();
    await waitFor(() => masterOf(last) === second.dnsName || null, 20_000, `the restarted Sentinel to name ${second.dnsName}\n${logs()}`);
    expect(fs.readFileSync(path.join(last.dir, state.name, 'sentinel.conf'), 'utf8')).toContain(`sentinel monitor ${masterName} ${second.dnsName} 6379`);
  }, 60_000);
});
