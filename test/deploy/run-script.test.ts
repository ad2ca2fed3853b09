/**
 * ./run, the one command: against the real local Redis and Postgres with a prefix and ports of its
 * own it migrates, starts the four services, prints their URLs once every /ready answers, and stops
 * on SIGTERM; with Redis or Postgres unreachable it says which, and how to start one.
 */
import path from 'node:path';
import { spawn } from 'node:child_process';
import { ROOT } from '../support/deploy-contract';
import { deletePrefixKeys, startLocalServer, uniquePrefix, waitFor } from '../support/helpers';
import { freePort } from '../faults/support/free-port';


function run(env: Record<string, string>) {
  const child = spawn(path.join(ROOT, 'run'), [], { cwd: ROOT, env: { ...process.env, LOG_LEVEL: 'error', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk) => { stdout += chunk; });
  child.stderr.on('data', (chunk) => { stderr += chunk; });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { child, exited, stdout: () => stdout, stderr: () => stderr };
}

describe('./run', () => {
  it('starts the relay, prints the URLs once every service is ready, and stops on SIGTERM', async () => {
    const prefix = uniquePrefix('run');
    const destination = await startLocalServer();
    const finviz = await startLocalServer(() => ({ status: 200, body: '<html></html>' }));
    const [ingest, screener, approver, forwarder] = await Promise.all([freePort(), freePort(), freePort(), freePort()]);
    const started = run({
      KEY_PREFIX: prefix, WEBHOOK_SECRET: 'run-secret', ADMIN_TOKEN: 'run-admin', DEST_WEBHOOK_URL: `${destination.url}/hook`,
      FINVIZ_URL: `${finviz.url}/screener?v=111`, INGEST_PORT: String(ingest), SCREENER_PORT: String(screener), APPROVER_PORT: String(approver), FORWARDER_PORT: String(forwarder),
    });
    try {
      await waitFor(() => started.stdout().includes('Logs follow'), 90_000, `the URLs (output so far: ${started.stdout()}${started.stderr()})`);
      const out = started.stdout();
      for (const [service, port] of Object.entries({ ingest, screener, approver, forwarder })) expect(out).toContain(`${service.padEnd(9)} ready on port ${port}`);
      const urls = Object.fromEntries([...out.matchAll(/^ {2}(Webhook|Console|Bull Board|API docs)\s+(?:POST )?(\S+)$/gm)].map((m) => [m[1], m[2]]));
      expect(urls.Webhook).toBe(`http://127.0.0.1:${ingest}/webhook/in`);
      expect((await fetch(urls.Console, { redirect: 'manual' })).status).toBeLessThan(500);
      expect((await fetch(urls['Bull Board'], { headers: { authorization: 'Bearer run-admin' } })).status).toBe(200);
      expect((await fetch(urls['API docs'])).status).toBe(200);
      const posted = await fetch(urls.Webhook, { method: 'POST', headers: { 'content-type': 'application/json', 'x-webhook-secret': 'run-secret' }, body: '{"ticker":"AAPL","side":"buy"}' });
      expect(posted.status).toBe(202);
    } finally {
      started.child.kill('SIGTERM');
      expect(await started.exited).toBe(0);
      await destination.close();
      await finviz.close();
      await deletePrefixKeys(prefix);
    }
  }, 120_000);

  it('says Redis is not answering, where, and how to start one', async () => {
    const port = await freePort();
    const started = run({ REDIS_URL: `redis://127.0.0.1:${port}` });
    expect(await started.exited).toBe(1);
    expect(started.stderr()).toContain(`Redis is not answering at redis://127.0.0.1:${port} (ECONNREFUSED).`);
    expect(started.stderr()).toMatch(/Start one: redis-server/);
    expect(started.stdout()).not.toContain('Starting the services');
  }, 30_000);

  it('says Postgres is not answering, without showing its password', async () => {
    const port = await freePort();
    const started = run({ DATABASE_URL: `postgresql://postgres:hunter2@127.0.0.1:${port}/tsp` });
    expect(await started.exited).toBe(1);
    expect(started.stderr()).toContain(`Postgres is not answering at postgresql://postgres:***@127.0.0.1:${port}/tsp (ECONNREFUSED).`);
    expect(started.stderr()).not.toContain('hunter2');
  }, 30_000);
});
