/**
 * TRUST_PROXY: whose X-Forwarded-For names the client. Off unless set, and parsed strictly:
 * believing a forged header would let any sender past WEBHOOK_ALLOWED_IPS.
 */
import { ConfigError, loadConfig } from '../src';

const trustProxy = (value: string | undefined) => loadConfig({ TRUST_PROXY: value }).trustProxy;

describe('TRUST_PROXY', () => {
  it('is off by default, when empty, and when "off"', () => {
    expect(loadConfig({}).trustProxy).toBeNull();
    expect(trustProxy('')).toBeNull();
    expect(trustProxy('off')).toBeNull();
  });

  it('reads a hop count', () => {
    expect(trustProxy('1')).toEqual({ hops: 1 });
    expect(trustProxy('2')).toEqual({ hops: 2 });
  });

  it('reads a list of proxy addresses and CIDRs', () => {
    expect(trustProxy('127.0.0.1/32, 10.0.0.0/8,::1')).toEqual({
      proxies: [
        { family: 'ipv4', address: '127.0.0.1', prefix: 32 },
        { family: 'ipv4', address: '10.0.0.0', prefix: 8 },
        { family: 'ipv6', address: '::1', prefix: 128 },
      ],
    });
  });

  it.each([
    ['zero hops', '0'],
    ['a negative hop count', '-1'],
    ['a signed hop count', '+1'],
    ['a hex hop count', '0x1'],
    ['a fractional hop count', '1.5'],
    ['a hop count with a leading zero', '01'],
    ['"true" (believe every client)', 'true'],
    ['an empty prefix', '10.0.0.0/'],
    ['a hex prefix', '10.0.0.0/0x8'],
    ['express\'s named ranges', 'loopback'],
    ['a host name', 'ingress.example.com'],
  ])('refuses %s with one line naming TRUST_PROXY', (_name, value) => {
    let error: unknown;
    try {
      trustProxy(value);
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).message).toMatch(/^TRUST_PROXY /);
    expect((error as ConfigError).message).toContain(value);
  });
});
