/** The Dockerfile, read instruction by instruction (no Docker engine runs where the tests do). */
import fs from 'node:fs';
import path from 'node:path';
import { ROOT, SERVICES, SERVICE_NAMES, expectStartCommand, packageJson, read, type Service } from '../support/deploy-contract';

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

  it('installs with the lockfile as committed, builds, and keeps production dependencies only', () => {
    expect(runs.some((run) => /pnpm install --frozen-lockfile(?!.*--prod)/.test(run))).toBe(true);
    expect(runs.some((run) => /\bpnpm build\b/.test(run))).toBe(true);
    const prod = runs.filter((run) => /pnpm install --frozen-lockfile .*--prod/.test(run));
    expect(prod).toHaveLength(1);
    // Scripts run: the root postinstall generates the Prisma client, and native modules build.
    expect(prod[0]).not.toMatch(/--ignore-scripts/);
  });

  it('checks the health of the service it runs', () => {
    const checks = finalStage.filter((i) => i.op === 'HEALTHCHECK');
    expect(checks).toHaveLength(1);
    const command = JSON.parse(checks[0].args.replace(/^.*?\bCMD\s+/, '')) as string[];
    expect(command).toEqual(['node', 'scripts/healthcheck.js']);
    expect(fs.existsSync(path.join(ROOT, command[1]))).toBe(true);
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
    for (const pattern of ['**/node_modules', '**/dist', 'packages/db/generated', '.git', '.env', 'test', 'bench']) {
      expect(ignored).toContain(pattern);
    }
  });
});
