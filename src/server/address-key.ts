/**
 * Which "client" an address stands for, for per-address limits (failed tokens, clients per address).
 *
 * IPv4: the address. An IPv6 host is given a whole /64 (RFC 4291 §2.5.4 interface identifiers; SLAAC privacy
 * addresses rotate inside it), so one machine can pick among 2^64 addresses: keying per /128 would give it
 * that many budgets. An IPv4-mapped IPv6 address (::ffff:a.b.c.d, what a dual-stack socket reports) is its
 * IPv4 address.
 */
import net from 'node:net';

/** Expand an IPv6 literal into its eight 16-bit groups; null when it is not one. */
function ipv6Groups(address: string): number[] | null {
  let a = address;
  const zone = a.indexOf('%');
  if (zone >= 0) a = a.slice(0, zone);
  if (net.isIPv6(a) === false) return null;
  // An embedded IPv4 tail (::ffff:1.2.3.4, 64:ff9b::1.2.3.4) becomes two groups.
  const v4 = /(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(a);
  if (v4) {
    const [b0, b1, b2, b3] = v4.slice(1).map(Number) as [number, number, number, number];
    a = `${a.slice(0, v4.index)}${((b0 << 8) | b1).toString(16)}:${((b2 << 8) | b3).toString(16)}`;
  }
  const [head, tail] = a.includes('::') ? (a.split('::') as [string, string]) : [a, null];
  const h = head === '' ? [] : head.split(':');
  const t = tail === null || tail === '' ? [] : tail.split(':');
  const fill = tail === null ? [] : new Array<string>(8 - h.length - t.length).fill('0');
  const groups = [...h, ...fill, ...t].map((g) => parseInt(g, 16));
  return groups.length === 8 && groups.every((g) => g >= 0 && g <= 0xffff) ? groups : null;
}

export function addressKey(address: string): string {
  if (net.isIPv4(address)) return address;
  const g = ipv6Groups(address);
  if (!g) return address;
  if (g.slice(0, 5).every((x) => x === 0) && g[5] === 0xffff) {
    return `${g[6]! >> 8}.${g[6]! & 255}.${g[7]! >> 8}.${g[7]! & 255}`;
  }
  return `${g
    .slice(0, 4)
    .map((x) => x.toString(16))
    .join(':')}::/64`;
}

/** True for 127.0.0.0/8, ::1 and ::ffff:127.x: the machine itself. */
export function isLoopback(address: string): boolean {
  const k = addressKey(address);
  if (net.isIPv4(k)) return k.startsWith('127.');
  return ipv6Groups(address)?.every((x, i) => x === (i === 7 ? 1 : 0)) ?? false;
}
