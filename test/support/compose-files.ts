/**
 * The compose files as `docker compose -f ... config` would see them, for the subset they use:
 * YAML merge keys, override files merged onto the base, `${VAR:-default}` interpolation from an
 * .env (here .env.example, the file users copy), env_file read into each service's environment.
 */
import fs from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml';
import { ROOT, read } from './deploy-contract';

export interface ComposeService {
  image?: string;
  build?: string | { context: string; target?: string };
  command?: string[];
  environment?: Record<string, string> | string[];
  env_file?: string | string[];
  depends_on?: Record<string, { condition: string }>;
  healthcheck?: { test: string[] };
  ports?: string[];
  expose?: string[];
  volumes?: string[];
  restart?: string;
  stop_grace_period?: string;
  container_name?: string;
  deploy?: { replicas?: number; resources?: { limits?: { cpus?: string; memory?: string } } };
}
export interface ComposeFile { services: Record<string, ComposeService>; [key: string]: unknown }

export const COMPOSE_FILES = ['docker-compose.yml', 'docker-compose.prod.yml', 'docker-compose.dev.yml'];

export const readComposeFile = (file: string) => parse(read(file), { merge: true }) as ComposeFile;

/** Sequences compose appends to (and de-duplicates) when merging files; every other one is replaced. */
const APPENDED = new Set(['ports', 'expose', 'volumes', 'env_file']);

function merge(base: unknown, override: unknown, key = ''): unknown {
  if (Array.isArray(base) && Array.isArray(override)) return APPENDED.has(key) ? [...new Set([...base, ...override])] : override;
  if (base && override && typeof base === 'object' && typeof override === 'object' && !Array.isArray(base) && !Array.isArray(override)) {
    const merged: Record<string, unknown> = { ...(base as Record<string, unknown>) };
    for (const [k, v] of Object.entries(override)) merged[k] = k in merged ? merge(merged[k], v, k) : v;
    return merged;
  }
  return override;
}

/** `docker compose -f a -f b`: b merged onto a. */
export function composeModel(...files: string[]): ComposeFile {
  return files.map(readComposeFile).reduce((model, next) => merge(model, next) as ComposeFile);
}

/** A dotenv file as compose reads it: KEY=VALUE lines, comments and blank lines skipped. */
export function readEnvFile(file: string): Record<string, string> {
  const entries = fs.readFileSync(path.join(ROOT, file), 'utf8').split('\n')
    .map((line) => line.trim())
    .filter((line) => line && !line.startsWith('#'))
    .map((line) => line.split(/=(.*)/s).slice(0, 2) as [string, string]);
  return Object.fromEntries(entries.map(([k, v]) => [k.trim(), v.trim().replace(/^(['"])(.*)\1$/, '$2')]));
}

/** `${VAR:-default}` and `${VAR}` filled from `dotenv` as compose does (unset or empty takes the default). */
export function interpolate(value: string, dotenv: Record<string, string>): string {
  return value.replace(/\$\{(\w+)(?::-([^}]*))?\}/g, (_, name: string, fallback?: string) => dotenv[name] || (fallback ?? ''));
}

/** Every `${VAR...}` the model refers to, with its default. */
export function interpolations(model: unknown): { name: string; fallback?: string }[] {
  const strings = (value: unknown): string[] =>
    typeof value === 'string' ? [value] : value && typeof value === 'object' ? Object.values(value).flatMap(strings) : [];
  return strings(model).flatMap((s) => [...s.matchAll(/\$\{(\w+)(?::-([^}]*))?\}/g)].map((m) => ({ name: m[1], fallback: m[2] })));
}

function listOf(value: string | string[] | undefined): string[] {
  return value === undefined ? [] : Array.isArray(value) ? value : [value];
}

/**
 * What a container's process sees: its env_file entries, then `environment` over them, all
 * interpolated from `dotenv`. env_file `.env` is read from `envFileStandIn` (users copy .env.example).
 */
export function containerEnv(service: ComposeService, dotenv: Record<string, string>, envFileStandIn = '.env.example'): Record<string, string> {
  const fromFiles = Object.assign({}, ...listOf(service.env_file).map((file) => readEnvFile(file === '.env' ? envFileStandIn : file))) as Record<string, string>;
  const env = service.environment ?? {};
  const pairs = Array.isArray(env) ? env.map((item) => item.split(/=(.*)/s).slice(0, 2)) : Object.entries(env);
  const own = Object.fromEntries(pairs.map(([k, v]) => [k, interpolate(String(v ?? ''), dotenv)]));
  return { ...fromFiles, ...own };
}
