/** No open webhook by default: ingest starts only with a secret, an allow-list, or WEBHOOK_AUTH=none. */
import { ConfigError, loadConfig, requireWebhookAuth, webhookAuthMode } from '../src';

describe('WEBHOOK_AUTH', () => {
  it('is unset by default and takes "none" as its only value', () => {
    expect(loadConfig({}).webhookAuth).toBeNull();
    expect(loadConfig({ WEBHOOK_AUTH: 'none' }).webhookAuth).toBe('none');
    for (const value of ['off', 'NONE', 'false', 'secret']) {
      expect(() => loadConfig({ WEBHOOK_AUTH: value })).toThrow(ConfigError);
      expect(() => loadConfig({ WEBHOOK_AUTH: value })).toThrow(/^WEBHOOK_AUTH /);
    }
  });

  it('lets ingest start without a secret or an allow-list only when set to none', () => {
    expect(() => requireWebhookAuth(loadConfig({}))).toThrow(ConfigError);
    expect(requireWebhookAuth(loadConfig({ WEBHOOK_AUTH: 'none' }))).toBe('none');
    expect(requireWebhookAuth(loadConfig({ WEBHOOK_SECRET: 's' }))).toBe('secret');
    expect(requireWebhookAuth(loadConfig({ WEBHOOK_ALLOWED_IPS: 'tradingview' }))).toBe('allowed_ips');
    expect(requireWebhookAuth(loadConfig({ WEBHOOK_SECRET: 's', WEBHOOK_ALLOWED_IPS: '10.0.0.0/8' }))).toBe('secret_and_allowed_ips');
  });

  it('says in one line what to set', () => {
    let error: unknown;
    try {
      requireWebhookAuth(loadConfig({}));
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const { message } = error as ConfigError;
    expect(message).not.toContain('\n');
    expect(message).toMatch(/^WEBHOOK_SECRET /);
    expect(message).toContain('WEBHOOK_ALLOWED_IPS');
    expect(message).toContain('WEBHOOK_AUTH=none');
  });

  it('does not call a webhook with a secret open, whatever WEBHOOK_AUTH says', () => {
    expect(webhookAuthMode(loadConfig({ WEBHOOK_SECRET: 's', WEBHOOK_AUTH: 'none' }))).toBe('secret');
  });
});
