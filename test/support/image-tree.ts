/**
 * What the Dockerfile's runtime stage holds, laid out in a temporary folder without Docker: the
 * build context as .dockerignore filters it, the dist/ folders `pnpm build` made from those same
 * sources, and production dependencies installed by `pnpm install --frozen-lockfile --prod` (with
 * its scripts, as the Dockerfile runs it: the root postinstall generates the Prisma client).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execFileSync, spawnSync } from 'node:child_process';
import { ROOT, read } from './deploy-contract';

/** A .dockerignore pattern as a regular expression over slash-separated relative paths. */
function patternRegExp(pattern: string): RegExp {
  const body = pattern.replace(/\/$/, '').split(/(\*\*\/|\*\*|\*|\?)/).map((part) => {
    if (part === '**/') return '(?:.*/)?';
    if (part === '**') return '.*';
    if (part === '*') return '[^/]*';
    if (part === '?') return '[^/]';
    return part.replace(/[.+^${}()|[\]\\]/g, '\\$&');
  }).join('');
  // A pattern also excludes everything below what it names.
  return new RegExp(`^${body}(?:/.*)?$`);
}

/** Docker's rule: the last matching pattern decides; `!pattern` re-includes. */
export function dockerIgnored(patterns: string[]): (file: string) => boolean {
  const rules = patterns.map((p) => p.trim()).filter((p) => p && !p.startsWith('#')).map((p) => ({ include: p.startsWith('!'), re: patternRegExp(p.replace(/^!/, '')) }));
  return (file) => rules.reduce((ignored, rule) => (rule.re.test(file) ? !rule.include : ignored), false);
}

/** The repository's files (tracked, and new ones not ignored by git), as the build context sees them. */
function contextFiles(): string[] {
  const ignored = dockerIgnored(read('.dockerignore').split('\n'));
  const listed = execFileSync('git', ['ls-files', '--cached', '--others', '--exclude-standard', '-z'], { cwd: ROOT, encoding: 'utf8' }).split('\0').filter(Boolean);
  return listed.filter((file) => fs.existsSync(path.join(ROOT, file)) && !ignored(file));
}

function copy(from: string, to: string) {
  fs.mkdirSync(path.dirname(to), { recursive: true });
  fs.cpSync(from, to, { recursive: true });
}

/** Lays out the image's /app in a new temporary folder and returns it; `pnpm build` must have run. */
export function buildImageTree(): string {
  const app = fs.mkdtempSync(path.join(os.tmpdir(), 'tsp-image-'));
  for (const file of contextFiles()) copy(path.join(ROOT, file), path.join(app, file));
  for (const dir of ['packages', 'services']) {
    for (const pkg of fs.readdirSync(path.join(ROOT, dir))) {
      const dist = path.join(ROOT, dir, pkg, 'dist');
      if (fs.existsSync(dist)) copy(dist, path.join(app, dir, pkg, 'dist'));
    }
  }
  const install = spawnSync('pnpm', ['install', '--frozen-lockfile', '--prod', '--prefer-offline'], {
    cwd: app,
    env: { ...process.env, CI: 'true', npm_config_update_notifier: 'false' },
    encoding: 'utf8',
  });
  if (install.status !== 0) throw new Error(`pnpm install --prod failed in ${app}:\n${install.stdout}\n${install.stderr}`);
  return app;
}
