/** Configuration errors are printed at start-up: a URL in them keeps its shape, never its credentials. */
import { ConfigError, loadConfig, redactUrl } from '../src';

function messageOf(env: Record<string, string>): string {
  try {
    loadConfig(env);
  } catch (error) {
    if (error instanceof ConfigError) return error.message;
    throw error;
  }
  throw new Error(`${JSON.stringify(env)} was accepted`);
}

describe('configuration errors', () => {
  it.each([
    ['DATABASE_URL', 'postgresql://tsp:hunter2-db-password@db.internal:notaport/trading_signals', 'hunter2-db-password'],
    ['DATABASE_URL', 'postgresql://tsp:pa@ss-with-at@db internal/trading_signals', 'ss-with-at'],
    ['REDIS_URL', 'redis://:redis-password-42@redis.internal:99999', 'redis-password-42'],
    ['DEST_WEBHOOK_URL', 'https://hooks.example.com:port/webhook?token=dest-token-9', 'dest-token-9'],
    ['FINVIZ_URL', 'https://elite.finviz.com:1e5/export.ashx?v=111&auth=finviz-api-token', 'finviz-api-token'],
  ])('never print the credentials of a bad %s', (variable, value, credential) => {
    const message = messageOf({ [variable]: value });
    expect(message).toMatch(new RegExp(`^${variable} `));
    expect(message).not.toContain(credential);
    expect(message).toContain('***');
  });
});

describe('redactUrl', () => {
  it.each([
    ['postgresql://tsp:secret-pw@db:5432/x', 'postgresql://tsp:***@db:5432/x'],
    ['redis://:secret-pw@redis:6379', 'redis://:***@redis:6379'],
    ['postgresql://postgres@127.0.0.1:5432/trading_signals', 'postgresql://postgres@127.0.0.1:5432/trading_signals'],
    ['https://elite.finviz.com/export.ashx?v=111&f=ta_gap_u5,sh_price_u5&auth=tok&o=-change', 'https://elite.finviz.com/export.ashx?v=111&f=ta_gap_u5,sh_price_u5&auth=***&o=-change'],
    ['https://x.example/h?token=a&key=b&apikey=c&api_key=d&secret=e&password=f&signature=g&access_token=h&X-Api-Key=i',
      'https://x.example/h?token=***&key=***&apikey=***&api_key=***&secret=***&password=***&signature=***&access_token=***&X-Api-Key=***'],
    ['https://finviz.com/screener.ashx?v=111&o=-change', 'https://finviz.com/screener.ashx?v=111&o=-change'],
  ])('masks credentials and keeps the rest as written: %s', (raw, redacted) => {
    expect(redactUrl(raw)).toBe(redacted);
  });

  it('masks URLs inside a longer text', () => {
    expect(redactUrl('names "https://u:pw@finviz.com/s?auth=tok", then postgres://a:b@c/d.'))
      .toBe('names "https://u:***@finviz.com/s?auth=***", then postgres://a:***@c/d.');
  });
});

describe('DEST_WEBHOOK_SECRET', () => {
  it('refuses a whsec_ secret whose key is not base64, at start rather than at the first delivery', () => {
    expect(() => loadConfig({ DEST_WEBHOOK_SECRET: 'whsec_abc' })).toThrow(/DEST_WEBHOOK_SECRET starts with whsec_/);
    expect(() => loadConfig({ DEST_WEBHOOK_SECRET: 'whsec_!!!!' })).toThrow(/DEST_WEBHOOK_SECRET/);
    expect(loadConfig({ DEST_WEBHOOK_SECRET: `whsec_${Buffer.from('a key').toString('base64')}` }).destWebhookSecret).toMatch(/^whsec_/);
    expect(loadConfig({ DEST_WEBHOOK_SECRET: 'any raw secret' }).destWebhookSecret).toBe('any raw secret');
  });
});
