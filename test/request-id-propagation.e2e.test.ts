/**
 * The X-Request-Id of the request that brought a signal in is on the approver's and the
 * forwarder's log lines about it: ingest, approver and forwarder in this process on real Redis and
 * Postgres, each with its own logger whose JSON lines the test reads, and a local destination.
 */
import { PassThrough } from 'node:stream';
import request from 'supertest';
import { createLogger } from '@tsp/core';
import { ADMIN, startRelayStack, type RelayStack } from './support/relay-stack';
import { waitFor } from './support/helpers';

const RUN = Math.random().toString(36).slice(2, 6).toUpperCase();
const t = (name: string) => `${name}${RUN}`;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

type Line = Record<string, unknown>;

/** A service's logger at info, whose JSON lines are kept. */
function recordingLogger(service: string) {
  const lines: Line[] = [];
  const stream = new PassThrough();
  let rest = '';
  stream.on('data', (chunk: Buffer) => {
    const text = rest + chunk.toString();
    const parts = text.split('\n');
    rest = parts.pop()!;
    for (const part of parts) if (part.trim()) lines.push(JSON.parse(part) as Line);
  });
  return { logger: createLogger(service, 'info', stream), lines };
}

describe('request ids in the logs of every service a signal passes', () => {
  const approver = recordingLogger('approver');
  const forwarder = recordingLogger('forwarder');
  let stack: RelayStack;
  const about = (lines: Line[], id: string) => lines.filter((line) => line.id === id);
  const delivered = (id: string) => waitFor(async () => (await stack.signal(id)).status === 'forwarded', 20_000, `signal ${id} delivered`);
  /** Both services wrote their line about the signal (decided, delivered). */
  const linesOf = async (id: string) => {
    await waitFor(() => about(forwarder.lines, id).some((line) => line.message === 'signal delivered'), 5000, 'the forwarder\'s line');
    const decided = about(approver.lines, id);
    const sent = about(forwarder.lines, id);
    expect(decided.map((line) => line.message)).toContain('signal decided');
    return [...decided, ...sent];
  };

  beforeAll(async () => {
    stack = await startRelayStack({
      label: 'reqid', loggers: { approver: approver.logger, forwarder: forwarder.logger },
      env: { DEST_WEBHOOK_MAX_REQ_PER_MIN: '6000' },
    });
    await stack.publishTopn([t('RQA'), t('RQB'), t('RQC')]);
  });
  afterAll(() => stack.stop());

  it('carries the id the webhook request named to the approver\'s and the forwarder\'s lines about the signal', async () => {
    const res = await request(stack.ingest).post('/webhook/in').set('X-Request-Id', 'tv-alert.42:abc_DEF').send({ ticker: t('RQA'), side: 'buy' });
    expect(res.status).toBe(202);
    expect(res.headers['x-request-id']).toBe('tv-alert.42:abc_DEF');
    await delivered(res.body.id);
    const lines = await linesOf(res.body.id);
    expect(lines.map((line) => line.request_id)).toEqual(lines.map(() => 'tv-alert.42:abc_DEF'));
  });

  it('carries the fresh id ingest answered when none was named, and a manual exit\'s too', async () => {
    const res = await request(stack.ingest).post('/webhook/in').send({ ticker: t('RQB'), side: 'buy' });
    const answered = res.headers['x-request-id'];
    expect(answered).toMatch(UUID);
    await delivered(res.body.id);
    expect((await linesOf(res.body.id)).every((line) => line.request_id === answered)).toBe(true);

    const exit = await request(stack.ingest).post('/sell/individual').set('X-Request-Id', 'exit-by-hand-1').send({ ticker: t('RQB'), token: ADMIN });
    expect(exit.status).toBe(202);
    await delivered(exit.body.ids[0]);
    expect((await linesOf(exit.body.ids[0])).every((line) => line.request_id === 'exit-by-hand-1')).toBe(true);
  });

  it.each([
    ['too long', 'x'.repeat(129)],
    ['with a tab', 'abc\tdef'],
    ['with a space', 'abc def'],
  ])('replaces an unsafe id (%s): neither echoed nor carried; the lines carry the fresh id answered', async (_what, given) => {
    const res = await request(stack.ingest).post('/webhook/in').set('X-Request-Id', given).send({ ticker: t('RQC'), side: 'buy' });
    expect(res.status).toBe(202);
    const answered = res.headers['x-request-id'];
    expect(answered).toMatch(UUID);
    await delivered(res.body.id);
    const lines = await linesOf(res.body.id);
    expect(lines.every((line) => line.request_id === answered)).toBe(true);
    expect(JSON.stringify([...approver.lines, ...forwarder.lines])).not.toContain(JSON.stringify(given).slice(1, -1));
  });
});
