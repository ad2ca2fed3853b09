/**
 * `pnpm start` (scripts/start-all.js) as a user runs it: the four built services as children.
 */
import net from 'node:net';
import path from 'node:path';
import { spawn } from 'node:child_process';
import { uniquePrefix, waitFor } from './support/helpers';

const START_ALL = path.join(__dirname, '../scripts/start-all.js');

function run(env: Record<string, string>) {
  const child = spawn(process.execPath, [START_ALL], { env: { ...process.env, WEBHOOK_AUTH: 'none', LOG_LEVEL: 'error', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (chunk) => { output += chunk; });
  child.stderr.on('data', (chunk) => { output += chunk; });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { child, exited, output: () => output };
}

describe('pnpm start', () => {
  it('stops every service when one stops for its configuration, saying which variable', async () => {
    const started = run({ KEY_PREFIX: uniquePrefix('start'), INGEST_PORT: '0', SCREENER_PORT: '0', APPROVER_PORT: '0', FORWARDER_PORT: '0', SIGNAL_TTL_SEC: 'soon' });
    expect(await started.exited).toBe(1);
    expect(started.output()).toMatch(/configuration error: SIGNAL_TTL_SEC must be a whole number/);
    expect(started.output()).toMatch(/stopping everything/);
  }, 30_000);

  it('restarts a service that crashes, waiting longer each time, while the others run on', async () => {
    // The approver's port is taken: it crashes at every start (not a configuration error).
    const blocker = net.createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    const taken = (blocker.address() as net.AddressInfo).port;
    const started = run({ KEY_PREFIX: uniquePrefix('start'), INGEST_PORT: '0', SCREENER_PORT: '0', APPROVER_PORT: String(taken), FORWARDER_PORT: '0' });
    try {
      await waitFor(() => /\[approver \] exited \(1\); restarting in 2000 ms/.test(started.output()), 20_000, 'a second restart, later than the first');
      expect(started.output()).toMatch(/\[approver \] exited \(1\); restarting in 1000 ms/);
      expect(started.output()).not.toMatch(/stopping everything/);
      expect(started.child.exitCode).toBeNull();
    } finally {
      started.child.kill('SIGTERM');
      await started.exited;
      blocker.close();
    }
  }, 40_000);
});
