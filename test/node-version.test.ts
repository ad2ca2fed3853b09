/**
 * The least Node.js tsp runs on is said in three places a user meets: package.json's engines (what
 * pnpm checks), `node run`'s own check, and the README. process.loadEnvFile (reading .env) came in
 * 20.12, so "20+" would send someone on 20.11 to a crash.
 */
import fs from 'node:fs';
import path from 'node:path';

const root = path.join(__dirname, '..');
const read = (file: string) => fs.readFileSync(path.join(root, file), 'utf8');

describe('the least Node.js version', () => {
  const engines = (JSON.parse(read('package.json')) as { engines: { node: string } }).engines.node;
  const least = /^>=(\d+\.\d+)$/.exec(engines)?.[1];

  it('is stated by package.json, no older than 20.12 as long as .env is read with process.loadEnvFile', () => {
    expect(least).toMatch(/^\d+\.\d+$/);
    const readsEnvFile = ['run', 'scripts/load-env.js', 'packages/db/scripts/prisma-env.js'].some((file) => read(file).includes('process.loadEnvFile('));
    const [major, minor] = least!.split('.').map(Number);
    expect(readsEnvFile && (major < 20 || (major === 20 && minor < 12))).toBe(false);
  });

  it('is the one `node run` checks', () => {
    const [, major, minor] = /const MIN_NODE = \[(\d+), (\d+)\];/.exec(read('run')) ?? [];
    expect(`${major}.${minor}`).toBe(least);
  });

  it('is the one the README asks for, wherever it names what you need', () => {
    const asked = [...read('README.md').matchAll(/Node(?:\.js)? (\d+(?:\.\d+)*)\+/g)].map((m) => m[1]);
    expect(asked).not.toEqual([]);
    expect(asked).toEqual(asked.map(() => least));
  });
});
