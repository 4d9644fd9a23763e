/**
 * Token and rate-limit checks for HTTP requests (routes and the WebSocket upgrade), with the same rules as
 * the framewire/1 hello: the token may come as `Authorization: Bearer T` or `?token=T`.
 */
import type http from 'node:http';
import { tokenMatches, type ServerContext } from '../framewire-session.js';

export type AuthVerdict =
  | { ok: true; /** The request itself proved the token (so a WebSocket hello may leave it empty). */ proven: boolean }
  | { ok: false; status: 401 | 429; text: string };

/** The token a request carries, or null when it carries none. */
export function requestToken(req: http.IncomingMessage, url: URL): string | null {
  const h = req.headers.authorization;
  if (h !== undefined) {
    const m = /^Bearer[ \t]+(.+)$/i.exec(h.trim());
    if (m) return m[1]!.trim();
  }
  return url.searchParams.get('token');
}

/**
 * tokenOptional: a missing token is not a failure (the WebSocket upgrade, whose framewire/1 hello carries
 * the token instead); a wrong one still is.
 */
const BLOCKED = 'Too many failed authentications from this address; try again later.';

/** Only the rate limit (for routes that need no token). */
export function checkNotBlocked(ctx: ServerContext, address: string): AuthVerdict {
  return ctx.isBlocked?.(address) ? { ok: false, status: 429, text: BLOCKED } : { ok: true, proven: false };
}

export function checkRequestAuth(
  ctx: ServerContext,
  req: http.IncomingMessage,
  url: URL,
  address: string,
  tokenOptional = false,
): AuthVerdict {
  if (ctx.isBlocked?.(address)) return { ok: false, status: 429, text: BLOCKED };
  const expected = ctx.config.token;
  if (expected === null) return { ok: true, proven: false };
  const given = requestToken(req, url);
  if (given === null && tokenOptional) return { ok: true, proven: false };
  if (given !== null && tokenMatches(expected, given)) return { ok: true, proven: true };
  ctx.authFailed?.(address);
  ctx.config.log.warn(`E_AUTH: http client ${address} sent ${given === null ? 'no' : 'a wrong'} token for ${url.pathname}`);
  return {
    ok: false,
    status: 401,
    text:
      given === null
        ? 'This server requires a token: add ?token=YOUR_TOKEN to the URL or send "Authorization: Bearer YOUR_TOKEN".'
        : 'Wrong token.',
  };
}
