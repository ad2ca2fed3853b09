/** Runs validate-k8s.mjs (the kubernetes-models schemas, ES modules only) in a node of its own. */
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import type { K8sObject } from './kustomize-build';

export function k8sSchemaErrors(objects: K8sObject[]): string[] {
  const result = spawnSync(process.execPath, [path.join(__dirname, 'validate-k8s.mjs')], { input: JSON.stringify(objects), encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`validate-k8s.mjs failed: ${result.stderr}`);
  return JSON.parse(result.stdout) as string[];
}
