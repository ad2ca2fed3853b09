/**
 * Late approval (REAPPROVE_WINDOW_SEC): a BUY rejected not_in_topn passes if its ticker enters the
 * Top-N within the window, and never after it, nor after a later signal of its ticker. Real
 * Redis, Postgres and HTTP, two approvers competing for each late approval.
 */
import { Queue } from 'bullmq';
import { startRelayStack, type RelayStack } from './support/relay-stack';
import { waitFor } from './support/helpers';

const RUN = Math.random().toString(36).slice(2, 6).toUpperCase();
const t = (name: string) => `${name}${RUN}`;
const WINDOW_SEC = 3;

async function status(stack: RelayStack, id: string, want: string, timeoutMs = 10_000) {
  return waitFor(async () => {
    const view = await stack.signal(id);
    return view.status === want ? view : null;
  }, timeoutMs, `signal ${id} to be ${want}`);
}

describe('late approval', () => {
  let stack: RelayStack;
  beforeAll(async () => {
    stack = await startRelayStack({
      label: 'late', approvers: 2,
      env: { REAPPROVE_WINDOW_SEC: String(WINDOW_SEC), DEST_WEBHOOK_RATE_LIMITING_ENABLED: 'false' },
    });
    await stack.publishTopn([t('INSET')]);
  });
  afterAll(() => stack.stop());

  it('approves a rejected BUY once its ticker enters the Top-N within the window, with the snapshot that admitted it', async () => {
    const id = await stack.send({ ticker: t('LATE'), side: 'buy', price: 10 });
    expect(await status(stack, id, 'rejected')).toMatchObject({ reason: 'not_in_topn' });
    await stack.publishTopn([t('INSET'), t('LATE')]);
    const snapshot = JSON.parse((await stack.redis.get(`${stack.prefix}:topn`))!).snapshot_id;
    const view = await status(stack, id, 'forwarded');
    expect(view).toMatchObject({ basis: 'late_topn', rank: 2, snapshot_id: snapshot, reason: null });
    // Two approvers saw the set: delivered once.
    expect(stack.deliveredIds(new Set([id]))).toEqual([id]);
  });

  it('does not approve it after the window', async () => {
    const id = await stack.send({ ticker: t('PAST'), side: 'buy' });
    await status(stack, id, 'rejected');
    await new Promise((resolve) => setTimeout(resolve, WINDOW_SEC * 1000 + 500));
    await stack.publishTopn([t('INSET'), t('PAST')]);
    await new Promise((resolve) => setTimeout(resolve, 1500));
    expect(await stack.signal(id)).toMatchObject({ status: 'rejected', reason: 'not_in_topn' });
    expect(stack.deliveredIds(new Set([id]))).toEqual([]);
  });

  it('cancels it when a SELL of the ticker comes after it, before the ticker enters: no buy after its own exit', async () => {
    await stack.publishTopn([t('INSET')]);
    const buy = await stack.send({ ticker: t('EXITED'), side: 'buy' });
    await status(stack, buy, 'rejected');
    const sell = await stack.send({ ticker: t('EXITED'), side: 'sell' });
    await waitFor(async () => ['rejected', 'forwarded'].includes((await stack.signal(sell)).status), 10_000, 'the SELL to be decided');
    await stack.publishTopn([t('INSET'), t('EXITED')]);
    await new Promise((resolve) => setTimeout(resolve, 1500));
    expect(await stack.signal(buy)).toMatchObject({ status: 'rejected', reason: 'not_in_topn' });
    expect(stack.deliveredIds(new Set([buy]))).toEqual([]);
  });

  it('approves only the latest of two rejected BUYs of a ticker: one entry, not two', async () => {
    await stack.publishTopn([t('INSET')]);
    const first = await stack.send({ ticker: t('TWICE'), side: 'buy' });
    const second = await stack.send({ ticker: t('TWICE'), side: 'buy' });
    await status(stack, first, 'rejected');
    await status(stack, second, 'rejected');
    await stack.publishTopn([t('TWICE')]);
    await status(stack, second, 'forwarded');
    expect(await stack.signal(first)).toMatchObject({ status: 'rejected' });
    expect(stack.deliveredIds(new Set([first, second]))).toEqual([second]);
  });

  it('cancels it when a later signal of the ticker was acknowledged but not decided yet when the ticker enters', async () => {
    await stack.publishTopn([t('INSET')]);
    const buy = await stack.send({ ticker: t('QUEUED'), side: 'buy' });
    await status(stack, buy, 'rejected');
    // The approvers take nothing more: the SELL is acknowledged and waits in the queue, unseen.
    const signals = new Queue('signals', { connection: stack.redis, prefix: stack.prefix });
    await signals.pause();
    try {
      const sell = await stack.send({ ticker: t('QUEUED'), side: 'sell' });
      await stack.publishTopn([t('INSET'), t('QUEUED')]);
      await new Promise((resolve) => setTimeout(resolve, 1500));
      await signals.resume();
      await waitFor(async () => ['rejected', 'forwarded'].includes((await stack.signal(sell)).status), 10_000, 'the SELL to be decided');
      await stack.publishTopn([t('QUEUED')]);
      await new Promise((resolve) => setTimeout(resolve, 1500));
      expect(await stack.signal(buy)).toMatchObject({ status: 'rejected', reason: 'not_in_topn' });
      expect(stack.deliveredIds(new Set([buy]))).toEqual([]);
    } finally {
      await signals.resume();
      await signals.close();
    }
  });
});
