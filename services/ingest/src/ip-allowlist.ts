import net from 'node:net';

/** TradingView's webhook sender addresses, per its documentation. */
export const TRADINGVIEW_IPS = ['52.89.214.238', '34.212.75.30', '54.218.53.128', '52.32.178.7'];

/**
 * WEBHOOK_ALLOWED_IPS as a matcher: addresses and CIDRs, IPv4 or IPv6, and the word
 * `tradingview`. An empty list allows everyone.
 */
export function createIpAllowlist(entries: string[]): (ip: string) => boolean {
  if (entries.length === 0) return () => true;
  const blockList = new net.BlockList();
  for (const entry of entries.flatMap((e) => (e.toLowerCase() === 'tradingview' ? TRADINGVIEW_IPS : [e]))) {
    const [address, bits] = entry.split('/');
    const type = net.isIPv6(address) ? 'ipv6' : 'ipv4';
    if (!net.isIP(address)) throw new Error(`WEBHOOK_ALLOWED_IPS: "${entry}" is not an address or CIDR`);
    if (bits !== undefined) blockList.addSubnet(address, Number(bits), type);
    else blockList.addAddress(address, type);
  }
  return (ip: string) => {
    const plain = ip.startsWith('::ffff:') ? ip.slice(7) : ip;
    return blockList.check(plain, net.isIPv6(plain) ? 'ipv6' : 'ipv4');
  };
}
