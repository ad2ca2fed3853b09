import net from 'node:net';

/**
 * Addresses and CIDR ranges as configuration names them (WEBHOOK_ALLOWED_IPS, TRUST_PROXY),
 * parsed strictly at start-up: a lenient parser once read `52.89.214.238/` as `/0` and let
 * everyone in, so anything that is not exactly an address or address/prefix is refused.
 */

export type IpFamily = 'ipv4' | 'ipv6';

/** One address (prefix 32 or 128) or one CIDR range. */
export interface IpRange {
  family: IpFamily;
  /** The network address as written (validated by node:net). */
  address: string;
  prefix: number;
}

/** TradingView's webhook sender addresses, per its documentation. */
export const TRADINGVIEW_IPS: readonly string[] = ['52.89.214.238', '34.212.75.30', '54.218.53.128', '52.32.178.7'];

const MAX_PREFIX: Record<IpFamily, number> = { ipv4: 32, ipv6: 128 };

/** A prefix length is plain decimal: no sign, no hex, no leading zero, not empty. */
const PLAIN_DECIMAL = /^(0|[1-9][0-9]*)$/;

/** Thrown for an entry that is not an address or CIDR; the caller names the setting. */
export class InvalidIpRangeError extends Error {
  constructor(readonly entry: string, reason: string) {
    super(`"${entry}" is not an IPv4/IPv6 address or CIDR: ${reason}`);
    this.name = 'InvalidIpRangeError';
  }
}

/** Parses `1.2.3.4`, `10.0.0.0/8`, `2001:db8::1`, `2001:db8::/32`; throws InvalidIpRangeError otherwise. */
export function parseIpRange(entry: string): IpRange {
  const parts = entry.split('/');
  if (parts.length > 2) throw new InvalidIpRangeError(entry, 'more than one "/"');
  const [address, prefixText] = parts;
  // A zone ("fe80::1%eth0") names an interface of this host, never a remote sender.
  if (address.includes('%')) throw new InvalidIpRangeError(entry, 'a zone index is not allowed');
  const family: IpFamily | null = net.isIPv4(address) ? 'ipv4' : net.isIPv6(address) ? 'ipv6' : null;
  if (!family) throw new InvalidIpRangeError(entry, 'not an address');
  if (prefixText === undefined) return { family, address, prefix: MAX_PREFIX[family] };
  if (!PLAIN_DECIMAL.test(prefixText)) throw new InvalidIpRangeError(entry, `the prefix must be a plain decimal number from 0 to ${MAX_PREFIX[family]}`);
  const prefix = Number(prefixText);
  if (prefix > MAX_PREFIX[family]) throw new InvalidIpRangeError(entry, `the prefix must be from 0 to ${MAX_PREFIX[family]}`);
  return { family, address, prefix };
}

/** `address/prefix`, the form express's `trust proxy` and log lines read. */
export function formatIpRange(range: IpRange): string {
  return `${range.address}/${range.prefix}`;
}
