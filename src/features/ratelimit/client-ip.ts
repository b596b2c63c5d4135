/**
 * The client's address for rate-limit keys. Cloudflare sets CF-Connecting-IP on every request
 * and a client cannot forge it. X-Forwarded-For counts only when TRUSTED_PROXY_HOPS says that
 * many proxies of ours sit in front of Cloudflare: each appends the address it saw, and
 * Cloudflare appends the last one, so the client is that many entries left of the end. Anything
 * further left was written by the client and is ignored.
 */
export function clientIP(headers: Headers, trustedProxyHops: number): string | null {
  const connecting = headers.get('CF-Connecting-IP')?.trim() || null;
  if (trustedProxyHops <= 0) return connecting;
  const chain = (headers.get('X-Forwarded-For') ?? '')
    .split(',')
    .map((entry) => entry.trim())
    .filter((entry) => entry !== '');
  const index = chain.length - 1 - trustedProxyHops;
  // A shorter chain did not come through all our proxies: the connecting address is all we know.
  return index >= 0 ? chain[index]! : connecting;
}

/**
 * The part of an address that identifies one client: IPv4 whole, IPv6 by its /64 (one
 * subscriber gets a whole /64, so per-address counters on IPv6 would be trivial to evade).
 */
export function ipSubject(ip: string): string {
  if (!ip.includes(':')) return ip;
  const mapped = /^(?:0*:)*(?:0*:)?ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(ip);
  if (mapped !== null) return mapped[1]!;
  const groups = expandIPv6(ip);
  return groups === null ? ip.toLowerCase() : `${groups.slice(0, 4).join(':')}::/64`;
}

function expandIPv6(ip: string): string[] | null {
  const address = ip.replace(/%.*$/, '').toLowerCase();
  const halves = address.split('::');
  if (halves.length > 2) return null;
  const head = halves[0] === '' ? [] : halves[0]!.split(':');
  const tail = halves.length === 2 && halves[1] !== '' ? halves[1]!.split(':') : [];
  const missing = 8 - head.length - tail.length;
  if (halves.length === 1 ? missing !== 0 : missing < 1) return null;
  const groups = [...head, ...Array<string>(halves.length === 2 ? missing : 0).fill('0'), ...tail];
  if (!groups.every((group) => /^[0-9a-f]{1,4}$/.test(group))) return null;
  return groups.map((group) => group.replace(/^0+(?=.)/, ''));
}
