// Before any test: Redis and Postgres must answer, and the test database must be migrated.
const { spawnSync } = require('node:child_process');
const path = require('node:path');
const net = require('node:net');

const TEST_DATABASE_URL = process.env.TEST_DATABASE_URL || 'postgresql://postgres@127.0.0.1:5432/tsp_test';
const REDIS_URL = process.env.TEST_REDIS_URL || process.env.REDIS_URL || 'redis://127.0.0.1:6379';

function reachable(url, fallbackPort) {
  const { hostname, port } = new URL(url);
  return new Promise((resolve) => {
    const socket = net.connect({ host: hostname, port: Number(port || fallbackPort) });
    socket.setTimeout(2000);
    socket.once('connect', () => { socket.destroy(); resolve(true); });
    socket.once('error', () => resolve(false));
    socket.once('timeout', () => { socket.destroy(); resolve(false); });
  });
}

module.exports = async () => {
  if (!(await reachable(REDIS_URL, 6379))) throw new Error(`Tests need Redis at ${REDIS_URL} (see README, "Running the tests")`);
  if (!(await reachable(TEST_DATABASE_URL, 5432))) throw new Error(`Tests need Postgres at ${TEST_DATABASE_URL} (see README, "Running the tests")`);
  migrateDatabase(TEST_DATABASE_URL);
  await cloneIsolatedDatabases();
};

const OBJECT_IN_USE = '55006';

function migrateDatabase(databaseUrl) {
  const migrate = spawnSync(process.execPath, [path.join(__dirname, '../../packages/db/scripts/migrate.js')], {
    env: { ...process.env, DATABASE_URL: databaseUrl },
    encoding: 'utf8',
  });
  if (migrate.status !== 0) throw new Error(`Migrating ${databaseUrl} failed:\n${migrate.stdout}\n${migrate.stderr}`);
}

function isolatedUrl(name) {
  const url = new URL(TEST_DATABASE_URL);
  url.pathname = `/${name}`;
  return url.toString();
}

/**
 * Suites that act on every row of a table (sell/all sells every open position) get a database of
 * their own, copied from the migrated test database (a template copy takes milliseconds).
 */
const ISOLATED_SUFFIXES = ['exits'];

async function cloneIsolatedDatabases() {
  const { Client } = require(path.join(__dirname, '../../packages/db/node_modules/pg'));
  const template = new URL(TEST_DATABASE_URL).pathname.slice(1);
  const isolated = ISOLATED_SUFFIXES.map((suffix) => `${template}_${suffix}`);
  const admin = new URL(TEST_DATABASE_URL);
  admin.pathname = '/postgres';
  const client = new Client({ connectionString: admin.toString() });
  await client.connect();
  try {
    for (const name of isolated) {
      await client.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
      try {
        await client.query(`CREATE DATABASE "${name}" TEMPLATE "${template}"`);
      } catch (error) {
        // Another test run holds the template open: migrate the copy instead (slower, same result).
        if (error.code !== OBJECT_IN_USE) throw error;
        migrateDatabase(isolatedUrl(name));
      }
      await emptyTables(admin, name, Client);
    }
  } finally {
    await client.end();
  }
}


/** A copy starts with the schema only: rows left by earlier runs would blur what the suite sees. */
async function emptyTables(adminUrl, name, Client) {
  const url = new URL(adminUrl.toString());
  url.pathname = `/${name}`;
  const client = new Client({ connectionString: url.toString() });
  await client.connect();
  try {
    const { rows } = await client.query(`SELECT tablename FROM pg_tables WHERE schemaname = 'public' AND tablename <> '_prisma_migrations'`);
    if (rows.length) await client.query(`TRUNCATE ${rows.map((r) => `"${r.tablename}"`).join(', ')} CASCADE`);
  } finally {
    await client.end();
  }
}
