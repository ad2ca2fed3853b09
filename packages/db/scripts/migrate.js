// `pnpm db:migrate`: creates the database of DATABASE_URL if it does not exist, then applies the
// committed Prisma migrations. Safe to run from several replicas at once: a concurrent CREATE
// DATABASE is tolerated and Prisma serialises migrations with an advisory lock.
// Every Kubernetes pod runs it as an init container, so the common case (nothing to apply) is
// answered from _prisma_migrations in a few hundred ms instead of Prisma's ~15 s CLI start.
const fs = require('node:fs');
const path = require('node:path');
const { Client } = require('pg');
const { prismaEnv, runPrisma } = require('./prisma-env');

const MIGRATIONS_DIR = path.resolve(__dirname, '../../../prisma/migrations');
const UNDEFINED_TABLE = '42P01';

const DUPLICATE_DATABASE = '42P04';
const UNIQUE_VIOLATION = '23505';

const INVALID_CATALOG_NAME = '3D000';

/** True when the database answers; false only when it does not exist. */
async function databaseExists(databaseUrl) {
  const client = new Client({ connectionString: databaseUrl });
  try {
    await client.connect();
    return true;
  } catch (error) {
    if (error.code === INVALID_CATALOG_NAME) return false;
    throw error;
  } finally {
    await client.end().catch(() => undefined);
  }
}

async function ensureDatabase(databaseUrl) {
  const target = new URL(databaseUrl);
  const name = decodeURIComponent(target.pathname.replace(/^\//, ''));
  if (!name) throw new Error('DATABASE_URL names no database');
  // Only a missing database needs the server's `postgres` database, which a restricted user
  // of a managed Postgres may not be allowed to open.
  if (await databaseExists(databaseUrl)) return false;
  const admin = new URL(databaseUrl);
  admin.pathname = '/postgres';
  const client = new Client({ connectionString: admin.toString() });
  await client.connect();
  try {
    const found = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
    if (found.rowCount > 0) return false;
    try {
      await client.query(`CREATE DATABASE "${name.replace(/"/g, '""')}"`);
      return true;
    } catch (error) {
      if (error.code === DUPLICATE_DATABASE || error.code === UNIQUE_VIOLATION) return false;
      throw error;
    }
  } finally {
    await client.end();
  }
}

/** The committed migrations (folders holding a migration.sql), by name. */
function committedMigrations() {
  return fs.readdirSync(MIGRATIONS_DIR, { withFileTypes: true })
    .filter((entry) => entry.isDirectory() && fs.existsSync(path.join(MIGRATIONS_DIR, entry.name, 'migration.sql')))
    .map((entry) => entry.name);
}

/**
 * True when every committed migration is recorded as applied, by Prisma's own rule (finished,
 * not rolled back). Anything else — no table yet, a pending or failed migration — goes to Prisma,
 * which applies it or reports the failure. Migrations the database has and this image lacks (a
 * rollback to an older image) are not a reason to fail: they are additive.
 */
async function schemaIsCurrent(databaseUrl) {
  const client = new Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    const { rows } = await client.query('SELECT migration_name FROM _prisma_migrations WHERE finished_at IS NOT NULL AND rolled_back_at IS NULL');
    const applied = new Set(rows.map((row) => row.migration_name));
    return committedMigrations().every((name) => applied.has(name));
  } catch (error) {
    if (error.code === UNDEFINED_TABLE) return false;
    throw error;
  } finally {
    await client.end().catch(() => undefined);
  }
}

async function main() {
  const { DATABASE_URL } = prismaEnv();
  const created = await ensureDatabase(DATABASE_URL);
  const where = new URL(DATABASE_URL);
  console.log(`database ${where.pathname.slice(1)} on ${where.host}: ${created ? 'created' : 'exists'}`);
  if (!created && (await schemaIsCurrent(DATABASE_URL))) {
    console.log('every migration is applied already');
    process.exit(0);
  }
  process.exit(runPrisma(['migrate', 'deploy']));
}

main().catch((error) => {
  console.error(`db:migrate failed: ${error.message}`);
  process.exit(1);
});
