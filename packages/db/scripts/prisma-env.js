// Environment for the Prisma CLI: with a prisma.config.ts the CLI reads no .env itself, and it
// needs DATABASE_URL even to generate the client.
const fs = require('node:fs');
const path = require('node:path');

const ROOT = path.resolve(__dirname, '../../..');
const DEFAULT_DATABASE_URL = 'postgresql://postgres@127.0.0.1:5432/trading_signals';

function prismaEnv() {
  const envFile = path.join(ROOT, '.env');
  if (fs.existsSync(envFile)) process.loadEnvFile(envFile);
  return {
    ...process.env,
    DATABASE_URL: process.env.DATABASE_URL || DEFAULT_DATABASE_URL,
    CHECKPOINT_DISABLE: '1',
    PRISMA_HIDE_UPDATE_MESSAGE: '1',
  };
}

function runPrisma(args) {
  const { spawnSync } = require('node:child_process');
  const cli = require.resolve('prisma/build/index.js', { paths: [path.join(__dirname, '..')] });
  const result = spawnSync(process.execPath, [cli, ...args], {
    cwd: path.join(__dirname, '..'),
    env: prismaEnv(),
    stdio: 'inherit',
  });
  return result.status ?? 1;
}

module.exports = { prismaEnv, runPrisma, DEFAULT_DATABASE_URL };

if (require.main === module) process.exit(runPrisma(process.argv.slice(2)));
