/**
 * The address an HTTP request comes from, for per-address limits and logs. Behind a reverse proxy every
 * request comes from the proxy: with --trust-proxy the client is the last address in X-Forwarded-For (the one
 * the proxy itself appended; earlier entries are whatever the client claimed). Without the flag the header is
 * ignored, since any client could write it.
 */
import type http from 'node:http';
import net from 'node:net';

export function clientAddress(req: http.IncomingMessage, trustProxy: boolean): string {
  const peer = req.socket.remoteAddress ?? 'unknown';
  if (!trustProxy) return peer;
  const header = req.headers['x-forwarded-for'];
  if (typeof header !== 'string') return peer;
  const hops = header.split(',');
  const last = hops[hops.length - 1]!.trim();
  return net.isIP(last) ? last : peer;
}
