import net from 'node:net';
import type { IpRange } from '@tsp/core';

/**
 * WEBHOOK_ALLOWED_IPS as a matcher, built from the list core parsed at start-up (addresses and
 * CIDRs, IPv4 or IPv6; `tradingview` already expanded). An empty list allows everyone: ingest
 * then starts only with WEBHOOK_SECRET or WEBHOOK_AUTH=none. A client seen as an IPv4-mapped IPv6
 * address (`::ffff:1.2.3.4`, what a dual-stack socket reports) matches the IPv4 entries.
 */
export function createIpAllowlist(ranges: readonly IpRange[]): (ip: string) => boolean {
  if (ranges.length === 0) return () => true;
  const blockList = new net.BlockList();
  for (const { family, address, prefix } of ranges) blockList.addSubnet(address, prefix, family);
  return (ip: string) => {
    const family = net.isIPv4(ip) ? 'ipv4' : net.isIPv6(ip) ? 'ipv6' : null;
    // node:net's BlockList itself compares IPv4-mapped IPv6 addresses with IPv4 entries.
    return family !== null && blockList.check(ip, family);
  };
}
