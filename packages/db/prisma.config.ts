// Prisma CLI configuration: the offline path (wasm schema engine + adapter-pg), see README "Database".
import path from 'node:path';
import { defineConfig } from 'prisma/config';
import { PrismaPg } from '@prisma/adapter-pg';
import { reportInternalNameTypesAsText } from './src/prisma-cli-workaround';

reportInternalNameTypesAsText();

export default defineConfig({
  experimental: { adapter: true },
  engine: 'js',
  schema: path.join(__dirname, '../../prisma/schema.prisma'),
  migrations: { path: path.join(__dirname, '../../prisma/migrations') },
  async adapter() {
    const connectionString = process.env.DATABASE_URL;
    if (!connectionString) throw new Error('DATABASE_URL is not set');
    // A short idle timeout lets the CLI exit as soon as it is done instead of ~10 s later.
    return new PrismaPg({ connectionString, idleTimeoutMillis: 50, allowExitOnIdle: true });
  },
});
