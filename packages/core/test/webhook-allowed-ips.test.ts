/**
 * WEBHOOK_ALLOWED_IPS is parsed strictly at start-up: a lenient parser read `52.89.214.238/` as
 * `/0` (everyone) and took `0x10` as a prefix, so anything but an address or address/prefix stops
 * the start with one line naming the entry.
 */
import { ConfigError, loadConfig, TRADINGVIEW_IPS } from '../src';

const allowedIps = (value: string) => loadConfig({ WEBHOOK_ALLOWED_IPS: value }).webhookAllowedIps;

function configError(value: string): ConfigError {
  try {
    allowedIps(value);
  } catch (error) {
    if (error instanceof ConfigError) return error;
    throw error;
  }
  throw new Error(`WEBHOOK_ALLOWED_IPS=${value} was accepted`);
}

describe('WEBHOOK_ALLOWED_IPS', () => {
  it('is empty when unset', () => {
    expect(loadConfig({}).webhookAllowedIps).toEqual([]);
  });

  it('reads IPv4 and IPv6 addresses and CIDRs into a structured list', () => {
    expect(allowedIps('203.0.113.7, 10.0.0.0/8,2001:db8::1 ,2001:db8::/32,0.0.0.0/0')).toEqual([
      { family: 'ipv4', address: '203.0.113.7', prefix: 32 },
      { family: 'ipv4', address: '10.0.0.0', prefix: 8 },
      { family: 'ipv6', address: '2001:db8::1', prefix: 128 },
      { family: 'ipv6', address: '2001:db8::', prefix: 32 },
      { family: 'ipv4', address: '0.0.0.0', prefix: 0 },
    ]);
  });

  it('expands "tradingview" (any case) to TradingView\'s four sender addresses', () => {
    expect(TRADINGVIEW_IPS).toEqual(['52.89.214.238', '34.212.75.30', '54.218.53.128', '52.32.178.7']);
    expect(allowedIps('TradingView,127.0.0.1')).toEqual([
      ...TRADINGVIEW_IPS.map((address) => ({ family: 'ipv4', address, prefix: 32 })),
      { family: 'ipv4', address: '127.0.0.1', prefix: 32 },
    ]);
  });

  it.each([
    ['an empty prefix (once read as /0: everyone)', '52.89.214.238/'],
    ['a hex prefix', '10.0.0.0/0x10'],
    ['a prefix with a plus sign', '10.0.0.0/+8'],
    ['a negative prefix', '10.0.0.0/-1'],
    ['a prefix with a leading zero', '10.0.0.0/08'],
    ['a fractional prefix', '10.0.0.0/8.5'],
    ['a prefix with a space', '10.0.0.0/ 8'],
    ['an IPv4 prefix over 32', '10.0.0.0/33'],
    ['an IPv6 prefix over 128', '2001:db8::/129'],
    ['two slashes', '10.0.0.0/8/16'],
    ['a short address', '10.1.2'],
    ['an address with a leading zero', '010.0.0.1'],
    ['a host name', 'tradingview.com'],
    ['a zone index', 'fe80::1%eth0'],
    ['a range', '10.0.0.1-10.0.0.9'],
  ])('stops the start on %s, naming the entry', (_name, entry) => {
    const error = configError(`127.0.0.1,${entry}`);
    expect(error.variable).toBe('WEBHOOK_ALLOWED_IPS');
    expect(error.message).toMatch(/^WEBHOOK_ALLOWED_IPS /);
    expect(error.message).toContain(`"${entry}"`);
    expect(error.message).not.toContain('\n');
  });
});
