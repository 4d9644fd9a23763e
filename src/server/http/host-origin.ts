/**
 * Two checks that keep web pages the viewer happens to open away from the camera.
 *
 * DNS rebinding: a page at attacker.example re-points its own name at this server and reads the answers as
 * same-origin. Its requests still say `Host: attacker.example`, so only host names this server is known by
 * are answered: IP literals, localhost (and *.localhost, which browsers resolve to loopback themselves), and
 * the --hostname values.
 *
 * Cross-site WebSocket hijacking: WebSockets are not bound by the same-origin policy, so any page could open
 * /ws and read frames. Browsers always send `Origin` on a WebSocket handshake; it must name this server (the
 * same host and port as the request's Host) or be allowed with --allow-origin. A handshake without Origin
 * does not come from a browser page, so there is no page to hijack it from.
 */
import net from 'node:net';

/** The host part of a Host header, lower-cased, without port, brackets or a trailing dot; null when malformed. */
export function hostName(hostHeader: string): string | null {
  const h = hostHeader.trim().toLowerCase();
  if (h.startsWith('[')) {
    const end = h.indexOf(']');
    if (end < 0) return null;
    const rest = h.slice(end + 1);
    if (rest !== '' && !/^:\d{1,5}$/.test(rest)) return null;
    const v6 = h.slice(1, end);
    return net.isIPv6(v6) ? v6 : null;
  }
  const m = /^([a-z0-9._-]+?)\.?(?::\d{1,5})?$/.exec(h);
  return m ? m[1]! : null;
}

export function hostAllowed(hostHeader: string | undefined, hostnames: readonly string[]): boolean {
  // HTTP/1.0 without Host: not a browser, so not a rebinding.
  if (hostHeader === undefined) return true;
  const h = hostName(hostHeader);
  if (h === null) return false;
  if (net.isIP(h) !== 0 || h === 'localhost' || h.endsWith('.localhost')) return true;
  return hostnames.some((n) => n.toLowerCase().replace(/\.$/, '') === h);
}

export function originAllowed(origin: string | undefined, hostHeader: string | undefined, allowOrigins: readonly string[]): boolean {
  if (origin === undefined) return true;
  if (allowOrigins.includes('*') || allowOrigins.includes(origin.toLowerCase())) return true;
  if (hostHeader === undefined) return false;
  let page: URL;
  try {
    page = new URL(origin);
  } catch {
    return false; // "null" (sandboxed frames, file:) or garbage
  }
  if (page.protocol !== 'http:' && page.protocol !== 'https:') return false;
  try {
    // Through the URL parser so a default port written out (host:80) compares equal to one left out.
    return new URL(`${page.protocol}//${hostHeader.trim()}`).host === page.host;
  } catch {
    return false;
  }
}
