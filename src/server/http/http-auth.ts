/**
 * Token checks for HTTP requests (routes and the WebSocket upgrade), with the same rules and budgets as the
 * framewire/1 hello: the token may come as `Authorization: Bearer T` or `?token=T`.
 */
import type http from 'node:http';
import type { ServerContext } from '../context.js';

export type HttpAuthVerdict =
  | { ok: true; /** The request itself proved the token (so a WebSocket hello may leave it empty). */ proven: boolean }
  | { ok: false; status: 401 | 429 | 499; text: string; headers: Record<string, string> };

/** The token a request carries, or null when it carries none. */
export function requestToken(req: http.IncomingMessage, url: URL): string | null {
  const h = req.headers.authorization;
  if (h !== undefined) {
    const m = /^Bearer[ \t]+(.+)$/i.exec(h.trim());
    if (m) return m[1]!.trim();
  }
  return url.searchParams.get('token');
}

const NO_TOKEN = 'This server requires a token: add ?token=YOUR_TOKEN to the URL or send "Authorization: Bearer YOUR_TOKEN".';

/**
 * tokenOptional: a missing token is not refused (the WebSocket upgrade, whose framewire/1 hello carries the
 * token instead); a wrong one still is. A wrong token may wait for its turn (auth-limiter.ts) before the answer.
 */
export async function checkRequestAuth(
  ctx: ServerContext,
  req: http.IncomingMessage,
  url: URL,
  address: string,
  tokenOptional = false,
): Promise<HttpAuthVerdict> {
  if (!ctx.auth.required) return { ok: true, proven: false };
  const given = requestToken(req, url);
  if (!given && tokenOptional) return { ok: true, proven: false };
  const open = (): boolean => !req.socket.destroyed;
  const v = await ctx.auth.check(address, given, `http client`, open);
  if (v.ok) return { ok: true, proven: true };
  switch (v.code) {
    case 'E_AUTH':
      return { ok: false, status: 401, text: v.missing ? NO_TOKEN : 'Wrong token.', headers: { 'WWW-Authenticate': 'Bearer realm="framewire"' } };
    case 'E_RATE_LIMITED':
      return {
        ok: false,
        status: 429,
        text: `E_RATE_LIMITED: too many wrong tokens from this network; try again in ${v.retryAfterSeconds ?? 1} s.`,
        headers: { 'Retry-After': String(v.retryAfterSeconds ?? 1) },
      };
    case 'E_CLOSED':
      // The client is gone: there is nobody to answer (499, nginx's "client closed request", is never sent).
      return { ok: false, status: 499, text: v.text, headers: {} };
  }
}
