/** The WEBHOOK_ALLOWED_IPS matcher, over the list core parsed. */
import { loadConfig } from '@tsp/core';
import { createIpAllowlist } from '../src/ip-allowlist';

const allowlist = (value: string) => createIpAllowlist(loadConfig({ WEBHOOK_ALLOWED_IPS: value }).webhookAllowedIps);

describe('the sender allow-list', () => {
  it('admits everyone when empty (ingest then needs WEBHOOK_SECRET or WEBHOOK_AUTH=none)', () => {
    expect(allowlist('')('203.0.113.9')).toBe(true);
  });

  it('admits exactly the listed addresses and CIDRs', () => {
    const allowed = allowlist('tradingview,10.0.0.0/8,2001:db8::/32');
    for (const ip of ['52.89.214.238', '34.212.75.30', '54.218.53.128', '52.32.178.7', '10.255.0.1', '2001:db8::7', '2001:DB8:0:0::1']) {
      expect({ ip, allowed: allowed(ip) }).toEqual({ ip, allowed: true });
    }
    for (const ip of ['52.89.214.239', '11.0.0.1', '2001:db9::1', '::1', '', 'not-an-ip']) {
      expect({ ip, allowed: allowed(ip) }).toEqual({ ip, allowed: false });
    }
  });

  it('matches IPv4-mapped IPv6 clients against IPv4 entries', () => {
    const allowed = allowlist('52.89.214.238,10.0.0.0/8');
    expect(allowed('::ffff:52.89.214.238')).toBe(true);
    expect(allowed('::ffff:3459:d6ee')).toBe(true); // the same address, written in hex
    expect(allowed('::ffff:10.1.2.3')).toBe(true);
    expect(allowed('::ffff:52.89.214.239')).toBe(false);
  });

  it('admits only the one address of an entry without a prefix', () => {
    const allowed = allowlist('203.0.113.7');
    expect(allowed('203.0.113.7')).toBe(true);
    expect(allowed('203.0.113.8')).toBe(false);
  });
});
