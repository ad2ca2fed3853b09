import { spawn } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';
import { cleanLeftovers, LEFTOVERS_ENV } from './leftovers';
import { PrivatePostgres } from './postgres-cluster';

/**
 * Once per fault run: a Postgres cluster initdb'd and migrated (packages/db/scripts/migrate.js,
 * ≈ 11 s), then stopped. Each fault test file starts a copy of it on a port of its own, so a file
 * can stop or restart its Postgres without touching another's, and pays no migration.
 */
export const TEMPLATE_ENV = 'TSP_FAULTS_PG_TEMPLATE';

function migrate(databaseUrl: string): Promise<void> {
  const script = path.join(__dirname, '../../../packages/db/scripts/migrate.js');
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [script], { env: { ...process.env, DATABASE_URL: databaseUrl }, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk) => { output += chunk; });
    child.stderr.on('data', (chunk) => { output += chunk; });
    child.once('exit', (code) => (code === 0 ? resolve() : reject(new Error(`migrating the fault suite's Postgres failed:\n${output}`))));
  });
}

/**
 * The global setup runs in jest's own process (test files get a copy of `process`), so exit and
 * interrupt hooks registered here do fire: whatever a fault file left running goes with jest.
 */
function cleanUpOnExit(leftovers: string): void {
  process.once('exit', () => cleanLeftovers(leftovers));
  for (const [signal, code] of [['SIGINT', 130], ['SIGTERM', 143]] as const) {
    process.once(signal, () => {
      cleanLeftovers(leftovers);
      process.exit(code);
    });
  }
}

export default async function globalSetup(): Promise<void> {
  // Test files run in this process (maxWorkers 1) and inherit these variables.
  const leftovers = path.join(os.tmpdir(), `tsp-faults-leftovers-${process.pid}.jsonl`);
  process.env[LEFTOVERS_ENV] = leftovers;
  cleanUpOnExit(leftovers);

  const template = await PrivatePostgres.init('pg-template');
  await template.start();
  await migrate(template.databaseUrl);
  await template.stop();
  process.env[TEMPLATE_ENV] = template.dataDir;
}
