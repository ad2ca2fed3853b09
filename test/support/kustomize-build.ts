/**
 * `kustomize build` for the subset of kustomization fields k8s/ uses: resources (files and
 * folders), components, namespace, images, and patches given by path whose body holds only maps
 * (where a strategic-merge patch is a plain recursive merge). No kustomize is published on npm, and no binary
 * may be downloaded here. Any other field is refused rather than ignored, so this never renders
 * something the real kustomize (kubectl apply -k) would render differently without saying so.
 */
import fs from 'node:fs';
import path from 'node:path';
import { parse, parseAllDocuments } from 'yaml';

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- a Kubernetes object from YAML, read field by field by the tests
export type K8sObject = { apiVersion: string; kind: string; metadata: { name: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> }; spec?: any; data?: Record<string, string>; stringData?: Record<string, string> };

interface Kustomization {
  apiVersion: string;
  kind: 'Kustomization' | 'Component';
  namespace?: string;
  resources?: string[];
  components?: string[];
  images?: { name: string; newName?: string; newTag?: string }[];
  patches?: { path?: string; target?: unknown; patch?: string; options?: unknown }[];
}

const FIELDS = new Set(['apiVersion', 'kind', 'namespace', 'resources', 'components', 'images', 'patches']);
const API_VERSIONS = { Kustomization: 'kustomize.config.k8s.io/v1beta1', Component: 'kustomize.config.k8s.io/v1alpha1' };
/** Kinds without a namespace among those k8s/ could hold. */
const CLUSTER_SCOPED = new Set(['Namespace', 'ClusterRole', 'ClusterRoleBinding', 'CustomResourceDefinition', 'PersistentVolume', 'StorageClass', 'PriorityClass', 'ClusterTriggerAuthentication']);

function readKustomization(dir: string, expected: Kustomization['kind']): Kustomization {
  const file = path.join(dir, 'kustomization.yaml');
  if (!fs.existsSync(file)) throw new Error(`${dir}: no kustomization.yaml`);
  const k = parse(fs.readFileSync(file, 'utf8')) as Kustomization;
  const unknown = Object.keys(k).filter((key) => !FIELDS.has(key));
  if (unknown.length) throw new Error(`${file}: ${unknown.join(', ')} not supported by this renderer`);
  if (k.kind !== expected || k.apiVersion !== API_VERSIONS[expected]) throw new Error(`${file}: expected ${API_VERSIONS[expected]} ${expected}, got ${k.apiVersion} ${k.kind}`);
  return k;
}

function readResourceFile(file: string): K8sObject[] {
  return parseAllDocuments(fs.readFileSync(file, 'utf8')).flatMap((doc) => {
    if (doc.errors.length) throw new Error(`${file}: ${doc.errors[0].message}`);
    const value = doc.toJS() as K8sObject | null;
    return value ? [value] : [];
  });
}

/** Kustomize loads files only from inside the kustomization's own folder (folders may be anywhere). */
function resource(dir: string, entry: string): K8sObject[] {
  const target = path.resolve(dir, entry);
  if (fs.statSync(target).isDirectory()) return collect(target, 'Kustomization');
  if (path.relative(dir, target).startsWith('..')) throw new Error(`${dir}: file ${entry} is outside the kustomization (kustomize refuses it)`);
  return readResourceFile(target);
}

function podSpecs(object: K8sObject): { containers?: { image: string }[]; initContainers?: { image: string }[] }[] {
  if (['Deployment', 'StatefulSet', 'DaemonSet', 'Job'].includes(object.kind)) return [object.spec.template.spec];
  if (object.kind === 'CronJob') return [object.spec.jobTemplate.spec.template.spec];
  return [];
}

/** kustomize's images transformer: a container image named `name` (with any tag) gets the new name and tag. */
function setImages(objects: K8sObject[], images: NonNullable<Kustomization['images']>): void {
  for (const spec of objects.flatMap(podSpecs)) {
    for (const container of [...(spec.containers ?? []), ...(spec.initContainers ?? [])]) {
      const [name, tag] = container.image.split(/:(?=[^/]*$)/);
      const image = images.find((i) => i.name === name);
      if (image) container.image = `${image.newName ?? name}:${image.newTag ?? tag}`;
    }
  }
}

type Json = string | number | boolean | null | Json[] | { [key: string]: Json };
const isMap = (value: unknown): value is Record<string, Json> => typeof value === 'object' && value !== null && !Array.isArray(value);

/** A strategic-merge patch of maps only: lists, nulls (deletions) and $-directives have rules of their own, not implemented here. */
function mergeMaps(target: Record<string, Json>, patch: Record<string, Json>, file: string): void {
  for (const [key, value] of Object.entries(patch)) {
    if (key.startsWith('$') || value === null || Array.isArray(value)) throw new Error(`${file}: ${key}: only maps and scalars are supported in a patch by this renderer`);
    const current = target[key];
    if (isMap(value) && isMap(current)) mergeMaps(current, value, file);
    else target[key] = value;
  }
}

function applyPatches(dir: string, objects: K8sObject[], patches: NonNullable<Kustomization['patches']>): void {
  for (const entry of patches) {
    if (!entry.path || entry.target || entry.patch || entry.options) throw new Error(`${dir}: only patches given by path alone are supported by this renderer`);
    for (const patch of resource(dir, entry.path)) {
      const group = (o: K8sObject) => o.apiVersion.split('/').slice(0, -1).join('/');
      const targets = objects.filter((o) => group(o) === group(patch) && o.kind === patch.kind && o.metadata.name === patch.metadata.name);
      if (targets.length !== 1) throw new Error(`${dir}: patch ${entry.path} finds ${targets.length} ${patch.kind} ${patch.metadata.name} (kustomize needs exactly one)`);
      const { apiVersion: _a, kind: _k, ...body } = patch as unknown as Record<string, Json>;
      const { name: _n, ...metadata } = patch.metadata;
      mergeMaps(targets[0], { ...body, metadata }, entry.path);
    }
  }
}

/** A component works on what its parent has gathered so far (kustomize's order: resources, components, then own transformers). */
function collect(dir: string, kind: Kustomization['kind'], inherited: K8sObject[] = []): K8sObject[] {
  const k = readKustomization(dir, kind);
  let objects = [...inherited, ...(k.resources ?? []).flatMap((entry) => resource(dir, entry))];
  for (const entry of k.components ?? []) objects = collect(path.resolve(dir, entry), 'Component', objects);
  if (k.patches) applyPatches(dir, objects, k.patches);
  if (k.images) setImages(objects, k.images);
  if (k.namespace) {
    for (const object of objects) {
      if (object.kind === 'Namespace' && object.metadata.name !== k.namespace) throw new Error(`${dir}: Namespace ${object.metadata.name} with namespace: ${k.namespace}`);
      if (!CLUSTER_SCOPED.has(object.kind)) object.metadata.namespace = k.namespace;
    }
  }
  return objects;
}

/** What `kubectl kustomize <dir>` prints, as objects; throws on anything kustomize would refuse. */
export function kustomizeBuild(dir: string): K8sObject[] {
  const objects = collect(path.resolve(dir), 'Kustomization');
  const seen = new Set<string>();
  for (const o of objects) {
    const id = `${o.apiVersion.split('/').slice(0, -1).join('/')}/${o.kind}/${o.metadata.namespace ?? ''}/${o.metadata.name}`;
    if (seen.has(id)) throw new Error(`${dir}: ${o.kind} ${o.metadata.name} is defined twice`);
    seen.add(id);
  }
  return objects;
}
